"""Helpers for the operations tests: syncs recorded at a chosen time, a live uvicorn server."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime

import uvicorn
from dagster import AssetKey, AssetMaterialization, DagsterEvent, DagsterEventType, MetadataValue
from dagster._core.events import StepMaterializationData
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID

from assets.health.inputs import tracked_tables


@contextmanager
def synced_local_instance(monkeypatch, **env: str):
    """A Dagster instance for the ``local`` environment (no Vault, every connector's flag as the file sets
    it, ``env`` set) in which every connector has just synced."""
    from dagster import instance_for_test

    from resources.environment import ENVIRONMENTS

    monkeypatch.setenv("PROJECTX_ENV", "local")
    for var in ("VAULT_ADDR", "INTEGRATION_SERVICENOW_ENABLED", "INTEGRATION_JIRA_ENABLED",
                "INTEGRATION_ONETRUST_ENABLED"):
        monkeypatch.delenv(var, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with instance_for_test() as inst:
        for connector in ("servicenow", "jira", "onetrust"):
            record_sync(inst, ENVIRONMENTS["local"], connector, datetime.now(UTC))
        yield inst


def record_sync(instance, env, connector: str, at: datetime, duration: float = 12.5, rows: int = 40,
                quarantined: int = 1) -> None:
    """Store a successful sync of every table of ``connector`` as finished at ``at`` (a materialization
    with the figures a real sync reports), as a Dagster run would."""
    for table in tracked_tables(env)[connector]:
        mat = AssetMaterialization(AssetKey([connector, table]), metadata={
            "duration_seconds": MetadataValue.float(duration), "rows_loaded": MetadataValue.int(rows),
            "rows_quarantined": MetadataValue.int(quarantined)})
        instance.report_dagster_event(
            run_id=RUNLESS_RUN_ID, timestamp=at.timestamp(),
            dagster_event=DagsterEvent(event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                                       event_specific_data=StepMaterializationData(mat), job_name=RUNLESS_JOB_NAME))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, **options):
    """Run an ASGI app on a free loopback port in a thread; yields its base URL; stops it after.
    ``options``: more ``uvicorn.Config`` arguments (e.g. the receiver's ``server_options()``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
