"""Secrets only from Vault, and nowhere else: a ServiceNow sync in prod reads its credentials with its
own AppRole, a rotation is audited, a refused credential fails the run; then every log line, the
Dagster event log (run metadata, tags, step failures and compute logs included), the audit log, the
warehouse and dlt's files are searched for the secrets the test set, and none is found. The run's
correlation id reaches the vendor as a header, the run's log and the audit log."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, instance_for_test, materialize
from dagster._serdes import serialize_value

from resources import vault_setup
from resources.audit import CORRELATION_TAG
from resources.secret_rotation import rotate
from resources.secrets import SecretStore

pytestmark = pytest.mark.slow


def test_secrets_never_leak_and_correlation_ids_flow(vault, make_servicenow_sandbox, duckdb_warehouse,
                                                      monkeypatch, tmp_path, caplog):
    from dagster_dlt import DagsterDltResource

    from assets.health.checks import integration_health
    from assets.servicenow import build_servicenow_assets
    from resources.servicenow import ServiceNowResource
    from resources.warehouse import WarehouseResource

    addr, root, client = vault
    secret, password = f"sn-secret-{uuid.uuid4().hex}", f"sn-pass-{uuid.uuid4().hex}"
    sandbox = make_servicenow_sandbox(size=30, client_secret=secret, password=password)
    client.secrets.kv.v2.create_or_update_secret(path="integrations/prod/servicenow", mount_point="secret", secret={
        "base_url": sandbox.url, "client_id": sandbox.credentials.client_id, "client_secret": secret,
        "username": sandbox.credentials.username, "password": password})
    roles = vault_setup.install(client, "prod")
    for name in ("SERVICENOW_BASE_URL", "SERVICENOW_OAUTH_CLIENT_ID", "SERVICENOW_OAUTH_CLIENT_SECRET",
                 "SERVICENOW_USER", "SERVICENOW_PASSWORD", "VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_SERVICENOW_ROLE_ID", roles["servicenow"]["role_id"])
    monkeypatch.setenv("VAULT_SERVICENOW_SECRET_ID", roles["servicenow"]["secret_id"])
    if sandbox.ca_bundle:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_bundle))
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")  # loopback only
    resources = {"dlt": DagsterDltResource(), "servicenow": ServiceNowResource(vault_prefix="integrations/prod",
                                                                                backoff_base_seconds=0.0),
                 "warehouse": WarehouseResource.from_env()}
    incidents = [AssetKey(["servicenow", "incidents"])]
    correlation_id = f"corr-{uuid.uuid4().hex[:12]}"
    from assets.ingestion import current_partition_key

    (tmp_path / "dagster").mkdir()
    with instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        ok = materialize(build_servicenow_assets(), selection=incidents, instance=instance, resources=resources,
                         partition_key=current_partition_key(), tags={CORRELATION_TAG: correlation_id})
        assert ok.success  # the credentials came from Vault through the servicenow AppRole
        vendor_calls = [r for r in sandbox.request_log if r["path"].startswith("/api/now/table/incident")]
        assert vendor_calls and all(r["correlation_id"] == correlation_id for r in vendor_calls)

        operator = SecretStore("integrations/prod", vault_addr=addr, vault_token=root)
        wrong = {k: f"{k}-wrong-{uuid.uuid4().hex}" for k in ("client_secret", "password")}
        with WarehouseResource.from_env().connect() as conn:
            from resources.audit import record_event

            for key, value in wrong.items():
                rotate(operator, "servicenow", key, value, correlation_id=correlation_id,
                       record=lambda **kw: record_event(conn, **kw))
        failed = materialize(build_servicenow_assets(), selection=incidents, instance=instance, resources=resources,
                             partition_key=current_partition_key(), raise_on_error=False)
        assert not failed.success
        failure = next(e for e in failed.all_events if e.is_step_failure)
        error_text = failure.step_failure_data.error.to_string()
        assert "refused" in error_text or "401" in error_text, error_text
        assert materialize([integration_health], instance=instance, resources=resources).success

        records = [serialize_value(e) for run in instance.get_runs() for e in instance.all_logs(run.run_id)]
        records += [serialize_value(run) for run in instance.get_runs()]
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        audit = con.execute("select * from audit.events").fetchall()
        expiry = con.execute("select light, value / 86400 from ops.health_checks where connector = 'servicenow' "
                             "and check_name = 'secret_expiry'").fetchall()
    assert expiry and expiry[0][0] == "green" and 29 < expiry[0][1] <= 30  # client secret: 30 days from rotation
    assert any(r[2] == correlation_id and r[3] == "pull" for r in audit), audit
    assert sum(r[3] == "secret" and r[4] == "rotate" for r in [(x[0], x[1], x[2], x[3], x[5]) for x in audit]) == 2
    assert any(correlation_id in r and "sync starting" in r for r in records)  # the run's log line

    needles = [secret, password, root, roles["servicenow"]["secret_id"], *wrong.values()]
    places = {"python logs": caplog.text, "dagster event log and runs": "\n".join(records),
              "exception text": error_text, "audit log": repr(audit)}
    for path in [Path(duckdb_warehouse.duckdb_path).parent, tmp_path / "dagster"]:
        for file in (p for p in path.rglob("*") if p.is_file()):
            places[str(file)] = file.read_bytes().decode("latin-1")
    assert len(places) > 6
    leaks = [(where, n[:12]) for where, text in places.items() for n in needles if n in text]
    assert not leaks, f"secrets found in: {leaks}"
