"""Whatever body or cursor a client sends, the API answers a 4xx in its error format, never a 5xx
(api/parsers.py, api/pagination.py). Property-based (Hypothesis, the "ci" profile of
tests/conftest.py: a fixed, derandomized budget)."""

import base64
import io
import json
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from api.parsers import ApiJSONParser

pytestmark = pytest.mark.django_db

# Text with what breaks storage and parsing: NUL, unpaired surrogates, other control characters.
text = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(text, children, max_size=4),
    max_leaves=12,
)
customer_fields = st.sampled_from(["external_ref", "first_name", "last_name", "email", "country", "metadata"])
customer_like = st.dictionaries(customer_fields, json_values | text, max_size=6)
wild_numbers = st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "1" * 5000, "9" * 30, "-0.0"])
deep = st.tuples(st.sampled_from([(b"[", b"]"), (b'{"external_ref": ', b"}")]), st.integers(1, 100_000)).map(
    lambda t: t[0][0] * t[1] + b"1" + t[0][1] * t[1]
)
bodies = st.one_of(
    (json_values | customer_like).map(lambda v: json.dumps(v).encode()),
    wild_numbers.map(lambda n: b'{"external_ref": "X", "first_name": %s}' % n.encode()),
    deep,
    st.binary(max_size=200),
)


def assert_api_error(response):
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()) == {"error"}


@given(body=bodies)
def test_the_json_parser_refuses_with_a_parse_error_only(body):
    try:
        data = ApiJSONParser().parse(io.BytesIO(body), "application/json", {})
    except ParseError as exc:
        assert str(exc.detail).startswith("JSON parse error - ")
    else:
        # What it lets through, the serializers and a UTF-8 database can hold.
        json.dumps(data, allow_nan=False, ensure_ascii=False).encode()


@given(
    path=st.sampled_from(["/api/v1/customers/", "/api/v1/notification-endpoints/"]),
    body=bodies,
)
def test_any_body_posted_is_answered_without_a_5xx(staff_api, settings, path, body):
    settings.KYC_API_RATE = "100000/minute"
    response = staff_api.post(path, body, content_type="application/json")
    if response.status_code >= 300:
        assert_api_error(response)


cursor_values = st.text(st.characters(codec=None, exclude_categories=()), max_size=40) | st.sampled_from(
    ["2026-01-01 10:00:00+00:00", "0001-01-01 00:00:00+01:00", "9999-12-31 23:59:59-14:00", "1e999", ""]
)
cursors = st.one_of(
    st.text(max_size=60),  # not even base64
    st.binary(max_size=60).map(lambda b: base64.b64encode(b).decode()),
    st.fixed_dictionaries(
        {}, optional={"o": cursor_values | st.integers().map(str), "r": cursor_values, "p": cursor_values}
    ).map(
        lambda tokens: base64.b64encode(
            urlencode(tokens, encoding="utf-8", errors="surrogatepass").encode()
        ).decode()
    ),
)


@given(
    path=st.sampled_from(["/api/v1/customers/", "/api/v1/verifications/", "/api/v1/events/"]),
    cursor=cursors,
)
def test_any_cursor_is_answered_without_a_5xx(api, customer, settings, path, cursor):
    settings.KYC_API_RATE = "100000/minute"
    response = api.get(path, {"cursor": cursor})
    if response.status_code != 200:
        assert_api_error(response)
