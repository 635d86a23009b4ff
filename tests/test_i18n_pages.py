"""The main pages in Canadian French: lang attribute, no English left over, French dates and numbers."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import select

from portal.extensions import db
from portal.models import Institution, User
from portal.people.publications import AuthorData, PublicationData, add_publication
from tests.conftest import login_client

FRENCH_PO = (
    Path(__file__).resolve().parent.parent / "portal/translations/fr_CA/LC_MESSAGES/messages.po"
)
PLACEHOLDER = re.compile(r"%\([a-z_0-9]+\)[sd]")


class VisibleText(HTMLParser):
    """The text a person sees or hears: text nodes, button values, labels read by screen readers."""

    SPOKEN_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden_depth += 1
        attributes = dict(attrs)
        for name in self.SPOKEN_ATTRIBUTES:
            if attributes.get(name):
                self.parts.append(attributes[name])
        if (
            tag == "input"
            and attributes.get("type") in ("submit", "button")
            and attributes.get("value")
        ):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden_depth -= 1

    def handle_data(self, data):
        if not self._hidden_depth and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _english_phrases() -> list[str]:
    """English UI phrases of two words or more whose French differs: none may show in French.

    A message with placeholders contributes the fixed pieces between them (two words or more).
    """
    with open(FRENCH_PO, "rb") as po:
        catalogue = read_po(po, locale="fr_CA")
    phrases = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for english in ids:
            if english in strings:
                continue
            for piece in PLACEHOLDER.split(english.replace("%%", "%")):
                piece = " ".join(re.sub(r"<[^>]+>", " ", piece).split()).strip(" .,:;()")
                if len(piece.split()) >= 2:
                    phrases.add(piece)
    return sorted(phrases)


ENGLISH_PHRASES = _english_phrases()


def assert_french(page: str) -> None:
    assert '<html lang="fr-CA">' in page
    text = visible_text(page)
    leftovers = [phrase for phrase in ENGLISH_PHRASES if phrase in text]
    assert not leftovers, f"English left on a French page: {leftovers}\n\n{text}"


def french(client, user: User | None = None):
    """A client that reads the portal in Canadian French (as after using the switcher)."""
    if user is not None:
        login_client(client, user)
    with client.session_transaction() as session:
        session["locale"] = "fr_CA"
    return client


@pytest.fixture
def group(app, faculty, make_faculty, make_member):
    """A faculty group with current members, a co-supervision, alumni and a published profile."""
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    current = make_member(
        faculty,
        "Ada Student",
        program="PhD",
        start_date=date(2024, 9, 1),
        end_date=date(2028, 8, 31),
        others=[(colleague, "co-supervisor")],
    )
    make_member(
        faculty,
        "Ben Master",
        program="Master's Research",
        role="co-supervisor",
        others=[(colleague, "principal")],
    )
    make_member(faculty, "Cy Visitor", program="Independent visiting researcher", role="none")
    alumnus = make_member(
        faculty,
        "Dora Graduate",
        start_date=date(2019, 9, 1),
        end_date=date(2023, 6, 30),
        departure_reason="graduated",
        outcome="Postdoc at ETH Zurich",
    )
    with app.app_context():
        owner = db.session.get(User, faculty.id)
        owner.slug, owner.profile_published = "prof-faculty", True
        owner.title, owner.department = "Professor", "Mathematics"
        owner.biography, owner.research_topics = "A biography.", ["Topology"]
        owner.weighted_cap = Decimal("112.50")
        add_publication(
            owner,
            PublicationData(
                title="A paper",
                year=2024,
                venue="NeurIPS",
                url="https://example.org/paper",
                authors=[AuthorData("Ada Student"), AuthorData("Someone Else")],
            ),
        )
        db.session.commit()
    return {"current": current, "alumnus": alumnus, "colleague": colleague}


FACULTY_PAGES = [
    "/group",
    "/group/alumni",
    "/group/members/new",
    "/group/import",
    "/profile",
    "/profile/publications",
    "/profile/publications/new",
    "/profile/publications/import",
]
ADMIN_PAGES = [
    "/admin/loads",
    "/admin/accounts",
    "/admin/programs",
    "/admin/institutions",
    "/admin/caps",
    "/admin/branding",
    "/group/archived",
]


@pytest.mark.parametrize("url", FACULTY_PAGES)
def test_faculty_pages_are_all_french(client, faculty, group, url):
    response = french(client, faculty).get(url)
    assert response.status_code == 200
    assert_french(response.get_data(as_text=True))


def test_member_edit_and_move_pages_are_all_french(client, faculty, group):
    client = french(client, faculty)
    position_id = group["current"].id
    for url in (
        f"/group/members/{position_id}/edit",
        f"/group/members/{position_id}/move-to-alumni",
        f"/group/members/{group['alumnus'].id}/edit",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_french(response.get_data(as_text=True))


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_are_all_french(client, admin, group, url):
    response = french(client, admin).get(url)
    assert response.status_code == 200
    assert_french(response.get_data(as_text=True))


def test_admin_edit_pages_are_all_french(app, client, admin, faculty, group):
    with app.app_context():
        institution_id = db.session.scalar(select(Institution.id))
    client = french(client, admin)
    for url in (
        f"/admin/caps/{faculty.id}",
        f"/admin/accounts/{faculty.id}/password",
        f"/admin/institutions/{institution_id}/rename",
        "/admin/programs/1/edit",
        f"/group?faculty={faculty.id}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_french(response.get_data(as_text=True))


def test_login_page_and_public_profile_are_french_for_anonymous_visitors(client, group):
    assert_french(french(client).get("/login").get_data(as_text=True))
    page = french(client).get("/people/prof-faculty").get_data(as_text=True)
    assert_french(page)
    assert "Direction principale" in page and "Codirection" in page
    assert_french(french(client).get("/people").get_data(as_text=True))


def test_error_pages_are_french(client, faculty, group):
    response = french(client).get("/people/nobody-here")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert_french(page)
    assert "Introuvable" in page
    response = french(client, faculty).get("/admin/loads")
    assert response.status_code == 403
    assert_french(response.get_data(as_text=True))


def test_form_errors_and_flash_messages_are_french(client, faculty, group):
    client = french(client, faculty)
    response = client.post("/group/members/new", data={"full_name": "", "institution": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert_french(page)
    assert "Entrez le nom complet de la personne." in page
    anonymous = french(client.application.test_client())
    response = anonymous.post("/login", data={"email": "x@example.org", "password": "wrong"})
    page = response.get_data(as_text=True)
    assert "Courriel ou mot de passe invalide." in page
    assert_french(page)
    response = client.post("/profile", data={"slug": "Not A Slug"})
    assert response.status_code == 400
    assert_french(response.get_data(as_text=True))
    client.post("/profile/publications/relink")
    page = client.get("/profile/publications").get_data(as_text=True)
    assert "Auteurs associés de nouveau à votre groupe" in page
    assert_french(page)


def test_import_preview_is_french(client, faculty, group):
    client = french(client, faculty)
    roster = (
        "faculty_email,name,email,program,institution,role,start_date,end_date\n"
        f"{faculty.email},New Person,,PhD,McGill University,principal,2025-01-15,\n"
        f"{faculty.email},,,Nope,,boss,2025-13-01,\n"
    )
    response = client.post(
        "/group/import",
        data={"file": (__import__("io").BytesIO(roster.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    page = response.get_data(as_text=True)
    assert "Aperçu de l'importation" in page.replace("&#39;", "'")
    assert_french(page)


def test_dates_and_numbers_are_written_the_french_way(client, admin, faculty, group):
    page = french(client, faculty).get("/group").get_data(as_text=True)
    assert "1 sept. 2024" in page and "31 août 2028" in page
    assert "2024-09-01" not in visible_text(page)
    alumni = french(client, faculty).get("/group/alumni").get_data(as_text=True)
    assert "30 juin 2023" in alumni
    loads = visible_text(french(client, admin).get("/admin/loads").get_data(as_text=True))
    assert re.search(r"\d+,\d\d", loads), "decimals use a comma in French"
    english = login_client(client.application.test_client(), faculty).get("/group")
    assert "2024-09-01" in english.get_data(as_text=True)  # English keeps the ISO day


def test_form_inputs_keep_iso_dates_in_french(client, faculty, group):
    page = french(client, faculty).get(f"/group/members/{group['current'].id}/edit")
    assert 'value="2024-09-01"' in page.get_data(as_text=True)


def test_exports_stay_english_on_a_french_session(client, admin, faculty, group):
    loads = french(client, admin).get("/admin/loads.csv").get_data(as_text=True)
    header = loads.lstrip("\ufeff").splitlines()[0]
    assert header.startswith(
        "Faculty,Department,Principal,Co-supervisor,Host (no role),PhD students"
    )
    assert header.endswith("Status") and "Within cap" in loads
    roster = french(client, faculty).get("/group/export.csv").get_data(as_text=True)
    assert roster.lstrip("\ufeff").splitlines()[0].startswith("faculty_email,")
    assert "principal" in roster


def test_the_language_choice_persists_across_requests_and_logins(app, client, faculty, group):
    login_client(client, faculty)
    assert '<html lang="en">' in client.get("/group").get_data(as_text=True)
    response = client.post("/language", data={"language": "fr_CA", "next": "/group/alumni"})
    assert response.headers["Location"] == "/group/alumni"
    for url in ("/group", "/group/alumni", "/profile"):
        assert_french(client.get(url).get_data(as_text=True))
    other_browser = login_client(app.test_client(), faculty)
    assert_french(
        other_browser.get("/group", headers={"Accept-Language": "en"}).get_data(as_text=True)
    )  # the account's saved choice
    client.post("/logout")
    assert '<html lang="fr-CA">' in client.get("/login").get_data(as_text=True)  # this browser
    client.post("/language", data={"language": "en", "next": "/login"})
    assert '<html lang="en">' in client.get("/login").get_data(as_text=True)


def test_the_switcher_is_on_every_page_and_names_the_other_language(client, faculty, group):
    page = french(client, faculty).get("/group").get_data(as_text=True)
    assert 'lang="en">English</button>' in page and ">Français</button>" not in page
    english = login_client(client.application.test_client(), faculty).get("/group/alumni")
    assert 'lang="fr-CA">Français</button>' in english.get_data(as_text=True)


def test_the_login_redirect_message_is_french(client):
    response = french(client).get("/group", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Veuillez vous connecter pour voir cette page." in page
    assert_french(page)
    english = client.application.test_client().get("/group", follow_redirects=True)
    assert "Please log in to see this page." in english.get_data(as_text=True)


def test_names_inside_translated_sentences_are_escaped(app, client, admin, make_faculty):
    other = make_faculty("evil@example.org", "<script>alert(1)</script> & Co")
    page = french(client, admin).get(f"/group?faculty={other.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "Groupe de &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
