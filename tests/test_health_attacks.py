"""The operational surfaces under attack: the Integration Health page, its JSON and ``/metrics`` with
hostile text in what they show, with each input broken (warehouse missing, damaged, of another shape;
Dagster storage gone; inbox damaged; a flag set to nonsense), with odd methods, paths and headers, and
with an attacker varying paths to grow the metrics' label sets. Every answer is escaped, carries the
security headers, is fast, names the fix when something is down, and never a 500."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from datetime import UTC, datetime

import duckdb
import pytest
import uvicorn
from dagster import AssetKey, AssetMaterialization, MetadataValue
from starlette.applications import Starlette
from starlette.testclient import TestClient

from assets.health import history, measure
from resources.environment import ENVIRONMENTS
from resources.warehouse import WarehouseResource
from tests.conftest import require_tool
from tests.ops_helpers import free_port, synced_local_instance
from webhooks.app import create_app
from webhooks.operations import operations_routes
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]
HOSTILE = '"><img src=x onerror=alert(1)><script>alert(2)</script><a href="javascript:alert(3)">x</a>'
SECRET = "s3cr3t-webhook-value-7d1e"
PAGES = ("/integration-health", "/integration-health.json", "/metrics")


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    with synced_local_instance(monkeypatch, JIRA_WEBHOOK_SECRET=SECRET) as inst:
        yield inst


def _client(reader: HealthReader) -> TestClient:
    return TestClient(create_app(operations=reader), raise_server_exceptions=False)


def _get_all(reader: HealthReader) -> dict[str, object]:
    """Each operations page, asserting it answers 200 within 5 s; path -> response."""
    out = {}
    with _client(reader) as client:
        for path in PAGES:
            started = time.monotonic()
            response = client.get(path)
            elapsed = time.monotonic() - started
            assert response.status_code == 200, (path, response.status_code, response.text[:500])
            assert elapsed < 5, (path, elapsed)
            assert "Traceback" not in response.text
            out[path] = response
    return out


def _promtool_ok(body: bytes) -> None:
    promtool = require_tool("promtool", "prometheus")
    proc = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()


def _input_up(metrics_text: str) -> dict[str, float]:
    return {m[1]: float(m[2]) for m in re.finditer(r'^integration_health_input_up\{input="(\w+)"\} (\S+)$',
                                                   metrics_text, re.M)}


PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "small", "span", "p", "b", "div", "ul", "li",
             "table", "thead", "tbody", "tr", "th", "td", "svg", "rect", "line", "polyline", "text"}


def _markup(html: str) -> tuple[set[str], set[str]]:
    """The element and attribute names a browser would build from the page."""
    from html.parser import HTMLParser

    tags, attrs = set(), set()

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attributes):
            tags.add(tag)
            attrs.update(name for name, _ in attributes)

    Collect().feed(html)
    return tags, attrs


def _store_hostile_rows(settings) -> None:
    """What the warehouse can hold that the page shows: stored check messages, breaker states, vendors."""
    from assets.reverse_sync.engine import ensure_tables

    with WarehouseResource.from_env().connect() as conn:
        ensure_tables(conn)
        now = datetime.now(UTC)
        long_text = HOSTILE + "A" * 200_000
        findings = [measure.Finding("jira", "secret_expiry", "yellow", 20 * 86400.0, 30 * 86400.0, long_text),
                    measure.Finding("slack", "secret_expiry", "purple", float("nan"), None, HOSTILE),
                    measure.Finding("jira", "sync_lag", "green", 1.0, 1.0, HOSTILE, {"lag_ratio": "<b>x</b>"})]
        history.record(conn, "local", findings, now, trigger=HOSTILE)
        conn.execute("insert into ops.health_checks values (now(), 'local', 'onetrust', 'sync_lag', 'green', 1, 1, "
                     "'x', '{not json', '')")
        conn.execute("insert into reverse_sync.circuit_breakers values ('jira', %s, 0, null, %s, now()), "
                     "('servicenow', 'open', 5, now(), null, now())", (HOSTILE + "B" * 5000, HOSTILE))
        conn.execute("insert into reverse_sync.dead_letters values (%s, 'r-1', 'upsert', '{}', %s, 5, now(), now())",
                     ('evil"\n{x="1}\\', HOSTILE))


def test_hostile_warehouse_text_is_escaped_bounded_and_valid(instance, duckdb_warehouse):
    _store_hostile_rows(duckdb_warehouse)
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    got = _get_all(reader)
    html = got["/integration-health"].text
    tags, attrs = _markup(html)
    assert tags <= PAGE_TAGS, tags - PAGE_TAGS  # no <script>, <img>, <a> from the data
    assert not {a for a in attrs if a.startswith("on") or a in ("href", "src")}, attrs
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html  # shown, as text
    assert len(html) < 60_000, "a 200 kB vendor message must not be copied whole into the page"
    assert 'data-connector="jira"' in html and html.count('class="connector"') == 3
    body = got["/integration-health.json"].json()
    assert body["connectors"]["servicenow"]["checks"]["circuit_breaker"]["light"] == "red"
    assert all(len(c["message"]) <= 400 for h in body["connectors"].values() for c in h["checks"].values())
    metrics = got["/metrics"].content
    _promtool_ok(metrics)
    assert b"evil" not in metrics and b"onerror" not in metrics  # vendor text never becomes a label value


@pytest.mark.parametrize("value", ["<script>alert(1)</script>", "maybe", "\udcff\udcfe not utf-8"])
def test_a_nonsense_flag_degrades_instead_of_failing(instance, duckdb_warehouse, monkeypatch, value):
    monkeypatch.setenv("INTEGRATION_JIRA_ENABLED", value)
    got = _get_all(HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL))
    html = got["/integration-health"].content.decode("utf-8")  # valid UTF-8 even from invalid bytes
    assert "INTEGRATION_JIRA_ENABLED" in html and "set it to true or false" in html
    assert "<script>alert" not in html
    body = json.loads(got["/integration-health.json"].content.decode("utf-8"))
    assert body["status"] == "degraded" and "INTEGRATION_JIRA_ENABLED" in body["problems"]["flags"]
    assert _input_up(got["/metrics"].text)["flags"] == 0


def test_security_headers_and_no_secret_or_path(instance, duckdb_warehouse):
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    got = _get_all(reader)
    page = got["/integration-health"]
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp and "script-src" not in csp
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "no-store" in page.headers["cache-control"]
    assert got["/integration-health.json"].headers["x-content-type-options"] == "nosniff"
    assert got["/metrics"].headers["x-content-type-options"] == "nosniff"
    for response in got.values():
        assert SECRET not in response.text
        assert duckdb_warehouse.duckdb_path not in response.text  # no warehouse file yet: named by its setting
        assert str(duckdb_warehouse.data_dir) not in response.text
    assert "PROJECTX_DUCKDB_PATH" in page.text


def _break_warehouse(how: str, settings) -> str:
    """Leave the warehouse broken one way; returns a word the page must show."""
    path = settings.duckdb_path
    if how == "missing":
        return "no warehouse file yet"
    if how == "damaged":
        with open(path, "wb") as f:
            f.write(b"not a duckdb file " * 4096)
        return "not a valid DuckDB database"
    with duckdb.connect(path) as con:  # "other shape": a table this version cannot read
        con.execute("create schema reverse_sync; create table reverse_sync.dead_letters (x int)")
    return "health tables cannot be read"


@pytest.mark.parametrize("how", ["missing", "damaged", "other shape"])
def test_a_broken_warehouse_is_a_degraded_page_naming_the_fix(instance, duckdb_warehouse, how):
    word = _break_warehouse(how, duckdb_warehouse)
    got = _get_all(HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL))
    html = got["/integration-health"].text
    assert 'id="degraded"' in html and word in html, html[:3000]
    assert 'data-status="degraded"' in html
    assert duckdb_warehouse.duckdb_path not in html
    body = got["/integration-health.json"].json()
    assert body["status"] == "degraded" and word in body["problems"]["warehouse"]
    up = _input_up(got["/metrics"].text)
    assert up["warehouse"] == 0 and up["dagster"] == 1
    assert body["connectors"]["jira"]["checks"]["sync_lag"]["light"] == "green"  # Dagster is still read
    _promtool_ok(got["/metrics"].content)


class _DownInstance:
    """A Dagster instance whose storage is gone (a database that refuses every query)."""

    def __getattr__(self, name):
        def fail(*_a, **_k):
            raise ConnectionRefusedError("storage at postgresql://dagster:hunter2@10.0.0.9/dagster refused")
        return fail


def test_dagster_storage_down_is_degraded_not_500(duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    got = _get_all(HealthReader(instance=_DownInstance(), warehouse_settings=duckdb_warehouse, env=LOCAL))
    for response in got.values():
        assert "hunter2" not in response.text and "10.0.0.9" not in response.text
    body = got["/integration-health.json"].json()
    assert body["status"] == "degraded" and "DAGSTER_HOME" in body["problems"]["dagster"]
    assert all(c["checks"]["sync_lag"]["light"] == "unknown" for c in body["connectors"].values())
    assert "DAGSTER_HOME" in got["/integration-health"].text
    assert _input_up(got["/metrics"].text)["dagster"] == 0
    _promtool_ok(got["/metrics"].content)


def test_dagster_home_missing_is_degraded_not_500(duckdb_warehouse, monkeypatch, tmp_path):
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "no-such-dir"))
    got = _get_all(HealthReader(warehouse_settings=duckdb_warehouse, env=LOCAL))
    assert "DAGSTER_HOME" in got["/integration-health.json"].json()["problems"]["dagster"]


def test_a_damaged_inbox_names_its_setting(instance, duckdb_warehouse, monkeypatch, tmp_path):
    bad = tmp_path / "inbox.sqlite3"
    bad.write_bytes(b"garbage " * 4096)
    monkeypatch.setenv("PROJECTX_WEBHOOK_INBOX", str(bad))
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    # only the operations routes: a receiver would refuse to start on a damaged inbox, as it should
    with TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False) as client:
        page, body, metrics = (client.get(p) for p in PAGES)
    assert {page.status_code, body.status_code, metrics.status_code} == {200}
    assert "PROJECTX_WEBHOOK_INBOX" in body.json()["problems"]["inbox"]
    assert body.json()["connectors"]["jira"]["checks"]["webhook_backlog"]["light"] == "unknown"
    assert "PROJECTX_WEBHOOK_INBOX" in page.text and str(bad) not in page.text
    assert _input_up(metrics.text)["inbox"] == 0


def test_odd_materialization_figures_do_not_break_metrics(instance, duckdb_warehouse):
    for rows, duration in ((-5, "NaN"), ("lots", "abc"), (float("inf"), -1.0)):
        instance.report_runless_asset_event(AssetMaterialization(AssetKey(["jira", "issues"]), metadata={
            "rows_loaded": MetadataValue.text(str(rows)), "duration_seconds": MetadataValue.text(str(duration))}))
    got = _get_all(HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL))
    _promtool_ok(got["/metrics"].content)


def test_methods_query_strings_and_attacker_paths_keep_labels_bounded(instance, duckdb_warehouse):
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with _client(reader) as client:
        first = _series(client.get("/metrics").text)
        assert 'integration_rows_synced_total{connector="jira",table="issues"}' in first  # on the first scrape
        client.post("/api/integrations/jira/webhook", content=b"{}")  # opens the inbox: its figures are known
        before = _series(client.get("/metrics").text)
        assert client.head("/integration-health").status_code == 200
        for method in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH"):
            r = client.request(method, "/integration-health")
            assert r.status_code == 405 and "GET" in r.headers["allow"], method
            assert client.request(method, "/metrics").status_code == 405
        r = client.get("/integration-health?connector=<script>alert(1)</script>&" + "x=1&" * 500)
        assert r.status_code == 200 and "<script>alert(1)" not in r.text
        for i in range(200):
            client.post(f"/api/integrations/vendor{i}/webhook", content=b"{}")
            client.get(f"/integration-health/{i}")
            client.post(f"/metrics/{i}")
            client.post("/api/integrations/jira/webhook", content=b"{}",
                        headers={"x-atlassian-webhook-identifier": f"id-{i}", "x-hub-signature": f"sha256={i}"})
        after = _series(client.get("/metrics").text)
    grown = {name for name in after if name not in before}
    assert len(grown) <= 10, sorted(grown)[:20]  # the jira endpoint's failure reasons, not one per request
    assert not any("vendor1" in s or "id-1" in s for s in after)


def _series(text: str) -> set[str]:
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        chunks = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            chunks.append(data)
        return b"".join(chunks)


def test_raw_traversal_and_huge_headers_on_the_served_app(instance, duckdb_warehouse):
    """As ``python -m webhooks`` serves it (uvicorn with the receiver's head bounds), over a real socket."""
    import threading

    from webhooks.receiver.server import server_options

    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(operations=reader), host="127.0.0.1", port=port,
                                           log_level="warning", **server_options()))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        for path in (b"/integration-health/../../../../etc/passwd", b"/integration-health/%2e%2e/%2e%2e/etc/passwd",
                     b"/..%2f..%2fetc%2fpasswd", b"/metrics/../../etc/passwd"):
            answer = _raw(port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert answer.startswith(b"HTTP/1.1 404"), (path, answer[:200])
            assert b"root:" not in answer
        big = b"GET /integration-health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"
        assert _raw(port, big).startswith(b"HTTP/1.1 431")
        ok = _raw(port, b"GET /integration-health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200") and b"content-security-policy" in ok.lower()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.contextmanager
def silent_vault(monkeypatch, timeout: str = "1"):
    """VAULT_ADDR at a loopback socket that accepts connections and never answers (reads time out at 1 s),
    with the flags' cache empty."""
    from resources import flags

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        monkeypatch.setenv("VAULT_ADDR", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.setenv("VAULT_TOKEN", "t")
        monkeypatch.setenv("VAULT_TIMEOUT_SECONDS", timeout)
        monkeypatch.setattr(flags, "_VAULT_CACHE", {})
        yield


def test_a_vault_that_never_answers_stalls_the_page_only_briefly(instance, duckdb_warehouse, monkeypatch):
    """A Vault that accepts connections and never answers (hvac waits 30 s by default) while the page
    reads the feature flags from it: each read is bounded by VAULT_TIMEOUT_SECONDS (default 5), and the
    page does not wait for it (the next test)."""
    from resources.vault_auth import vault_timeout

    assert vault_timeout() == 5.0
    with silent_vault(monkeypatch):
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
        # the operations routes alone: the receiver itself refuses to start without its Vault secrets
        with TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False) as client:
            started = time.monotonic()
            response = client.get("/integration-health.json")
            elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 4, elapsed
    assert response.json()["connectors"]["jira"]["enabled"] is True  # the file's value stands


def _timed(client: TestClient, path: str):
    """``path``'s answer, asserting 200 well within Vault's 3-s timeout (a page that waited for Vault takes at
    least that; the margin is for a loaded CI machine, where a page has taken 1.5 s)."""
    started = time.monotonic()
    response = client.get(path)
    elapsed = time.monotonic() - started
    assert response.status_code == 200 and elapsed < 2.5, (path, elapsed)
    return response


def test_a_vault_that_never_answers_never_holds_a_page_request(instance, duckdb_warehouse, monkeypatch):
    """The flags' Vault read runs in the background: against a Vault that accepts connections and never
    answers, every request answers before Vault's timeout, Vault shows as checking and then unreachable once
    the read timed out, and when the flags are due again one new read starts while pages go on at once."""
    from webhooks.operations.vault_probe import VaultProbe

    skew = [0.0]
    probe = VaultProbe("local", clock=lambda: time.monotonic() + skew[0])
    with silent_vault(monkeypatch, timeout="3"):
        reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, vault=probe)
        with TestClient(Starlette(routes=operations_routes(reader)), raise_server_exceptions=False) as client:
            first = _timed(client, "/integration-health.json").json()
            assert first["vault"]["state"] == "checking" and "vault" not in first["problems"]
            assert first["connectors"]["jira"]["enabled"] is True  # the file's value meanwhile
            deadline = time.monotonic() + 10
            while probe.status().state != "unreachable":
                assert time.monotonic() < deadline, probe.status()
                time.sleep(0.05)
            page = _timed(client, "/integration-health").text
            assert 'data-vault="unreachable"' in page and '<li data-input="vault"><b>Vault</b>' in page
            answer = _timed(client, "/integration-health.json").json()
            assert answer["status"] == "degraded" and "VAULT_ADDR" in answer["problems"]["vault"]
            assert _input_up(_timed(client, "/metrics").text)["vault"] == 0
            assert "t" not in answer["problems"]["vault"].split()  # never the token
            skew[0] += 31  # the flags are due again: one new read in the background, the pages go on at once
            for _ in range(5):
                assert _timed(client, "/integration-health.json").json()["vault"]["state"] == "unreachable"
    assert probe.probes == 2


def test_the_flags_last_read_from_vault_are_served_with_their_age_while_read_again(instance, duckdb_warehouse,
                                                                                  monkeypatch):
    """A read in flight does not hide what Vault said last: its flags stand, marked stale with their age,
    and no second read starts beside it."""
    import threading

    from webhooks.operations.page import render
    from webhooks.operations.vault_probe import VaultProbe

    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # never contacted: the read is injected
    monkeypatch.delenv("VAULT_TIMEOUT_SECONDS", raising=False)
    gate, calls = threading.Event(), []

    def read(env_name: str) -> dict[str, str]:
        calls.append(env_name)
        if len(calls) > 1:
            gate.wait(10)  # the second read hangs until released
        return {"integration.jira.enabled": "false"}

    skew = [0.0]
    probe = VaultProbe("local", read=read, clock=lambda: time.monotonic() + skew[0])
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL, vault=probe)
    snap = reader.snapshot()  # the first request waits a moment for a Vault that answers at once
    assert snap.vault.state == "ok" and snap.connectors["jira"].flag.source == "Vault"
    assert not snap.connectors["jira"].flag.enabled
    skew[0] += 40
    try:
        for _ in range(3):
            snap = reader.snapshot()
            assert snap.vault.state == "stale" and snap.vault.age_seconds >= 40, snap.vault
            assert not snap.connectors["jira"].flag.enabled and "vault" not in snap.problems
        assert re.search(r'data-vault="stale" data-age="4\d"', render(snap))
        assert calls == ["local", "local"]
    finally:
        gate.set()
    deadline = time.monotonic() + 5
    while probe.status().state != "ok":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert probe.status().age_seconds < 5 and len(calls) == 2


def test_a_read_that_never_finishes_is_left_behind_and_another_starts(monkeypatch):
    """VAULT_TIMEOUT_SECONDS bounds each socket read, so a Vault trickling bytes could hold the one read
    allowed in flight for ever. After ABANDON_AFTER timeouts that read is left behind (its late answer
    ignored) and a new one starts; at most MAX_ABANDONED are left at a time."""
    import threading

    from webhooks.operations import vault_probe
    from webhooks.operations.vault_probe import VaultProbe

    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:9")  # never contacted: the read is injected
    monkeypatch.setenv("VAULT_TIMEOUT_SECONDS", "1")
    gate, calls = threading.Event(), []

    def read(env_name: str) -> dict[str, str]:
        calls.append(env_name)
        n = len(calls)
        gate.wait(10)  # every read is stuck until released
        # the ones left behind answer too late to count; the last one, never left behind, does count
        return {"integration.jira.enabled": "stuck" if n <= vault_probe.MAX_ABANDONED else "false"}

    def started(count: int) -> bool:
        """Whether ``count`` reads have started (a new thread may take a moment on a busy machine)."""
        deadline = time.monotonic() + 5
        while len(calls) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(calls) == count

    skew = [0.0]
    probe = VaultProbe("local", read=read, clock=lambda: time.monotonic() + skew[0])
    try:
        assert probe.status().state == "checking" and started(1)
        skew[0] += 2.5  # past 2 timeouts (a login and a read): unreachable, and still the one read
        assert probe.status().state == "unreachable" and len(calls) == 1
        for n in range(vault_probe.MAX_ABANDONED):
            skew[0] += vault_probe.ABANDON_AFTER + 1
            status = probe.status()
            assert status.state == "unreachable" and "did not finish a read" in status.message, status
            assert started(n + 2)  # the stuck read left behind, a new one started
        skew[0] += vault_probe.ABANDON_AFTER + 1
        probe.status()
        time.sleep(0.2)
        assert started(vault_probe.MAX_ABANDONED + 1)  # no more threads left behind than that
    finally:
        gate.set()
    deadline = time.monotonic() + 5
    while probe.status().state == "unreachable" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = probe.status()
    assert status.state == "ok" and status.flags == {"integration.jira.enabled": "false"}, status
