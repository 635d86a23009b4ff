"""Name keys and slugs: matching authors to group members, and URL names from display names."""

from portal.people.names import author_name_keys, person_name_key, slugify


def test_slugify_drops_accents_titles_and_punctuation():
    assert slugify("Hélène Tremblay-Okafor") == "helene-tremblay-okafor"
    assert slugify("Prof. Hélène Tremblay-Okafor") == "helene-tremblay-okafor"
    assert slugify("Dr. Tomás O'Donnell") == "tomas-o-donnell"
    assert slugify("Björn Sørensen  Łukasz Straße") == "bjorn-sorensen-lukasz-strasse"
    assert slugify("Zoë Papadopoulos (Zo)") == "zoe-papadopoulos"
    assert slugify("!!!") == ""


def test_last_first_and_first_last_give_the_same_key():
    member = person_name_key("Dr. Rafael Quiñones")
    assert member == "rafael quinones"
    assert member in author_name_keys("Quiñones, Rafael")
    assert member in author_name_keys("rafael  QUINONES")
    assert person_name_key("Élodie Marchand (Lodie)") in author_name_keys("Marchand, Élodie")


def test_different_people_do_not_share_a_key():
    assert person_name_key("Li Wei Fontaine") not in author_name_keys("Wei Li")
