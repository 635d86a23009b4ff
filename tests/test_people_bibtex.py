"""Pasting BibTeX: good entries imported, bad ones reported one by one (key and reason)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.extensions import db
from portal.identifiers import clean_text
from portal.models import Publication, PublicationAuthor
from portal.people import bibtex
from portal.people.bibtex import parse_bibtex

TODAY = date(2026, 11, 29)

GOOD = r"""
@article{bouchard2024slow,
  title   = {Slow {Manifolds} in Recurrent Networks: a D\'ecision Story},
  author  = {Bouchard-Nakamura, Am{\'e}lie and O'Donnell, Tom\'{a}s and {Google Brain Team} and others},
  journal = {Neural Computation},
  year    = 2024,
  doi     = {10.1162/neco.2024.1}
}
"""

MIXED = (
    GOOD
    + r"""
@inproceedings{quinones2023,
  Title = "Fitting low-rank models",
  Author = "Rafael Quiñones and Li Wei Fontaine",
  booktitle = {NeurIPS},
  YEAR = {2023},
  url = {https://example.org/paper}
}
@article{broken2022,
  title = {Missing a closing brace,
  year = 2022
}
@article{jsattack, title = {Link}, author = {A B}, year = 2021, url = {javascript:alert(1)}}
@misc{noyear, title = {Bad year}, author = {A B}, year = {around 2020}}
@misc{future, title = {Future}, author = {A B}, year = {2999}}
@misc{notitle, author = {A B}, year = {2020}}
@misc{noauthor, title = {Nobody wrote this}, year = {2020}}
@misc{bouchard2024slow, title = {Same key again}, author = {A B}}
"""
)


def titles(app) -> list[str]:
    with app.app_context():
        return db.session.scalars(select(Publication.title).order_by(Publication.id)).all()


def counts(app) -> tuple[int, int]:
    with app.app_context():
        return (
            db.session.scalar(select(db.func.count()).select_from(Publication)),
            db.session.scalar(select(db.func.count()).select_from(PublicationAuthor)),
        )


def test_parse_decodes_latex_and_turns_last_first_into_first_last():
    parsed = parse_bibtex(GOOD, TODAY)
    assert parsed.rejected == []
    [(key, data)] = parsed.accepted
    assert key == "bouchard2024slow"
    assert data.title == "Slow Manifolds in Recurrent Networks: a Décision Story"
    assert data.year == 2024
    assert data.venue == "Neural Computation"
    assert data.url == "https://doi.org/10.1162/neco.2024.1"
    assert [a.name for a in data.authors] == [
        "Amélie Bouchard-Nakamura",
        "Tomás O'Donnell",
        "Google Brain Team",
    ]


def test_parse_reports_each_bad_entry_with_its_key_and_reason():
    parsed = parse_bibtex(MIXED, TODAY)
    assert [key for key, _ in parsed.accepted] == ["bouchard2024slow", "quinones2023"]
    reasons = {entry.key: entry.reason for entry in parsed.rejected}
    assert set(reasons) == {
        "broken2022",
        "jsattack",
        "noyear",
        "future",
        "notitle",
        "noauthor",
        "bouchard2024slow",
    }
    assert "not well-formed BibTeX" in reasons["broken2022"]
    assert "http:// or https://" in reasons["jsattack"]
    assert "“around 2020” is not a number" in reasons["noyear"]
    assert "between 1900 and 2027" in reasons["future"]
    assert reasons["notitle"] == "it has no title"
    assert reasons["noauthor"] == "it has no author"
    assert "same key appears earlier" in reasons["bouchard2024slow"]


@pytest.mark.parametrize(
    ("authors", "year", "reason"),
    [
        ("A, B, C, D", "2020", "the author “A, B, C, D” cannot be read as a name"),
        ("Smith,", "2020", "the author “Smith,” cannot be read as a name"),
        ("Jane Doe", "1" * 5000, "between 1900 and 2027"),
    ],
)
def test_an_entry_that_cannot_be_read_is_rejected_with_its_reason(authors, year, reason):
    parsed = parse_bibtex(
        f"@article{{odd, title={{T}}, author={{{authors}}}, year={{{year}}}}}\n"
        "@article{fine, title={Fine}, author={Jane Doe}, year={2020}}",
        TODAY,
    )
    assert [key for key, _ in parsed.accepted] == ["fine"]
    [rejected] = parsed.rejected
    assert rejected.key == "odd" and reason in rejected.reason


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="abcxyzÉéßÅ -'.,:;!?()[]<>/|=+*@0123456789\u00a0\t", max_size=60))
def test_text_without_latex_marks_reads_as_pylatexenc_reads_it(text):
    """_decode's quick path (no LaTeX special, dash or quote ligature) gives pylatexenc's text."""
    full = " ".join(clean_text(bibtex._decoder.latex_to_text(text)).split())
    assert bibtex._decode(text) == full


def test_import_keeps_good_entries_reports_bad_ones_and_links_group_members(
    app, faculty, faculty_client, make_member
):
    amelie = make_member(faculty, "Amélie Bouchard-Nakamura")
    rafael = make_member(faculty, "Dr. Rafael Quiñones", program="Postdoctorate")
    response = faculty_client.post("/profile/publications/import", data={"bibtex": MIXED})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Imported 2 publications" in page
    assert "Not imported (7)" in page
    for key in ("broken2022", "jsattack", "noyear", "future", "notitle", "noauthor"):
        assert f"<code>{key}</code>: " in page
    assert titles(app) == [
        "Slow Manifolds in Recurrent Networks: a Décision Story",
        "Fitting low-rank models",
    ]
    with app.app_context():
        linked = db.session.execute(
            select(PublicationAuthor.name, PublicationAuthor.person_id)
            .where(PublicationAuthor.person_id.is_not(None))
            .order_by(PublicationAuthor.id)
        ).all()
    assert [tuple(row) for row in linked] == [
        ("Amélie Bouchard-Nakamura", amelie.person_id),
        ("Rafael Quiñones", rafael.person_id),
    ]


def test_importing_the_same_entries_twice_reports_them_as_already_there(
    app, faculty, faculty_client
):
    assert (
        faculty_client.post("/profile/publications/import", data={"bibtex": GOOD}).status_code
        == 200
    )
    before = counts(app)
    response = faculty_client.post("/profile/publications/import", data={"bibtex": GOOD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "<code>bouchard2024slow</code>: it is already in your publications" in page
    assert counts(app) == before


def test_malformed_bibtex_only_is_refused_and_nothing_written(app, faculty, faculty_client):
    bad = "@article{broken, title = {No closing brace, year = 2020\n"
    response = faculty_client.post("/profile/publications/import", data={"bibtex": bad})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Nothing was imported: every entry has a problem" in page
    assert 'id="bibtex-error"' in page
    assert "<code>broken</code>: it is not well-formed BibTeX" in page
    assert counts(app) == (0, 0)


def test_text_without_entries_is_refused(app, faculty, faculty_client):
    response = faculty_client.post(
        "/profile/publications/import", data={"bibtex": "Just some text, not BibTeX at all."}
    )
    assert response.status_code == 400
    assert "No BibTeX entries were found" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_empty_paste_is_refused(app, faculty, faculty_client):
    response = faculty_client.post("/profile/publications/import", data={"bibtex": "  \n"})
    assert response.status_code == 400
    assert "Paste at least one BibTeX entry" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_oversized_paste_is_refused(app, faculty, faculty_client):
    response = faculty_client.post(
        "/profile/publications/import", data={"bibtex": GOOD + "%" * 500_001}
    )
    assert response.status_code == 400
    assert "Keep this to at most 500000 characters." in response.get_data(as_text=True)
    assert counts(app) == (0, 0)


def test_bad_entries_only_of_every_kind_write_nothing(app, faculty, faculty_client):
    only_bad = (
        MIXED.replace(GOOD, "")
        .replace("quinones2023", "quinones2023x")
        .replace("url = {https://example.org/paper}", "url = {javascript:void(0)}")
        .replace("title = {Same key again}, author = {A B}", "title = {Same key again}")
    )
    response = faculty_client.post("/profile/publications/import", data={"bibtex": only_bad})
    assert response.status_code == 400
    assert "<code>quinones2023x</code>" in response.get_data(as_text=True)
    assert counts(app) == (0, 0)
