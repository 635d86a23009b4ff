"""The public profile: /people/<slug>, its JSON and the /people index, for anyone, published only."""

import re
from datetime import UTC, date, datetime

from sqlalchemy import select

from portal.extensions import db
from portal.group.queries import current_members
from portal.models import Position, Publication, PublicationAuthor, SupervisionRole, User
from portal.people.publications import AuthorData, PublicationData, add_publication


def publish(app, user, slug="prof-faculty", **fields):
    with app.app_context():
        row = db.session.get(User, user.id)
        row.slug = slug
        row.profile_published = True
        for name, value in fields.items():
            setattr(row, name, value)
        db.session.commit()


def add_publications(app, user, *publications):
    with app.app_context():
        owner = db.session.get(User, user.id)
        for title, authors in publications:
            add_publication(
                owner,
                PublicationData(
                    title=title,
                    year=2024,
                    venue="NeurIPS",
                    url="https://example.org/paper",
                    authors=[AuthorData(a) for a in authors],
                ),
            )
        db.session.commit()


def test_published_profile_shows_group_and_profile_for_anonymous_visitor(
    app, client, faculty, make_faculty, make_member
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    publish(
        app,
        faculty,
        title="Associate Professor, Department of Mathematics and Statistics\n"
        "Research Chair in Dynamical Systems",
        biography="First paragraph <script>alert(1)</script>.\n\nSecond « paragraph ».",
        research_topics=["Computational Neuroscience", "Dynamical Systems"],
    )
    make_member(faculty, "Amélie Bouchard", role="principal", others=[(colleague, "co-supervisor")])
    make_member(
        faculty,
        "Björn Halvorsen",
        program="Master's Research",
        institution="ETH Zurich",
        role="co-supervisor",
        others=[("Prof. Ingrid Sørensen", "principal")],
    )
    make_member(
        faculty,
        "Dr. Oren Ben-David",
        program="Collaborating researcher",
        institution="McGill University",
        role="none",
    )
    make_member(
        faculty,
        "Maude Archambault",
        start_date=date(2015, 9, 1),
        end_date=date(2021, 6, 30),
        outcome="Postdoc at ETH Zurich",
    )
    make_member(colleague, "Someone Else's Student")

    response = client.get("/people/prof-faculty")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for text in (
        "Prof. Hélène Faculty",
        "Associate Professor, Department of Mathematics and Statistics",
        "Research Chair in Dynamical Systems",
        "Computational Neuroscience",
        "Amélie Bouchard",
        "PhD - Université de Montréal",
        "Principal supervisor",
        "Björn Halvorsen",
        "Master&#39;s Research - ETH Zurich",
        "Co-supervisor",
        "Dr. Oren Ben-David",
        "Collaborating researcher - McGill University",
        "Maude Archambault",
        "Postdoc at ETH Zurich",
        "Second « paragraph ».",
    ):
        assert text in page, text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "Someone Else" not in page
    assert "Host (no supervision role)" not in page
    assert "Prof. Ingrid Sørensen" not in page  # other supervisors are not public
    assert page.count("<h1") == 1
    assert page.count("<h2") == 4  # biography, topics, current students, alumni (no publications)
    assert (
        page.index('<h2 id="current-students">Current students</h2>')
        < page.index("Amélie Bouchard")
        < page.index('<h2 id="alumni">Alumni</h2>')
        < page.index("Maude Archambault")
    )


def test_public_page_hides_emails_notes_and_archived_entries(app, client, faculty, make_member):
    publish(app, faculty)
    make_member(
        faculty,
        "Visible Student",
        email="visible.student@example.org",
        note="Private note about funding",
    )
    make_member(faculty, "Archived Student", archived_at=datetime(2025, 1, 1, tzinfo=UTC))
    make_member(
        faculty,
        "Archived Alumna",
        start_date=date(2015, 1, 1),
        end_date=date(2019, 1, 1),
        archived_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    data = client.get("/people/prof-faculty.json").get_data(as_text=True)
    for body in (page, data):
        assert "Visible Student" in body
        assert "visible.student@example.org" not in body
        assert "faculty@example.org" not in body
        assert "Private note" not in body
        assert "Archived" not in body


def test_unpublished_and_unknown_profiles_are_the_same_404_with_nothing_leaked(
    app, client, faculty, make_member
):
    with app.app_context():
        row = db.session.get(User, faculty.id)
        row.slug = "prof-faculty"
        row.biography = "Secret biography"
        db.session.commit()
    make_member(faculty, "Hidden Student")
    add_publications(app, faculty, ("Hidden Paper", ["Hidden Student"]))

    unpublished = client.get("/people/prof-faculty")
    unknown = client.get("/people/no-such-person")
    assert unpublished.status_code == unknown.status_code == 404

    # The pages differ only where they echo the requested path (the language switcher's "next")
    # and in the CSRF token, which carries the second it was signed.
    def normalised(body: bytes, slug: bytes) -> bytes:
        body = re.sub(rb'name="csrf_token" value="[^"]+"', b'name="csrf_token" value="TOKEN"', body)
        return body.replace(b"/people/" + slug, b"/people/SLUG")

    assert normalised(unpublished.get_data(), b"prof-faculty") == normalised(
        unknown.get_data(), b"no-such-person"
    )
    unpublished_json = client.get("/people/prof-faculty.json")
    unknown_json = client.get("/people/no-such-person.json")
    assert unpublished_json.status_code == unknown_json.status_code == 404
    assert unpublished_json.get_data() == unknown_json.get_data()
    for response in (unpublished, unpublished_json):
        body = response.get_data(as_text=True)
        for secret in ("Hélène", "Secret biography", "Hidden Student", "Hidden Paper"):
            assert secret not in body
    assert "prof-faculty" not in client.get("/people").get_data(as_text=True)


def test_inactive_account_profile_is_not_public(app, client, faculty):
    publish(app, faculty, is_active=False)
    assert client.get("/people/prof-faculty").status_code == 404
    assert client.get("/people/prof-faculty.json").status_code == 404


def test_json_has_the_same_data_as_the_page(app, client, faculty, make_member):
    publish(app, faculty, title="Professor\nChair", research_topics=["Dynamical Systems"])
    make_member(faculty, "Amélie Bouchard", role="principal")
    make_member(
        faculty, "Felix Brandt", program="Research Intern", institution="ETH Zurich", role="none"
    )
    make_member(
        faculty,
        "Maude Archambault",
        start_date=date(2015, 9, 1),
        end_date=date(2021, 6, 30),
        outcome="Postdoc at ETH Zurich",
    )
    add_publications(app, faculty, ("A Paper", ["Someone Outside", "Amélie Bouchard"]))
    response = client.get("/people/prof-faculty.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    data = response.get_json()
    assert data["name"] == "Prof. Hélène Faculty"
    assert data["positions"] == ["Professor", "Chair"]
    assert data["research_topics"] == ["Dynamical Systems"]
    assert [
        (m["name"], m["program_institution"], m["role"], m["role_label"])
        for m in data["current_members"]
    ] == [
        ("Amélie Bouchard", "PhD - Université de Montréal", "principal", "Principal supervisor"),
        ("Felix Brandt", "Research Intern - ETH Zurich", None, None),
    ]
    assert [(a["name"], a["outcome"]) for a in data["alumni"]] == [
        ("Maude Archambault", "Postdoc at ETH Zurich")
    ]
    assert data["publications"] == [
        {
            "title": "A Paper",
            "year": 2024,
            "venue": "NeurIPS",
            "url": "https://example.org/paper",
            "authors": [
                {"name": "Someone Outside", "orcid": None, "group_member": False},
                {"name": "Amélie Bouchard", "orcid": None, "group_member": True},
            ],
        }
    ]
    assert "email" not in response.get_data(as_text=True)


def test_group_member_authors_are_marked_not_by_colour_only(app, client, faculty, make_member):
    publish(app, faculty)
    make_member(faculty, "Dr. Rafael Quiñones", program="Postdoctorate")
    add_publications(app, faculty, ("Slow manifolds", ["Quiñones, Rafael", "Outside Author"]))
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    assert (
        '<strong class="group-member">Quiñones, Rafael'
        '<span class="visually-hidden"> (group member)</span></strong>'
    ) in page
    assert '<strong class="group-member">Outside Author' not in page
    assert "Outside Author" in page


def test_index_lists_only_published_profiles(app, client, faculty, make_faculty):
    publish(app, faculty, title="Associate Professor\nChair")
    other = make_faculty("other@example.org", "Prof. Not Published", slug="not-published")
    assert other.profile_published is False
    response = client.get("/people")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'href="/people/prof-faculty"' in page and "Associate Professor" in page
    assert "Not Published" not in page


def test_public_page_loads_in_a_fixed_number_of_queries(
    app, client, faculty, make_member, query_counter
):
    publish(app, faculty)

    def grow_to(size):
        with app.app_context():
            have = db.session.scalar(select(db.func.count()).select_from(Position))
        for number in range(have, size):
            ended = number % 4 == 0
            make_member(
                faculty,
                f"Member {number}",
                role="co-supervisor" if number % 2 else "principal",
                start_date=date(2018, 1, 1),
                end_date=date(2022, 1, 1) if ended else None,
                others=[("External Prof", "co-supervisor")],
            )
        add_publications(
            app, faculty, *[(f"Paper {size}-{n}", [f"Member {n}", "Outside"]) for n in range(3)]
        )

    grow_to(5)
    with query_counter() as small_page:
        assert client.get("/people/prof-faculty").status_code == 200
    with query_counter() as small_json:
        assert client.get("/people/prof-faculty.json").status_code == 200
    grow_to(100)
    with query_counter() as large_page:
        assert client.get("/people/prof-faculty").status_code == 200
    with query_counter() as large_json:
        assert client.get("/people/prof-faculty.json").status_code == 200
    assert len(small_page) == len(large_page) <= 10
    # The page also reads the institution's branding (name, logo, colour): one query more.
    assert len(small_json) == len(large_json) == len(large_page) - 1


def test_demo_profile_lists_exactly_the_group_page_members(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    client = app.test_client()
    today = date.today()
    with app.app_context():
        faculty = db.session.scalar(
            select(User).where(User.email == "helene.tremblay@demo.example.org")
        )
        expected = [
            (
                row.name,
                row.program,
                row.institution,
                None if row.role == SupervisionRole.NONE else row.role.value,
            )
            for row in current_members(faculty, today)
        ]
        slug = faculty.slug
        linked = db.session.scalars(
            select(PublicationAuthor.person_id).where(PublicationAuthor.person_id.is_not(None))
        ).all()
        publications = db.session.scalar(select(db.func.count()).select_from(Publication))
    assert len(expected) == 30
    assert 3 <= publications <= 4 and len(linked) >= 3

    data = client.get(f"/people/{slug}.json").get_json()
    assert [
        (m["name"], m["program"], m["institution"], m["role"]) for m in data["current_members"]
    ] == expected
    assert "Computational Neuroscience" in data["research_topics"]
    assert any(a["group_member"] for p in data["publications"] for a in p["authors"])

    page = client.get(f"/people/{slug}").get_data(as_text=True)
    current = page[page.index("Current students") : page.index('id="alumni"')]
    entries = current.split('<li class="profile__person">')[1:]
    assert len(entries) == len(expected)
    labels = {"principal": "Principal supervisor", "co-supervisor": "Co-supervisor"}
    for entry, (name, program, institution, role) in zip(entries, expected, strict=True):
        assert f">{_escaped(name)}<" in entry
        assert f">{_escaped(f'{program} - {institution}')}<" in entry
        if role:
            assert f">{labels[role]}<" in entry
        else:
            assert "supervisor" not in entry


def test_unpublished_demo_profile_is_404_in_html_and_json(app, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        faculty = db.session.scalar(
            select(User).where(User.email == "helene.tremblay@demo.example.org")
        )
        faculty.profile_published = False
        slug = faculty.slug
        db.session.commit()
    client = app.test_client()
    for url in (f"/people/{slug}", f"/people/{slug}.json"):
        response = client.get(url)
        assert response.status_code == 404
        body = response.get_data(as_text=True)
        assert "Tremblay" not in body and "Amélie" not in body and "Computational" not in body


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
