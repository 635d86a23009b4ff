"""The faculty member's publications at /profile/publications: add, edit, delete, author linking."""

from datetime import date

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import (
    Person,
    Publication,
    PublicationAuthor,
    Supervision,
    SupervisionState,
    User,
)
from portal.people.publications import AuthorData, PublicationData, add_publication


def publications_of(app, user) -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(
            select(Publication).where(Publication.owner_id == user.id).order_by(Publication.id)
        ).all()
        return [
            {
                "title": p.title,
                "year": p.year,
                "venue": p.venue,
                "url": p.url,
                "authors": [(a.position, a.name, a.orcid, a.person_id) for a in p.authors],
            }
            for p in rows
        ]


def author_rows(app) -> int:
    with app.app_context():
        return db.session.scalar(select(db.func.count()).select_from(PublicationAuthor))


def valid_form(**overrides) -> dict:
    form = {
        "title": "Slow manifolds in recurrent networks",
        "year": "2024",
        "venue": "Neural Computation",
        "url": "https://doi.org/10.1162/neco.2024.1",
        "authors": "Amélie Bouchard\r\nOutside Author | 0000-0002-1825-0097\r\n"
        "Prof. Hélène Faculty",
    }
    form.update(overrides)
    return form


def make_publication(app, user, title="Existing paper", authors=("Someone",)) -> int:
    with app.app_context():
        owner = db.session.get(User, user.id)
        publication = add_publication(
            owner,
            PublicationData(title=title, year=2020, authors=[AuthorData(name) for name in authors]),
        )
        db.session.commit()
        return publication.id


def test_add_publication_keeps_authors_in_order_and_links_group_members(
    app, faculty, faculty_client, make_member
):
    member = make_member(faculty, "Amélie Bouchard")
    response = faculty_client.post("/profile/publications/new", data=valid_form())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/profile/publications")
    assert publications_of(app, faculty) == [
        {
            "title": "Slow manifolds in recurrent networks",
            "year": 2024,
            "venue": "Neural Computation",
            "url": "https://doi.org/10.1162/neco.2024.1",
            "authors": [
                (1, "Amélie Bouchard", None, member.person_id),
                (2, "Outside Author", "0000-0002-1825-0097", None),
                (3, "Prof. Hélène Faculty", None, None),
            ],
        }
    ]
    page = faculty_client.get("/profile/publications").get_data(as_text=True)
    assert "The publication was added." in page
    assert "Slow manifolds in recurrent networks" in page
    assert "<strong>Amélie Bouchard" in page


def test_a_person_only_proposed_to_the_faculty_member_is_not_their_group_member(
    app, faculty, faculty_client, make_member, make_faculty
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    member = make_member(colleague, "Amélie Bouchard", others=[(faculty, "co-supervisor")])
    with app.app_context():
        link = db.session.scalar(
            select(Supervision).where(
                Supervision.position_id == member.id, Supervision.supervisor_id == faculty.id
            )
        )
        link.state = SupervisionState.PROPOSED  # not agreed: in nobody's group yet
        db.session.commit()
    assert faculty_client.post("/profile/publications/new", data=valid_form()).status_code == 302
    [publication] = publications_of(app, faculty)
    assert publication["authors"][0] == (1, "Amélie Bouchard", None, None)


def test_authors_match_by_last_first_name_and_by_orcid(
    app, faculty, faculty_client, make_member, make_faculty
):
    by_name = make_member(faculty, "Dr. Rafael Quiñones", program="Postdoctorate")
    by_orcid = make_member(faculty, "Li Wei Fontaine")
    alumna = make_member(
        faculty, "Maude Archambault", start_date=date(2015, 1, 1), end_date=date(2020, 1, 1)
    )
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    not_mine = make_member(colleague, "Not Mine")
    with app.app_context():
        db.session.get(Person, by_orcid.person_id).orcid = "0000-0002-1825-0097"
        db.session.commit()
    authors = (
        "Quiñones, Rafael\nL. W. Fontaine | https://orcid.org/0000-0002-1825-0097\n"
        "archambault, maude\nNot Mine"
    )
    assert (
        faculty_client.post(
            "/profile/publications/new", data=valid_form(authors=authors)
        ).status_code
        == 302
    )
    [publication] = publications_of(app, faculty)
    assert [a[3] for a in publication["authors"]] == [
        by_name.person_id,
        by_orcid.person_id,
        alumna.person_id,
        None,
    ]
    assert not_mine.person_id not in [a[3] for a in publication["authors"]]


def test_ambiguous_name_is_not_linked(app, faculty, faculty_client, make_member):
    make_member(faculty, "Alex Martin")
    make_member(faculty, "Alex Martin", program="Master's Research")
    faculty_client.post("/profile/publications/new", data=valid_form(authors="Alex Martin"))
    [publication] = publications_of(app, faculty)
    assert publication["authors"][0][3] is None


def test_edit_publication_replaces_fields_and_authors(app, faculty, faculty_client):
    publication_id = make_publication(app, faculty, authors=("First", "Second"))
    page = faculty_client.get(f"/profile/publications/{publication_id}/edit").get_data(as_text=True)
    assert "Existing paper" in page and "First\nSecond" in page
    response = faculty_client.post(
        f"/profile/publications/{publication_id}/edit",
        data=valid_form(authors="Second\nFirst\nThird", year=""),
    )
    assert response.status_code == 302
    [publication] = publications_of(app, faculty)
    assert publication["year"] is None
    assert [a[1] for a in publication["authors"]] == ["Second", "First", "Third"]
    assert author_rows(app) == 3


def test_delete_publication(app, faculty, faculty_client):
    publication_id = make_publication(app, faculty)
    response = faculty_client.post(f"/profile/publications/{publication_id}/delete")
    assert response.status_code == 302
    assert publications_of(app, faculty) == []
    assert author_rows(app) == 0


def test_another_faculty_publication_is_404_and_untouched(
    app, faculty, faculty_client, make_faculty
):
    colleague = make_faculty("colleague@example.org", "Prof. Colleague")
    theirs = make_publication(app, colleague, title="Their paper")
    assert faculty_client.get(f"/profile/publications/{theirs}/edit").status_code == 404
    assert (
        faculty_client.post(f"/profile/publications/{theirs}/edit", data=valid_form()).status_code
        == 404
    )
    assert faculty_client.post(f"/profile/publications/{theirs}/delete").status_code == 404
    assert [p["title"] for p in publications_of(app, colleague)] == ["Their paper"]
    assert "Their paper" not in faculty_client.get("/profile/publications").get_data(as_text=True)


def test_publications_require_login(client):
    assert client.get("/profile/publications").status_code == 302
    assert client.post("/profile/publications/new", data=valid_form()).status_code == 302
    assert (
        client.post(
            "/profile/publications/import", data={"bibtex": "@misc{a,title={x}}"}
        ).status_code
        == 302
    )


BAD_INPUTS = [
    ({"title": ""}, "title", "Enter the title."),
    ({"title": "x" * 501}, "title", "Keep this to at most 500 characters."),
    ({"venue": "x" * 301}, "venue", "Keep this to at most 300 characters."),
    ({"year": "twenty"}, "year", "The year “twenty” is not a number; write it like 2024."),
    ({"year": "2024.5"}, "year", "is not a number"),
    ({"year": "1850"}, "year", "The year must be between 1900 and"),
    ({"year": "0" * 4 + "1850"}, "year", "The year must be between 1900 and"),
    ({"year": "1" * 5000}, "year", "The year must be between 1900 and"),  # never read whole
    ({"year": str(date.today().year + 2)}, "year", "The year must be between 1900 and"),
    ({"url": "javascript:alert(1)"}, "url", "The link must start with http:// or https://"),
    (
        {"url": "JaVaScRiPt:alert(1)"},
        "url",
        "other kinds of links, such as javascript:, are not accepted",
    ),
    ({"url": "data:text/html,hi"}, "url", "The link must start with http:// or https://"),
    ({"url": "ftp://example.org/paper.pdf"}, "url", "The link must start with http:// or https://"),
    ({"url": "https://"}, "url", "The link must include a web address"),
    ({"url": "https://example.org/a b"}, "url", "The link must not contain spaces."),
    (
        {"url": "https://example.org/" + "a" * 500},
        "url",
        "The link must be at most 500 characters.",
    ),
    ({"authors": ""}, "authors", "Enter at least one author, one per line."),
    (
        {"authors": "Good Name\n | 0000-0002-1825-0097"},
        "authors",
        "Line 2: the author&#39;s name is missing",
    ),
    (
        {"authors": "Good Name | 0000-0002-1825-0098"},
        "authors",
        "Line 1: “0000-0002-1825-0098” is not a valid ORCID iD",
    ),
    (
        {"authors": "x" * 201},
        "authors",
        "Line 1: an author&#39;s name must be at most 200 characters.",
    ),
]


@pytest.mark.parametrize(
    ("fields", "field_id", "message"),
    BAD_INPUTS,
    ids=[f"{case[1]}-{n}" for n, case in enumerate(BAD_INPUTS)],
)
def test_bad_publication_input_is_refused_with_a_message_and_nothing_written(
    app, faculty, faculty_client, fields, field_id, message
):
    response = faculty_client.post("/profile/publications/new", data=valid_form(**fields))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    error_start = page.index(f'id="{field_id}-error"')
    assert message in page[error_start : error_start + 400]
    assert publications_of(app, faculty) == []
    assert author_rows(app) == 0


def test_bad_edit_is_refused_and_the_publication_unchanged(app, faculty, faculty_client):
    publication_id = make_publication(app, faculty)
    before = publications_of(app, faculty)
    response = faculty_client.post(
        f"/profile/publications/{publication_id}/edit",
        data=valid_form(url="javascript:alert(document.cookie)"),
    )
    assert response.status_code == 400
    assert "The link must start with http:// or https://" in response.get_data(as_text=True)
    assert publications_of(app, faculty) == before


def test_publication_list_loads_in_a_fixed_number_of_queries(
    app, faculty, faculty_client, query_counter
):
    make_publication(app, faculty, title="One", authors=("A", "B"))
    with query_counter() as small:
        faculty_client.get("/profile/publications")
    for number in range(30):
        make_publication(app, faculty, title=f"Paper {number}", authors=("A", "B", "C"))
    with query_counter() as large:
        faculty_client.get("/profile/publications")
    assert len(small) == len(large)


def test_forms_render_with_their_labels(faculty_client):
    page = faculty_client.get("/profile/publications/new").get_data(as_text=True)
    for label in ("Title", "Authors", "Venue", "Year", "Link"):
        assert f">{label}</label>" in page
    page = faculty_client.get("/profile/publications/import").get_data(as_text=True)
    assert ">BibTeX</label>" in page


def test_writes_are_audited(app, faculty, faculty_client):
    from portal.models import AuditEvent

    faculty_client.post("/profile/publications/new", data=valid_form())
    with app.app_context():
        publication_id = db.session.scalar(select(Publication.id))
    faculty_client.post(
        f"/profile/publications/{publication_id}/edit", data=valid_form(year="2023")
    )
    faculty_client.post(f"/profile/publications/{publication_id}/delete")
    with app.app_context():
        events = db.session.execute(
            select(AuditEvent.action, AuditEvent.actor_id).order_by(AuditEvent.id)
        ).all()
    assert [tuple(event) for event in events] == [
        ("publication.create", faculty.id),
        ("publication.update", faculty.id),
        ("publication.delete", faculty.id),
    ]


def test_matching_again_links_members_who_joined_after_the_paper(
    app, faculty, faculty_client, make_member
):
    make_publication(app, faculty, authors=("Newcomer, Nadia", "Outside Author"))
    assert [a[3] for a in publications_of(app, faculty)[0]["authors"]] == [None, None]
    newcomer = make_member(faculty, "Nadia Newcomer")
    response = faculty_client.post("/profile/publications/relink")
    assert response.status_code == 302
    assert [a[3] for a in publications_of(app, faculty)[0]["authors"]] == [newcomer.person_id, None]
    assert "1 link changed" in faculty_client.get("/profile/publications").get_data(as_text=True)


def test_a_year_with_leading_zeros_is_the_year(app, faculty, faculty_client):
    response = faculty_client.post("/profile/publications/new", data=valid_form(year="02024"))
    assert response.status_code == 302
    assert publications_of(app, faculty)[0]["year"] == 2024
