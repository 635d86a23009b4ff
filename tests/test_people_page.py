"""The public page's shape: department once, topics as a list, the way back, initials, wide layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import portal
from portal.people.queries import department_once, initials
from tests.test_people_public import publish

DEPARTMENT = "Department of Mathematics and Statistics"


def test_department_named_in_the_title_is_printed_once(app, client, faculty):
    publish(
        app,
        faculty,
        title=f"Associate Professor, {DEPARTMENT}\nResearch Chair in Dynamical Systems",
        department=DEPARTMENT,
    )
    for url in ("/people/prof-faculty", "/people"):
        page = client.get(url).get_data(as_text=True)
        assert page.count(DEPARTMENT) == 1, url


def test_department_not_in_the_title_is_printed_under_it(app, client, faculty):
    publish(app, faculty, title="Full Professor", department=DEPARTMENT)
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    assert f'<p class="profile__department">{DEPARTMENT}</p>' in page
    assert page.count(DEPARTMENT) == 1


@pytest.mark.parametrize(
    ("department", "titles", "expected"),
    [
        (None, ["Professor"], None),
        (DEPARTMENT, [], DEPARTMENT),
        (DEPARTMENT, ["Professor, department of mathematics and statistics"], None),
        (DEPARTMENT, ["Professor", "Chair"], DEPARTMENT),
    ],
)
def test_department_once(department, titles, expected):
    assert department_once(department, titles) == expected


def test_topics_are_a_labelled_list(app, client, faculty):
    publish(app, faculty, research_topics=["Computational Neuroscience", "Dynamical Systems"])
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    listing = re.search(
        r'<ul class="topic-list" aria-labelledby="research-topics">(.*?)</ul>', page, re.S
    )
    assert listing is not None
    items = re.findall(r'<li class="topic">([^<]*)</li>', listing.group(1))
    assert items == ["Computational Neuroscience", "Dynamical Systems"]


def test_profile_leads_back_to_the_directory(app, client, faculty):
    publish(app, faculty)
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    breadcrumb = re.search(
        r'<nav class="breadcrumb" aria-label="Breadcrumb">(.*?)</nav>', page, re.S
    )
    assert breadcrumb is not None
    assert '<a href="/people">People</a>' in breadcrumb.group(1)
    assert '<span aria-current="page">Prof. Hélène Faculty</span>' in breadcrumb.group(1)
    assert 'href="/people">Back to the directory of people</a>' in page


def test_without_a_portrait_the_initials_stand_in_hidden_from_screen_readers(app, client, faculty):
    publish(app, faculty)
    page = client.get("/people/prof-faculty").get_data(as_text=True)
    assert (
        '<span class="profile__portrait profile__portrait--initials" aria-hidden="true">HF</span>'
        in page
    )
    assert "<img" not in page.split('class="profile__header"')[1].split("</header>")[0]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("Prof. Hélène Tremblay-Okafor", "HO"), ("Ada", "A"), ("Dr. Jean de la Fontaine", "JF")],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_stylesheet_no_dotted_underline_and_no_narrow_card():
    css = (Path(portal.__file__).parent / "static" / "css" / "people.css").read_text()
    assert "dotted" not in css  # a dotted underline reads as a link that is not one
    profile_rule = re.search(r"^\.profile \{([^}]*)\}", css, re.M).group(1)
    assert "max-width" not in profile_rule  # the profile spans the page, not a card on the left
