"""Round 29: what the health page, its JSON and ``/metrics`` let out, from inputs the earlier rounds did not fill.

- Text the Dagster instance holds, some of it a vendor's: a failed run's error (a vendor's error message quoted,
  a Vault token and a vendor password in it), run tags, an asset materialization's partition key and its text
  metadata, an asset check's result and description. None of it may reach the page, the JSON or a label value:
  the page reads only timestamps and figures from Dagster.
- The real Prometheus (not only ``promtool check metrics``) scrapes ``/metrics`` while every text the page
  shows is hostile: the target is up, its samples are stored, no scrape error.
- In Chromium, hostile text that would load something (an image, a stylesheet, a CSS ``url()``, a ``<base>``, a
  meta refresh, a prefetch link) loads nothing: the only request is the page itself (a canary server on
  loopback counts any other).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType, MetadataValue
from dagster._core.events import StepMaterializationData
from dagster._core.storage.dagster_run import DagsterRun, DagsterRunStatus
from starlette.responses import HTMLResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from resources.environment import ENVIRONMENTS
from tests.conftest import require_tool
from tests.ops_helpers import free_port, serve, synced_local_instance
from tests.test_operations_round18_attacks import HostileReader
from webhooks.app import create_app
from webhooks.operations.state import HealthReader

LOCAL = ENVIRONMENTS["local"]
VAULT_TOKEN = "hvs.CAESIround29VaultTokenXYZ"
PASSWORD = "Pr0dVendorPassw0rd!29"
MARK = "r29canary"
PAYLOAD = (f'<script>window.__pwned=1</script><img src=x onerror=alert(1)>"\'{MARK} '
           f"X-Vault-Token: {VAULT_TOKEN} password={PASSWORD}")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def instance(duckdb_warehouse, monkeypatch):
    with synced_local_instance(monkeypatch) as inst:
        yield inst


def _fill_dagster_with_vendor_text(instance) -> None:
    """A failed ServiceNow run quoting a vendor's error, tagged by a sensor with vendor data; a Jira
    materialization with a hostile partition key and text metadata, as a sync would record them."""
    run = DagsterRun(job_name="servicenow_sync", run_id=str(uuid.uuid4()), status=DagsterRunStatus.STARTED,
                     tags={"projectx/correlation_id": PAYLOAD, "dagster/partition": PAYLOAD, MARK: PAYLOAD})
    instance.add_run(run)
    instance.report_run_failed(run, f"ServiceNow answered 401: {PAYLOAD}")
    mat = AssetMaterialization(AssetKey(["jira", "issues"]), partition=PAYLOAD[:200], description=PAYLOAD,
                               metadata={"error": MetadataValue.text(PAYLOAD), "rows_loaded": MetadataValue.int(3),
                                         "duration_seconds": MetadataValue.float(2.0)})
    instance.report_dagster_event(
        run_id=run.run_id, timestamp=datetime.now(UTC).timestamp(),
        dagster_event=DagsterEvent(event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                                   event_specific_data=StepMaterializationData(mat), job_name="jira_sync"))


def test_vendor_text_in_the_dagster_instance_never_reaches_page_json_or_metrics(instance, duckdb_warehouse):
    _fill_dagster_with_vendor_text(instance)
    reader = HealthReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with TestClient(create_app(operations=reader), raise_server_exceptions=False) as client:
        got = {p: client.get(p) for p in ("/integration-health", "/integration-health.json", "/metrics")}
    assert {r.status_code for r in got.values()} == {200}
    body = got["/integration-health.json"].json()
    assert body["connectors"]["jira"]["checks"]["sync_lag"]["light"] == "green"  # the materialization was read
    assert 'integration_rows_synced_total{connector="jira",table="issues"} 43.0' in got["/metrics"].text
    for path, response in got.items():
        # "answered 401" (the failure's own words), not a bare "401": a metric's timestamp may hold those digits
        for needle in (MARK, VAULT_TOKEN, PASSWORD, "hvs.", "__pwned", "answered 401"):
            assert needle not in response.text, (path, needle)


def _prometheus_scrape(target: str, tmp: Path) -> tuple[dict, list]:
    """Run the real Prometheus against ``target`` (host:port) scraping every second; returns the target's
    state once it was scraped, and the integration_status samples stored."""
    prometheus = require_tool("prometheus", "prometheus")
    port = free_port()
    (tmp / "prometheus.yml").write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "projectx", "static_configs": [{"targets": [target]}]}]}))
    proc = subprocess.Popen([prometheus, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'db'}",
                             f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    api = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline, state = time.monotonic() + 20, {}
        while time.monotonic() < deadline:
            time.sleep(0.3)
            try:
                active = json.load(urllib.request.urlopen(f"{api}/targets", timeout=2))["data"]["activeTargets"]
            except OSError:
                continue
            if active and active[0]["health"] != "unknown":
                state = active[0]
                break
        time.sleep(1.5)  # the samples of that scrape become queryable
        samples = json.load(urllib.request.urlopen(f"{api}/query?query=integration_status", timeout=5))
        return state, samples["data"]["result"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_real_prometheus_scrapes_metrics_while_every_shown_text_is_hostile(instance, duckdb_warehouse,
                                                                               tmp_path):
    reader = HostileReader(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    with serve(create_app(operations=reader)) as url:
        state, samples = _prometheus_scrape(url.removeprefix("http://"), tmp_path)
    assert state.get("health") == "up" and not state.get("lastError"), state
    assert sorted(s["metric"]["connector"] for s in samples) == ["jira", "onetrust", "servicenow"], samples


class _Canary(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args):
        pass


@pytest.mark.slow
def test_markup_that_would_load_something_loads_nothing_in_chromium(instance, duckdb_warehouse):
    chromium = require_tool("/usr/bin/chromium", "chromium")
    from playwright.sync_api import sync_playwright

    canary = ThreadingHTTPServer(("127.0.0.1", 0), _Canary)
    threading.Thread(target=canary.serve_forever, daemon=True).start()
    leak = f"http://127.0.0.1:{canary.server_port}"
    loaders = (f'<img src="{leak}/img">', f'<link rel="stylesheet" href="{leak}/css">',
               f'<link rel="prefetch" href="{leak}/prefetch">', f'<div style="background:url({leak}/cssurl)">',
               f'<base href="{leak}/base/">', f'<meta http-equiv="refresh" content="0;url={leak}/refresh">',
               f'<iframe src="{leak}/frame">', f'<object data="{leak}/object">', f'<video poster="{leak}/poster">',
               f"<svg><image href='{leak}/svgimage'/></svg>", f'<form action="{leak}/form"><button id=b>x</button>')

    class Loading(HostileReader):
        def snapshot(self):
            snap = super().snapshot()
            text = "".join(loaders)
            snap.problems = dict.fromkeys(snap.problems, text)
            snap.warehouse_note = text
            for h in snap.connectors.values():
                h.problems = [text]
            return snap

    reader = Loading(instance=instance, warehouse_settings=duckdb_warehouse, env=LOCAL)
    app = create_app(operations=reader)
    # the control: the same markup served raw does load from the canary, so the canary would see a leak
    app.router.routes.append(Route("/raw-probe", lambda _r: HTMLResponse("<!doctype html>" + "".join(loaders[:4]))))
    try:
        with serve(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
            try:
                page = browser.new_page()
                requested = []
                page.on("request", lambda r: requested.append(r.url))
                page.goto(f"{url}/integration-health")
                assert page.locator("tr.connector").count() == 3
                for selector in ("th", "td.check", "#degraded"):
                    page.locator(selector).first.click()
                page.wait_for_timeout(1500)  # a meta refresh of 0 s, a lazy image: time to try
                assert page.url == f"{url}/integration-health"
                assert page.evaluate("window.__pwned") is None
                assert f"{leak}/img" in page.content().replace("&lt;", "<").replace("&quot;", '"')  # shown as text
                seen_by_page = list(requested)
                assert _Canary.hits == [], _Canary.hits
                page.goto(f"{url}/raw-probe")
                page.wait_for_timeout(500)
                assert "/img" in _Canary.hits and "/css" in _Canary.hits, _Canary.hits
            finally:
                browser.close()
    finally:
        canary.shutdown()
    assert [u for u in seen_by_page if not u.startswith(url)] == [], seen_by_page
    assert {u.removeprefix(url) for u in seen_by_page} <= {"/integration-health", "/favicon.ico"}, seen_by_page
