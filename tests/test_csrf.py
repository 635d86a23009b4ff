"""With CSRF protection on (as in production), forms without a valid token are refused."""

from sqlalchemy import select

from portal.extensions import db
from portal.models import User
from tests.conftest import TEST_PASSWORD, login_client


def test_login_without_token_is_refused(csrf_app, make_faculty):
    user = make_faculty()
    client = csrf_app.test_client()
    response = client.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with csrf_app.app_context():
        assert db.session.scalar(select(User.last_login_at).where(User.id == user.id)) is None


def test_login_with_token_succeeds(csrf_app, make_faculty):
    import re

    user = make_faculty()
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_logout_without_token_keeps_the_session(csrf_app, make_faculty):
    user = make_faculty()
    client = login_client(csrf_app.test_client(), user)
    assert client.post("/logout").status_code == 400
    assert client.get("/group").status_code == 200
