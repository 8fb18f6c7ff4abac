"""Round 18: the outside attacker on what the Integration Health page, its JSON and ``/metrics`` SHOW.

Every text the page can show (input problems, the Vault line, a flag's problem, each check's message and
figure, the breaker state, the receiver's signing secrets) is filled with markup (``</script><img
onerror>``, SVG, ``javascript:``, CSS ``expression``, quote breakouts), unicode bidi overrides, NUL and
control characters, lone surrogates and a megabyte of padding. The page must stay escaped (checked in
Chromium too: no payload runs, and the CSP itself blocks an inline script), small, valid UTF-8 and free
of bidi/control characters; ``/metrics`` must stay valid for ``promtool`` with no attacker label value;
a credential pasted into a feature flag must never be echoed."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import pytest
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from assets.health import measure
from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import serve, synced_local_instance
from tests.test_health_attacks import _markup
from webhooks.app import create_app
from webhooks.operations.page import SECURITY_HEADERS
from webhooks.operations.state import INPUTS, HealthReader
from webhooks.operations.vault_probe import UNREACHABLE, VaultStatus

LOCAL = ENVIRONMENTS["local"]
PAYLOADS = (
    '</script><img src=x onerror="window.__pwned=1">', "<svg/onload=window.__pwned=2>",
    "javascript:window.__pwned=3", '<div style="width:expression(window.__pwned=4)">',
    "' onmouseover='window.__pwned=5' x='", '" autofocus onfocus="window.__pwned=6" x="',
    "<style>body{display:none}</style>", '<a href="javascript:window.__pwned=7">', "\u202egnp.exe\u202c",
    "\u2066\u2067\u2069\u200f\u200b\ufeff\u2028", "\x00\x01\x1b[31m\x7f\x85", "\ud800\udfff",
)
TOKEN = "xoxb-1234567890-SECRETslacktoken"
HOSTILE = "".join(PAYLOADS) + "A" * 1_000_000 + TOKEN  # a token after a megabyte: past every cut
# What a browser must never get from the data: control characters (but tab/LF/CR of the template), C1,
# zero-width and bidi controls, line/paragraph separators, the BOM.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "small", "span", "p", "b", "div", "ul", "li",
             "table", "thead", "tbody", "tr", "th", "td", "svg", "rect", "line", "polyline", "text"}


class HostileReader(HealthReader):
    """A real health read, then attacker text in every field the page, its JSON and /metrics show."""

    def snapshot(self):
        snap = super().snapshot()
        snap.problems = dict.fromkeys(INPUTS, HOSTILE)
        snap.vault = VaultStatus(UNREACHABLE, None, 3.0, HOSTILE)
        snap.warehouse_note = HOSTILE
        for h in snap.connectors.values():
            h.problems = [HOSTILE]
            h.flag = dataclasses.replace(h.flag, source=HOSTILE)
            h.findings = [dataclasses.replace(f, message=HOSTILE, detail={**f.detail, "state": HOSTILE})
                          for f in h.findings]
        snap.other_secrets = {"slack": measure.Finding("slack", "secret_expiry", HOSTILE, 5 * 86400.0, None, HOSTILE)}
        snap.lag_history = {c: [(snap.now, 1.0), (snap.now, float("nan"))] for c in snap.connectors}
        return snap


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    with synced_local_instance(monkeypatch) as inst:
        yield inst


def _promtool_ok(body: bytes) -> None:
    promtool = require_tool("promtool", "prometheus")
    proc = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def test_attacker_text_in_every_shown_field_is_escaped_bounded_and_clean(instance, duckdb_warehouse):
    reader = HostileReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
        page, as_json, metrics = (client.get(p) for p in ("/integration-health", "/integration-health.json",
                                                          "/metrics"))
    assert (page.status_code, as_json.status_code, metrics.status_code) == (200, 200, 200), page.text[:300]
    html = page.content.decode("utf-8")  # strict: a lone surrogate never reaches the bytes
    assert len(page.content) < 150_000, len(page.content)  # ~25 fields of 1 MB each: each cut to 400 characters
    tags, attrs = _markup(html)
    assert tags <= PAGE_TAGS, tags - PAGE_TAGS
    assert not {a for a in attrs if a.startswith("on") or a in ("href", "src", "autofocus", "xlink:href")}, attrs
    assert not FORBIDDEN.search(html), repr(FORBIDDEN.search(html).group())
    styles = set(re.findall(r'style="([^"]*)"', html))  # CSS the data could steer: only the fixed colours
    assert styles and all(re.fullmatch(r"background:#[0-9a-f]{6}", s) for s in styles), styles
    assert html.count("<style>") == 1 and html.count("<svg") == 3
    assert "&lt;/script&gt;&lt;img" in html and TOKEN not in html  # shown as text; the token is past the cut
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    text = as_json.content.decode("utf-8")
    assert not FORBIDDEN.search(text.replace("\\u", "")) and TOKEN not in text
    body = json.loads(text)
    assert body["status"] == "degraded" and all(len(v) <= 400 for v in body["problems"].values())
    assert len(body["vault"]["message"]) <= 400 and len(as_json.content) < 60_000
    _promtool_ok(metrics.content)
    for needle in (b"pwned", b"onerror", b"<script", b"&lt;", b"\xe2\x80\xae", TOKEN.encode()):
        assert needle not in metrics.content, needle  # no attacker text as a label value
    series = re.findall(r"^(\w+)\{([^}]*)\}", metrics.text, re.M)
    labels = {value for _, body in series for value in re.findall(r'="([^"]*)"', body)}
    assert all(re.fullmatch(r"[\w.+\-]*", v) for v in labels), sorted(v for v in labels if not re.fullmatch(
        r"[\w.+\-]*", v))


@pytest.mark.parametrize("where", ["env", "vault"])
def test_a_credential_pasted_into_a_feature_flag_is_never_echoed(instance, duckdb_warehouse, monkeypatch, where):
    if where == "env":
        monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", TOKEN)
        vault = None
    else:
        class Probe:
            def status(self):
                return VaultStatus("ok", {"integration.jira.enabled": TOKEN}, 1.0, "feature flags as read")
        vault = Probe()
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, vault=vault)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
        got = [client.get(p) for p in ("/integration-health", "/integration-health.json", "/metrics")]
    assert all(r.status_code == 200 for r in got)
    for r in got:
        assert TOKEN not in r.text and "SECRETslack" not in r.text
    assert f"a value of {len(TOKEN)} characters" in got[0].text and "set it to true or false" in got[0].text
    assert json.loads(got[1].text)["status"] == "degraded"


def test_a_mistyped_flag_is_still_quoted(monkeypatch):
    from assets.health.inputs import _flag

    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", "ture")
    flag, problem = _flag("jira", "local")
    assert flag.enabled and "INTEGRATION_JIRA_ENABLED is 'ture'" in problem


def test_table_names_with_quotes_backslashes_and_newlines_stay_valid_prometheus(instance, duckdb_warehouse,
                                                                              monkeypatch):
    """Table names are the code's own today; should one ever come from configuration, the exposition
    escapes it (backslash, quote, newline) rather than breaking the scrape."""
    from webhooks.operations import metrics as metrics_module
    from webhooks.operations import state

    odd = 'inci"dents\\x\n}{evil="1"} 1\n# TYPE'
    tables = {"servicenow": {odd: 15}, "jira": {"issues": 15}, "onetrust": {"assessments": 60}}
    monkeypatch.setattr(state, "tracked_tables", lambda env: tables)
    monkeypatch.setattr(metrics_module, "tracked_tables", lambda env: tables)
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
        response = client.get("/metrics")
    assert response.status_code == 200
    _promtool_ok(response.content)
    assert 'table="inci\\"dents\\\\x\\n}{evil=\\"1\\"} 1\\n# TYPE"' in response.text
    assert not re.search(r'^\S*evil="1"', response.text, re.M)  # never a series of its own


@pytest.mark.slow
def test_no_payload_runs_in_chromium_and_the_csp_blocks_inline_script(instance, duckdb_warehouse):
    chromium = require_tool("/usr/bin/chromium", "chromium")
    from playwright.sync_api import sync_playwright

    reader = HostileReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    app = create_app(operations=reader)
    # The page's own headers over a body that does carry inline script: the CSP alone must stop it.
    probe = ('<!doctype html><p id="p">x</p><script>window.__pwned = "inline"</script>'
             '<img src=x onerror="window.__pwned=\'handler\'"><a id="a" href="javascript:window.__pwned=\'url\'">a</a>')
    app.router.routes.append(Route("/csp-probe", lambda _r: HTMLResponse(probe, headers=SECURITY_HEADERS)))
    app.router.routes.append(Route("/no-csp-probe", lambda _r: HTMLResponse(probe)))  # the probe's control
    args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"]
    with serve(app) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=args)
        try:
            page = browser.new_page()
            dialogs, violations = [], []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{url}/integration-health")
            assert page.locator("tr.connector").count() == 3 and page.locator("#degraded").is_visible()
            for selector in ("th", "td.check", "#vault", ".secret"):  # hover and click what carries the text
                target = page.locator(selector).first
                target.hover()
                target.click()
            page.keyboard.press("Tab")
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None
            assert page.evaluate("document.querySelectorAll('script, img, a, iframe, object, embed').length") == 0
            assert page.evaluate("[...document.querySelectorAll('*')].flatMap(e => [...e.attributes])"
                                 ".filter(a => a.name.startsWith('on')).length") == 0
            assert page.evaluate("getComputedStyle(document.body).display") == "block"  # no injected <style>
            page.goto(f"{url}/csp-probe")
            page.click("#a")
            page.wait_for_timeout(300)
            assert page.evaluate("window.__pwned") is None
            assert violations, "Chromium reported no CSP violation for the inline script"
            assert not dialogs
            page.goto(f"{url}/no-csp-probe")  # without the headers the same body does run: the probe works
            assert page.evaluate("window.__pwned") is not None
        finally:
            browser.close()


@pytest.mark.parametrize("addr, token, hidden", [
    ("http://127.0.0.1:9", "hvs.PASTEDtoken123\n", "PASTEDtoken"),  # a token pasted with its line break
    ("vault.internal.example:8200", "hvs.x", "vault.internal.example"),  # no scheme: requests quoted the URL
    ("http://ops:pw0rdSECRET@vault:notaport", "hvs.x", "pw0rdSECRET"),
])
def test_a_vault_request_that_cannot_be_built_shows_neither_token_nor_address(instance, duckdb_warehouse,
                                                                               monkeypatch, addr, token, hidden):
    """requests' InvalidHeader / InvalidURL / InvalidSchema are ValueErrors quoting the header value or the
    URL; they went up as "ours" and the Vault line showed the token (or the address) on the page."""
    import time

    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
        monkeypatch.setenv("VAULT_ADDR", addr)  # after start-up: the receiver's own secrets stay local
        monkeypatch.setenv("VAULT_TOKEN", token)
        for _ in range(50):  # the flags are read in the background: until that read has failed
            page = client.get("/integration-health")
            if 'data-vault="unreachable"' in page.text:
                break
            time.sleep(0.1)
        as_json = client.get("/integration-health.json")
    assert 'data-vault="unreachable"' in page.text, page.text[-2000:]
    assert "cannot be asked" in page.text and "VAULT_ADDR" in page.text
    for text in (page.text, as_json.text):
        assert hidden not in text and "hvs." not in text
