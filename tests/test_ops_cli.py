"""Operations from the shell: pause/resume schedules (as the UI's toggle), install Vault roles; and
the schedules' deterministic per-job jitter."""

from __future__ import annotations

import os
import stat

import hvac
from dagster import instance_for_test

from cli.__main__ import main
from resources.environment import ENVIRONMENTS, jitter_minutes


def test_jitter_is_deterministic_distinct_and_within_the_interval():
    env = ENVIRONMENTS["prod"]
    jobs = ["servicenow_incidents_sync", "servicenow_changes_sync", "jira_sync", "onetrust_sync"]
    assert [jitter_minutes(j, 5) for j in jobs] == [jitter_minutes(j, 5) for j in jobs]
    assert all(0 <= jitter_minutes(j, m) < min(m, 60) for j in jobs for m in (5, 15, 30, 360))
    assert len({env.cron_every(15, j) for j in jobs}) > 1, "jobs on one cadence start on different minutes"
    from dagster._utils.schedules import is_valid_cron_schedule

    assert all(is_valid_cron_schedule(env.cron_every(m, j)) for j in jobs for m in (5, 15, 30, 360, 720))


def test_pause_and_resume_schedules_from_the_shell(monkeypatch, capsys):
    with instance_for_test() as instance:
        from cli.schedules import remote_repository, schedule_states

        assert main(["schedules", "resume", "jira_schedule", "integration_health_hourly"]) == 0
        with remote_repository(instance) as repo:
            assert schedule_states(instance, repo)["jira_schedule"] == "RUNNING"
        assert main(["schedules", "pause", "jira_schedule"]) == 0
        with remote_repository(instance) as repo:
            states = schedule_states(instance, repo)
        assert states["jira_schedule"] == "STOPPED" and states["integration_health_hourly"] == "RUNNING"
        assert main(["schedules", "pause", "no_such_schedule"]) == 2
        assert "choose from" in capsys.readouterr().out
        assert main(["schedules", "list"]) == 0
        assert "jira_schedule" in capsys.readouterr().out


def test_vault_setup_writes_role_ids_to_a_private_file(vault, tmp_path, monkeypatch, capsys):
    addr, root, _ = vault
    monkeypatch.setenv("VAULT_ADDR", addr)
    monkeypatch.setenv("VAULT_TOKEN", root)
    out = tmp_path / "roles.env"
    assert main(["vault", "setup", "--env", "stg", "--out", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    values = dict(line.split("=", 1) for line in out.read_text().splitlines())
    assert {"VAULT_SERVICENOW_ROLE_ID", "VAULT_JIRA_SECRET_ID"} <= set(values)
    printed = capsys.readouterr().out
    assert values["VAULT_JIRA_SECRET_ID"] not in printed and root not in printed
    c = hvac.Client(url=addr)
    c.auth.approle.login(role_id=values["VAULT_JIRA_ROLE_ID"], secret_id=values["VAULT_JIRA_SECRET_ID"])
    assert "projectx-stg-jira" in c.lookup_token()["data"]["policies"]
