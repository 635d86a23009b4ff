"""The one email rule: its quick path for plain addresses gives `email_validator`'s verdict."""

from __future__ import annotations

import pytest
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from portal.emails import _is_plain_address, _syntax_ok, is_valid_email


def full_verdict(email: str) -> bool:
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


# Pieces that sit on the edges of the quick path: separators, doubled hyphens and Punycode,
# digits-only and special-use top-level domains, non-ASCII letters, long labels.
PIECES = st.sampled_from(
    [
        "a",
        "z",
        "0",
        "9",
        "ab",
        "x1",
        ".",
        "..",
        "-",
        "--",
        "_",
        "+",
        "xn--",
        "xn--ls8h",
        "ab--",
        "é",
        "ß",
        "ı",
        "\u200b",
        "'",
        "!",
        " ",
        "@",
        "a" * 63,
        "b" * 64,
        "com",
        "org",
        "123",
        *SPECIAL_USE_DOMAIN_NAMES,
    ]
)
TEXT = st.lists(PIECES, max_size=8).map("".join)
LABEL = st.one_of(TEXT, st.from_regex(r"[a-z0-9]([a-z0-9-]{0,70}[a-z0-9])?", fullmatch=True))
DOMAIN = st.lists(LABEL, min_size=1, max_size=5).map(".".join)
ADDRESS = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", TEXT, DOMAIN),
    st.builds(
        lambda local, domain: f"{local}@{domain}",
        st.from_regex(r"[a-z0-9]+([._+-][a-z0-9]+){0,20}", fullmatch=True),
        DOMAIN,
    ),
    st.text(alphabet="abz09.-_+@éxn", max_size=40),
)


@settings(max_examples=300, deadline=None)  # addresses built from the edge pieces above
@given(ADDRESS)
@example("name@example.org")
@example("a@b.test")
@example("a@b.arpa")
@example("a@localhost.localhost")
@example("a@x.onion")
@example("a@b.c1")
@example("a@xn--ls8h.la")
@example("a@ab--cd.org")
@example("a@" + "b" * 63 + ".org")
@example("a@" + "b" * 64 + ".org")
@example("a" * 64 + "@b.org")
@example("a" * 65 + "@b.org")
@example("a@" + ".".join(["b" * 60] * 4) + ".org")
@example("a@b.co-m")
@example("info@b.org")
def test_quick_path_gives_the_full_verdict(email):
    # The quick path only ever says yes, and only where the full validator says yes.
    if _is_plain_address(email):
        assert full_verdict(email), email
    assert _syntax_ok(email) == full_verdict(email), email


@pytest.mark.parametrize(
    ("email", "quick"),
    [
        ("name@example.org", True),
        ("first.last+tag@sub.univ-montreal.ca", True),
        ("a@b.test", False),
        ("a@b.local", False),
        ("a@b.c1", False),
        ("a@xn--ls8h.la", False),
        ("élise@example.org", False),
        ("a..b@example.org", False),
        ("a@" + "b" * 64 + ".org", False),
    ],
)
def test_quick_path_covers_plain_addresses_only(email, quick):
    assert _is_plain_address(email) is quick
    assert is_valid_email(email) is full_verdict(email)
