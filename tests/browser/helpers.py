"""Browser test helpers: languages, window sizes, the demo data served, logging in."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.serving import make_server

from portal.demo import load_demo_data
from portal.extensions import db
from portal.models import Position, Supervision, User

LANGUAGES = {"en": "en-CA", "fr": "fr-CA"}  # test id -> browser locale (sent as Accept-Language)
HTML_LANG = {"en": "en", "fr": "fr-CA"}  # test id -> the <html lang> the portal must answer with
# The PhD program as each language's pages name it (Program.name_fr on French pages).
PHD_LABEL = {"en": "PhD", "fr": "Doctorat"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 740}


@dataclass(frozen=True)
class DemoSite:
    """The demo data loaded into a served app: where it runs and how to log in."""

    url: str
    passwords: dict[str, str]  # email -> password
    faculty_email: str
    second_email: str
    admin_email: str
    member_id: int  # a current position of the demo faculty's group, for its edit page
    shared_id: int = 0  # a position the demo faculty owns and the second faculty co-supervises


def load_demo(app) -> DemoSite:
    """Load the demo data (30 current members, alumni, published profile); url filled later."""
    with app.app_context():
        logins = load_demo_data()
        db.session.commit()
        member_id = db.session.scalar(
            select(Position.id).where(Position.end_date.is_(None)).order_by(Position.id).limit(1)
        )
        faculty, second, admin = (login.email for login in logins)
        shared_id = db.session.scalar(
            select(Position.id)
            .join(Supervision)
            .join(User, User.id == Supervision.supervisor_id)
            .where(User.email == second, Position.owner_id != User.id)
            .order_by(Position.id)
            .limit(1)
        )
        db.session.remove()
    return DemoSite(
        "",
        {login.email: login.password for login in logins},
        faculty,
        second,
        admin,
        member_id,
        shared_id,
    )


@contextmanager
def serve(app):
    """Serve `app` on a random free local port in a thread; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def log_in_as(page, site: DemoSite, email: str) -> None:
    """Log in through the form, by field ids (the labels are translated)."""
    page.goto(f"{site.url}/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(site.passwords[email])
    page.locator('form[action$="/login"] [type="submit"]').click()
    page.wait_for_url(lambda url: "/login" not in url)
