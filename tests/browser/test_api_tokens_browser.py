"""A faculty member creates an API token on the profile page, uses it, and revokes it."""

from __future__ import annotations

import pytest
import requests
from axe_playwright_python.sync_playwright import Axe

from tests.browser.helpers import log_in_as

pytestmark = pytest.mark.slow


def test_create_use_and_revoke_a_token(new_page, demo_site, screenshot):
    page = new_page()
    log_in_as(page, demo_site, demo_site.faculty_email)
    page.goto(f"{demo_site.url}/profile")
    page.get_by_label("Token name").fill("Institute website")
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create token").click()
    secret = page.get_by_label("Token", exact=True).input_value()
    assert secret.startswith("rgp_")
    violations = [
        v for v in Axe().run(page).response["violations"] if v["impact"] in {"serious", "critical"}
    ]
    screenshot(page, "token-created")
    assert not violations, violations
    me = requests.get(
        f"{demo_site.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert me.status_code == 200 and me.json()["email"] == demo_site.faculty_email
    page.goto(f"{demo_site.url}/profile")
    assert secret not in page.content()  # shown once
    page.get_by_role("button", name="Revoke Institute website").click()
    page.get_by_text("was revoked").wait_for()
    revoked = requests.get(
        f"{demo_site.url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert revoked.status_code == 401
