"""End to end: full_sync against the vendor sandboxes sends the cycle's notifications to the Slack sandbox
(one #alerts-servicenow P1 summary, one DM per task owner with a working deep link), and nothing the
second time unless something new happened."""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest
from dagster import AssetKey, DagsterInstance

from resources.warehouse import WarehouseResource
from tests.notify_helpers import delivery_env


def _run_full_sync(instance: DagsterInstance):
    import definitions
    from assets.ingestion import LIVE_SYNC_TAG, current_partition_key

    job = definitions.build_definitions().resolve_job_def("full_sync")
    result = job.execute_in_process(instance=instance, partition_key=current_partition_key(),
                                    tags={LIVE_SYNC_TAG: "true"}, raise_on_error=False)
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    return result


@pytest.mark.slow
def test_full_cycle_sends_p1_summary_and_owner_dms_once(vendors, duckdb_warehouse, make_slack_sandbox,
                                                         make_smtp_sandbox, monkeypatch, tmp_path):
    sn, _, _ = vendors(size=200)
    slack = make_slack_sandbox()
    smtp = make_smtp_sandbox(username="mailer", password="pw", starttls=True)
    delivery_env(monkeypatch, slack, smtp)
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    # prod routes; the sandboxes' credentials come from the environment here, not Vault (prod reads Vault only)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    monkeypatch.setenv("PROJECTX_EMAIL_BRIDGE_DB", str(tmp_path / "bridge.sqlite"))
    for user in sn.records("sys_user"):  # the same people in both systems, matched by e-mail
        if user.get("email"):
            slack.add_user(user["email"], user.get("name"))

    with DagsterInstance.ephemeral() as instance:
        _run_full_sync(instance)
        with WarehouseResource.from_env().connect() as conn:
            owners = conn.scalar("select count(distinct assignee_id) from marts.tasks where status = 'open' "
                                 "and source_system = 'servicenow' and assignee_id is not null")
            p1 = conn.scalar("select count(*) from staging.stg_servicenow__incidents "
                             "where priority = 1 and not is_deleted")
        summaries = [m for m in slack.messages("alerts-servicenow") if "New P1 incidents" in m["text"]]
        assert len(summaries) == 1 and p1 > 1
        assert f"New P1 incidents: {p1} new" in summaries[0]["text"]
        dms = [m for m in slack.messages() if m["channel"].startswith("D")]
        assert owners > 1 and len(dms) == owners == len({m["channel"] for m in dms})
        links = re.findall(r"https?://[^'|>\" ]+/incident\.do\?sys_id=[0-9a-f]+", str([m["blocks"] for m in dms]))
        assert links, "every task DM carries a deep link to its record"
        link = links[0]
        assert link.startswith(sn.url + "/incident.do?sys_id=")
        # the deep link opens the record for a signed-in person (one who is not is sent to /login.do)
        signed_in = urllib.request.Request(link, headers={"Authorization": "Basic " + base64.b64encode(
            f"{sn.credentials.username}:{sn.credentials.password}".encode()).decode()})
        with urllib.request.urlopen(signed_in, timeout=10) as page:
            assert page.status == 200 and b"INC" in page.read()
        event = instance.get_latest_materialization_event(AssetKey(["notifications", "slack_dms"]))
        slack_dms = event.asset_materialization.metadata
        assert slack_dms["sent"].value == owners and slack_dms["backlog"].value == 0
        before_slack, before_mail = len(slack.messages()), len(smtp.messages())

        _run_full_sync(instance)  # nothing new happened at the vendors
        assert len(slack.messages()) == before_slack and len(smtp.messages()) == before_mail
