"""Every route in app.url_map, driven with generated path values, query strings and form bodies
as an anonymous visitor, a faculty member and an administrator: no answer is a 5xx.

First a fixed sweep gives every route and method the values that broke it before (a 20-digit
id, a share out of range, `endpoint=` in the query string...), then hypothesis generates more.
Exceptions propagate under TESTING, so a crash fails with its real traceback.
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.routing.converters import NumberConverter
from wtforms.fields.core import UnboundField

from tests.conftest import login_client
from tests.routes import methods, rules

HOSTILE_TEXTS = [
    "",
    " ",
    "0",
    "-1",
    "99999999999999999999",
    "9" * 400,
    "1e309",
    "NaN",
    "%",
    "100%",
    "%(name)s",
    "%s%s%s",
    "{0}",
    "'",
    '"><script>',
    "é" * 300,
    "\u202e\u200b\uff1d1+1",
    "x" * 5000,
    "2024-13-45",
    "true",
    "../../etc/passwd",
    "\x00",
    "[]",
]
HOSTILE_PATH_INTEGERS = [0, 1, 2, 3, 99999999999999999999, 2**63, 2**64 + 1, 10**40]
SWEEP_ROUNDS = 4
BENIGN_QUERY = {
    "status": "all",
    "page": "2",
    "sort": "name",
    "dir": "desc",
    "institution": "1",
    "as_of": "2026-01-01",
    "years": "5",
    "endpoint": "x",
    "_external": "1",
    "_anchor": "x",
    "_scheme": "javascript",
    "_method": "DELETE",
    "values": "x",
}
QUERY_KEYS = [
    "status",
    "faculty",
    "years",
    "sort",
    "dir",
    "page",
    "institution",
    "program",
    "department",
    "as_of",
    "next",
    "endpoint",
    "q",
    "per_page",
    "format",
    "_method",
]


def form_field_names() -> list[str]:
    """Every field name of every form in the portal: the bodies post to all of them."""
    names: set[str] = set()
    pending = list(FlaskForm.__subclasses__())
    while pending:
        form = pending.pop()
        pending.extend(form.__subclasses__())
        for name in dir(form):
            if isinstance(getattr(form, name, None), UnboundField):
                names.add(name)
    return sorted(names)


FIELD_NAMES = form_field_names() + ["csrf_token", "rows", "preview", "version"]
text_values = st.one_of(
    st.sampled_from(HOSTILE_TEXTS),
    st.text(max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def path_strategy(rule):
    values = {}
    for name, converter in rule._converters.items():
        if isinstance(converter, NumberConverter):
            values[name] = st.one_of(
                st.sampled_from(HOSTILE_PATH_INTEGERS), st.integers(min_value=0, max_value=10**30)
            )
        elif name == "filename":
            values[name] = st.sampled_from(["css/portal.css", "nope.css", "..%2f..%2fetc"])
        else:
            values[name] = text_values.filter(lambda value: value and "/" not in value)
    return st.fixed_dictionaries(values)


def build_path(rule, values) -> str:
    try:
        return rule.build(values, append_unknown=False)[1]
    except (ValueError, TypeError):
        return rule.rule.replace("<", "").replace(">", "")


@pytest.fixture
def clients(app, make_faculty, make_admin, make_member):
    faculty = make_faculty("fuzz-faculty@example.org")
    admin = make_admin("fuzz-admin@example.org")
    make_member(faculty, "Fuzz Member")
    return {
        "anonymous": app.test_client(),
        "faculty": login_client(app.test_client(), faculty),
        "admin": login_client(app.test_client(), admin),
    }


def request(client, rule, method: str, path_values: dict, query: dict, body: dict):
    path = build_path(rule, path_values)
    url = f"{path}?{urlencode(query)}" if query else path
    if method == "GET":
        response = client.get(url)
    else:
        response = client.open(url, method=method, data=body)
    response.get_data()  # run a streamed body to its end, inside the test
    response.close()
    return response


def served(app):
    return [
        (rule, method)
        for rule in rules(app)
        if rule.endpoint != "static"
        for method in methods(rule)
    ]


def assert_no_server_error(response, role, method, rule, detail):
    assert response.status_code < 500, (
        f"{role} {method} {rule.rule} {detail} answered {response.status_code}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "faculty", "admin"])
def test_every_route_survives_the_values_that_broke_it(app, clients, role):
    client = clients[role]
    for rule, method in served(app):
        for value in (99999999999999999999, 10**40, "a\x00b", "é" * 300):
            path_values = {
                name: (value if isinstance(converter, NumberConverter) else "x")
                if isinstance(value, int)
                else (1 if isinstance(converter, NumberConverter) else value)
                for name, converter in rule._converters.items()
            }
            response = request(client, rule, method, path_values, {}, {})
            assert_no_server_error(response, role, method, rule, path_values)
        # Valid filters, plus keys that must never reach a link builder (endpoint=, _external=).
        response = request(
            client,
            rule,
            method,
            {
                name: 1 if isinstance(converter, NumberConverter) else "x"
                for name, converter in rule._converters.items()
            },
            BENIGN_QUERY,
            {},
        )
        assert_no_server_error(response, role, method, rule, BENIGN_QUERY)
        # Every key gets a different hostile text in each round; over the rounds each key
        # sees several of them.
        for round_number in range(SWEEP_ROUNDS):
            query = {
                key: HOSTILE_TEXTS[(round_number * 7 + index) % len(HOSTILE_TEXTS)]
                for index, key in enumerate(QUERY_KEYS)
            }
            body = {
                name: HOSTILE_TEXTS[(round_number * 5 + index) % len(HOSTILE_TEXTS)]
                for index, name in enumerate(FIELD_NAMES)
            }
            path_values = {
                name: 1 if isinstance(converter, NumberConverter) else "x"
                for name, converter in rule._converters.items()
            }
            response = request(client, rule, method, path_values, query, body)
            assert_no_server_error(response, role, method, rule, f"{query} {body}")


@pytest.mark.slow
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,
)
@given(data=st.data())
def test_generated_requests_never_get_a_server_error(app, clients, data):
    role = data.draw(st.sampled_from(sorted(clients)), label="role")
    rule, method = data.draw(st.sampled_from(served(app)), label="route")
    path_values = data.draw(path_strategy(rule), label="path")
    query = data.draw(
        st.dictionaries(
            st.one_of(st.sampled_from(QUERY_KEYS), st.text(max_size=8)), text_values, max_size=4
        ),
        label="query",
    )
    body = data.draw(
        st.dictionaries(st.sampled_from(FIELD_NAMES), text_values, max_size=8), label="body"
    )
    response = request(clients[role], rule, method, path_values, query, body)
    assert_no_server_error(response, role, method, rule, f"{path_values} {query} {body}")
