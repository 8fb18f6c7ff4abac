"""OneTrust round 16, with raw `requests`: `page`/`size` bound as Spring binds an `int` on every list route
(one helper, `pages.page_params`): Python's `int` took " 5", "1_0" and 40-digit numbers, which Spring refuses
with 400; negative pages and sizes below one answer Spring Data's words; a size over the endpoint's maximum
is clamped. `OPTIONS` on a served path is Spring MVC's default 200 with `Allow` (it was 405)."""

from __future__ import annotations

import pytest
import requests

from tests.sandbox.onetrust.helpers import bearer_session, spring_error

ASSESSMENTS = "/api/assessment/v2/assessments"
RISK_PAGES = "/api/risk/v2/risks/pages"
VENDORS = "/api/inventory/v2/inventories/vendors"
CONTROLS = "/api/controls/v1/controls/pages"


@pytest.fixture
def sb(make_onetrust_sandbox):
    return make_onetrust_sandbox(size=12)


@pytest.fixture
def s(sb):
    with bearer_session(sb) as session:
        yield session


def _lists(s):
    """One call per envelope: params -> the response."""
    return [lambda p: s.get(s.base_url + ASSESSMENTS, params=p), lambda p: s.post(s.base_url + RISK_PAGES, params=p,
                                                                                 json={}),
            lambda p: s.get(s.base_url + VENDORS, params=p), lambda p: s.post(s.base_url + CONTROLS, params=p, json={})]


@pytest.mark.parametrize("bad", [{"page": "abc"}, {"size": "x"}, {"page": " 1"}, {"size": "1_0"}, {"size": "2.0"},
                                 {"page": "2147483648"}, {"size": "9" * 40}, {"page": "٣"}])
def test_values_spring_cannot_bind_to_int_are_400_on_every_list(s, bad):
    for call in _lists(s):
        body = spring_error(call(bad), 400)
        assert "NumberFormatException" in body["message"] and body["error"] == "Bad Request"


def test_negative_page_and_small_size_answer_spring_datas_words(s):
    for call in _lists(s):
        assert spring_error(call({"page": -1}), 400)["message"] == "Page index must not be less than zero"
        assert spring_error(call({"size": 0}), 400)["message"] == "Page size must not be less than one"
        assert spring_error(call({"size": "-3"}), 400)["message"] == "Page size must not be less than one"


def test_good_values_empty_values_and_clamping(s):
    assert s.get(s.base_url + ASSESSMENTS, params={"page": "+0", "size": "+3"}).json()["page"]["size"] == 3
    assert s.get(s.base_url + ASSESSMENTS, params={"page": "", "size": ""}).json()["page"] == {
        **s.get(s.base_url + ASSESSMENTS).json()["page"]}
    assert s.get(s.base_url + ASSESSMENTS, params={"size": 2147483647}).json()["page"]["size"] == 2000
    assert s.post(s.base_url + RISK_PAGES, params={"size": 5000}, json={}).json()["size"] == 100
    assert s.get(s.base_url + VENDORS, params={"size": 5000}).json()["meta"]["page"]["size"] == 50


def test_options_is_200_with_allow_as_spring_mvc(s, sb):
    got = s.options(s.base_url + ASSESSMENTS)
    assert (got.status_code, got.content, got.headers["Allow"]) == (200, b"", "GET,HEAD,POST,OPTIONS")
    post_only = s.options(s.base_url + RISK_PAGES)
    assert post_only.status_code == 200 and post_only.headers["Allow"].split(",")[-1] == "OPTIONS"
    assert "POST" in post_only.headers["Allow"].split(",")  # and /risks/{id}'s methods: both patterns match
    spring_error(s.options(s.base_url + "/api/assessment/v2/nothing-here"), 404)
    spring_error(s.put(s.base_url + ASSESSMENTS, json={}), 405)  # other methods stay 405 with Allow
    anonymous = requests.options(sb.url + ASSESSMENTS, timeout=10)
    assert anonymous.status_code == 401
