"""Round 27: numbers sent to the sandbox-only control routes (``/_sandbox/...``: faults, touch, clock, waits, event
delivery settings) are read by ``control_number``, not ``int()``/``float()``: '٣', ' 3', '3_0', '+3', NaN, Infinity,
1e999, 'nan' and 40 digits are a 400 naming the parameter, and a refused change applies nothing. Before, '٣' read as
3, an Infinity delay made every faulted request a 500 (time.sleep's OverflowError), a negative touch n or 'x' wait
was a 500. Over real HTTP; fixtures as in test_round26_bigdigits.py."""

from __future__ import annotations

import math

import pytest
import requests

from sandbox.core.numbers import control_number, finite_number
from tests.sandbox.test_round26_bigdigits import drive, jira, onetrust, slack, sn

__all__ = ["drive", "jira", "onetrust", "slack", "sn"]

JSON_HEADERS = {"Content-Type": "application/json"}
# JSON text of values no control number takes
BAD = ['"\u0663"', '" 3"', '"3_0"', '"+3"', "NaN", "Infinity", "-Infinity", "1e999", '"nan"', '"' + "9" * 40 + '"',
       '"1e3"', "null", "[]"]
BAD_IDS = ["arabic3", "space3", "underscore", "plus3", "NaN", "Infinity", "minusInfinity", "1e999", "nanstring",
           "40digits", "exponent", "null", "list"]


def test_control_number():
    assert control_number("n", "42") == 42 and control_number("n", 7.0) == 7 and control_number("n", True) == 1
    assert control_number("x", "0.25", float) == 0.25 and control_number("x", "-3", int, -5, 5) == -3
    for bad in ("\u0663", " 3", "3_0", "+3", "nan", "inf", "1e3", float("nan"), float("inf"), 1.5, None, [], "9" * 40):
        with pytest.raises(ValueError, match=r"^n must be"):
            control_number("n", bad)
    with pytest.raises(ValueError, match="between 0 and 2,147,483,647"):
        control_number("n", -1, int, 0, 2**31 - 1)


def test_finite_number():
    assert finite_number("1.5") == 1.5 and finite_number(3) == 3.0 and finite_number("-2e3") == -2000.0
    for bad in ("\u0663", " 3", "1_0", "nan", "Infinity", "1e999", float("nan"), 10**400, True, None, ""):
        assert finite_number(bad) is None, bad


def _vendors(sn, jira, onetrust, slack, drive):
    return {"servicenow": sn[0], "jira": jira[0], "onetrust": onetrust[0], "slack": slack[0], "gdrive": drive[0]}


@pytest.mark.parametrize("setting", ["rate_5xx", "retry_after", "status_5xx", "delay_seconds", "touch_per_page",
                                     "hostile_text", "seed", "token_ttl_seconds"])
@pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
def test_fault_settings_refuse_what_int_and_float_misread(sn, jira, onetrust, slack, drive, setting, value):
    for vendor, sb in _vendors(sn, jira, onetrust, slack, drive).items():
        before = requests.get(f"{sb.url}/_sandbox/faults", timeout=10).json()
        body = f'{{"rate_429": 0.5, "{setting}": {value}}}'  # rate_429 first: a refused change applies nothing
        r = requests.patch(f"{sb.url}/_sandbox/faults", data=body, headers=JSON_HEADERS, timeout=10)
        assert r.status_code == 400, (vendor, r.status_code, r.text[:200])
        assert setting in r.text, (vendor, r.text[:200])
        assert requests.get(f"{sb.url}/_sandbox/faults", timeout=10).json() == before, vendor


@pytest.mark.parametrize(("setting", "value"), [("retry_after", "1.5"), ("touch_per_page", '"2.5"'), ("seed", "0.5"),
                                                ("rate_5xx", "1.5"), ("rate_429", "-0.1"), ("status_5xx", "99"),
                                                ("status_5xx", "600"), ("delay_seconds", "-1"),
                                                ("delay_seconds", "1e300"), ("retry_after", "-1"),
                                                ("token_ttl_seconds", "-5"), ("seed", "1e30")])
def test_fault_settings_out_of_range_are_400(sn, setting, value):
    sb, _ = sn
    r = requests.patch(f"{sb.url}/_sandbox/faults", data=f'{{"{setting}": {value}}}', headers=JSON_HEADERS, timeout=10)
    assert r.status_code == 400 and setting in r.json()["error"]["detail"], r.text[:200]


def test_fault_settings_valid_values_still_work(sn):
    sb, s = sn
    try:
        r = requests.patch(f"{sb.url}/_sandbox/faults", timeout=10, json={
            "rate_5xx": "1", "status_5xx": 502, "retry_after": "2", "delay_seconds": 0, "seed": "7", "rate_429": 0})
        assert r.status_code == 200, r.text[:200]
        assert r.json()["rate_5xx"] == 1.0 and r.json()["seed"] == 7 and r.json()["retry_after"] == 2
        assert s.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, timeout=10).status_code == 502
    finally:
        requests.delete(f"{sb.url}/_sandbox/faults", timeout=10)


@pytest.mark.parametrize("setting", ["search_lag_seconds", "empty_page_rate", "captcha_after_failures"])
@pytest.mark.parametrize("value", BAD, ids=BAD_IDS)
def test_jira_fault_switches(jira, setting, value):
    sb, _ = jira
    r = requests.patch(f"{sb.url}/_sandbox/faults", data=f'{{"{setting}": {value}}}', headers=JSON_HEADERS,
                       timeout=10)
    assert r.status_code == 400 and setting in r.json()["errorMessages"][0], r.text[:200]
    assert requests.get(f"{sb.url}/_sandbox/faults", timeout=10).json()[setting] == 0.0


@pytest.mark.parametrize("value", [*BAD, "-1"], ids=[*BAD_IDS, "minus1"])
def test_touch_n(sn, jira, onetrust, value):
    """Before: '٣' touched 3 records, -1 and 1e999 answered 500 (Jira, ServiceNow)."""
    for url, body, words in (
            (f"{sn[0].url}/_sandbox/servicenow/touch", f'{{"table": "incident", "n": {value}}}',
             lambda r: r.json()["error"]["detail"]),
            (f"{jira[0].url}/_sandbox/jira/touch", f'{{"n": {value}}}', lambda r: r.json()["errorMessages"][0]),
            (f"{onetrust[0].url}/_sandbox/touch", f'{{"kind": "vendors", "n": {value}}}',
             lambda r: r.json()["message"])):
        r = requests.post(url, data=body, headers=JSON_HEADERS, timeout=10)
        assert r.status_code == 400, (url, r.status_code, r.text[:200])
        assert words(r).startswith(("n must be", "Bad request: n must be")), (url, r.text[:200])
    r = requests.post(f"{jira[0].url}/_sandbox/jira/touch", json={"n": "2"}, timeout=10)
    assert r.status_code == 200 and len(r.json()["keys"]) == 2


@pytest.mark.parametrize("value", BAD[:-2], ids=BAD_IDS[:-2])
def test_jira_clock_advance(jira, value):
    """Before: NaN or Infinity seconds moved the clock to nowhere (every later date a 500), '٣' by 3 s."""
    sb, _ = jira
    url = f"{sb.url}/_sandbox/jira/clock/advance"
    before = requests.post(url, json={"seconds": 0}, timeout=10).json()["now"]
    r = requests.post(url, data=f'{{"seconds": {value}}}', headers=JSON_HEADERS, timeout=10)
    assert r.status_code == 400 and "seconds must be" in r.json()["errorMessages"][0], r.text[:200]
    assert requests.post(url, json={"seconds": 0}, timeout=10).json()["now"][:16] == before[:16]


@pytest.mark.parametrize("value", ["\u0663", " 3", "3_0", "x", "nan", "inf", "-1"])
def test_waits(slack, drive, value):
    """Before: Slack's wait 'x' was a 500 and 'inf' waited forever; Drive read '٣' as 3 s and 'x' as no wait."""
    r = requests.get(f"{slack[0].url}/_sandbox/event_deliveries", params={"wait": value}, timeout=10)
    assert r.status_code == 400 and r.json()["error"].startswith("wait must be"), r.text[:200]
    r = requests.get(f"{drive[0].url}/_sandbox/gdrive/push", params={"wait": value}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["message"].startswith("wait must be"), r.text[:200]
    assert requests.get(f"{slack[0].url}/_sandbox/event_deliveries", params={"wait": "0.01"}, timeout=10).ok
    assert requests.get(f"{drive[0].url}/_sandbox/gdrive/push", params={"wait": "0"}, timeout=10).ok


@pytest.mark.parametrize("value", ["NaN", "Infinity", '"\u0663"', "-1", '"x"'])
def test_slack_event_delivery_settings(slack, value):
    sb = slack[0]
    before = requests.get(f"{sb.url}/_sandbox/events", timeout=10).json()
    for body in (f'{{"retry_waits": [0, {value}, 1]}}', f'{{"answer_within": {value}}}'):
        r = requests.put(f"{sb.url}/_sandbox/events", data=body, headers=JSON_HEADERS, timeout=10)
        assert r.status_code == 400 and "must be" in r.json()["error"], r.text[:200]
    after = requests.get(f"{sb.url}/_sandbox/events", timeout=10).json()
    assert after["retry_waits"] == before["retry_waits"] and math.isfinite(after["answer_within"])
