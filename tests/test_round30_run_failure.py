"""Round 30, outside checker: the run failure sensor as the daemon ticks it (its cursor carried from tick
to tick), for on-call: one alert per failed run however many ticks follow, naming the step that failed,
its own error, the connector's runbook and how to rerun; a re-execution from failure that succeeds
raises nothing more.

Slack is a recording stand-in here (``tests/test_notifications_actions.py`` drives the real sandboxes).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    ReexecutionOptions,
    build_sensor_context,
    execute_job,
    in_process_executor,
    instance_for_test,
    job,
    op,
    reconstructable,
)

FLAKY_MARK = "PROJECTX_TEST_ROUND30_FLAKY_MARK"


class RecordingSlack:
    """What ``sensors.run_failure.announce`` uses of the notifications resource and its Slack client."""

    def __init__(self):
        self.posts: list[dict] = []

    def slack(self):
        return self

    def email(self):
        return None

    def user_id(self, email):
        return "U0DEV"

    def find_posted(self, channel, key, oldest=None):
        return any(p["key"] == key for p in self.posts)

    def post(self, channel, text, blocks, key):
        self.posts.append({"channel": channel, "text": text, "blocks": str(blocks), "key": key})


@op
def servicenow_ingest():
    return 1


@op
def jira_ingest(_upstream):
    raise RuntimeError("Jira answered 500 on /rest/api/3/search/jql")


@job(name="full_sync")
def failing_full_sync():
    jira_ingest(servicenow_ingest())


@op
def flaky_onetrust_ingest():
    """Fails while the mark file is absent (and leaves it), so the re-execution from failure succeeds."""
    mark = Path(os.environ[FLAKY_MARK])
    if not mark.exists():
        mark.write_text("failed once")
        raise RuntimeError("OneTrust timed out after 30 s")


@job(name="onetrust_sync", executor_def=in_process_executor)
def flaky_onetrust_sync():
    flaky_onetrust_ingest()


class Daemon:
    """Ticks the sensor as the daemon does: each tick starts from the cursor the previous one left."""

    def __init__(self, sensor, instance):
        self.sensor, self.instance, self.cursor = sensor, instance, None

    def tick(self):
        with build_sensor_context(instance=self.instance, cursor=self.cursor) as context:
            result = self.sensor.evaluate_tick(context)
            self.cursor = context.cursor
        return result


@pytest.fixture
def notifier(monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    from sensors.run_failure import build_run_failure_sensor

    slack = RecordingSlack()
    return build_run_failure_sensor(slack), slack


def test_a_failed_step_is_announced_once_across_ticks_with_its_error_runbook_and_rerun(notifier):
    """full_sync failing in Jira's step: the alert names jira_ingest and Jira's error (not Dagster's
    "Execution of run failed" with step "-"), Jira's runbook RB-003 (not ServiceNow's RB-002, the default
    for a job name that names no vendor), and the command that reruns it; later ticks post nothing."""
    sensor, slack = notifier
    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(sensor, instance)
        daemon.tick()  # the first tick only places the cursor
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False,
                                                      tags={"dagster/partition": "2026-12-06"})
        assert not failed.success
        for _ in range(3):
            daemon.tick()
        assert len(slack.posts) == 1, slack.posts
        [post] = slack.posts
        assert post["channel"] == "#prod-integrations" and post["key"] == f"run-failure-{failed.run_id}"
        assert "Step jira_ingest: RuntimeError: Jira answered 500" in post["blocks"], post["blocks"]
        assert "RB-003" in post["blocks"] and "RB-002" not in post["blocks"]
        assert "Re-execute → From failure" in post["blocks"]
        assert "dagster job execute -m definitions -j full_sync --tags" in post["blocks"]
        assert "dagster/partition" in post["blocks"] and "2026-12-06" in post["blocks"]
        assert failed.run_id in post["blocks"], "the correlation id (the run id when untagged) is shown"


def test_a_re_execution_from_failure_that_succeeds_raises_no_second_alert(notifier, tmp_path, monkeypatch):
    sensor, slack = notifier
    monkeypatch.setenv(FLAKY_MARK, str(tmp_path / "mark"))
    with instance_for_test() as instance:
        daemon = Daemon(sensor, instance)
        daemon.tick()
        with execute_job(reconstructable(flaky_onetrust_sync), instance=instance, raise_on_error=False) as first:
            assert not first.success
        daemon.tick()
        assert len(slack.posts) == 1
        assert "OneTrust timed out" in slack.posts[0]["blocks"] and "RB-004" in slack.posts[0]["blocks"]
        assert "-j onetrust_sync`" in slack.posts[0]["blocks"], "an unpartitioned run's rerun names no partition"
        options = ReexecutionOptions.from_failure(first.run_id, instance)
        with execute_job(reconstructable(flaky_onetrust_sync), instance=instance,
                         reexecution_options=options) as second:
            assert second.success
        daemon.tick()
        daemon.tick()
        assert len(slack.posts) == 1, "a successful rerun is not a failure"


def test_a_backfill_range_is_rerun_from_the_ui_not_a_cli_that_refuses_it():
    """``dagster job execute --partition-range`` refuses jobs with unpartitioned assets (dbt), so a
    failed range names the UI's re-execution only; a single partition's command is one Dagster accepts."""
    import definitions
    from sensors.run_failure import rerun_hint

    hint = rerun_hint("servicenow_incidents_sync", {"dagster/asset_partition_range_start": "2026-12-01",
                                                    "dagster/asset_partition_range_end": "2026-12-05"})
    assert "From failure" in hint and "dagster job execute" not in hint
    job_def = definitions.build_definitions().resolve_job_def("servicenow_incidents_sync")
    job_def.validate_partition_key("2026-12-06", selected_asset_keys=None, context=None)
    assert job_def.get_tags_for_partition_key("2026-12-06", selected_asset_keys=None)["dagster/partition"] == \
        "2026-12-06"


class FlakySlack(RecordingSlack):
    """Slack answering 5xx while ``down``; no SMTP relay configured (``email()`` is None)."""

    down = True

    def post(self, channel, text, blocks, key):
        from resources.slack import SlackDeliveryError

        if self.down:
            raise SlackDeliveryError("Slack answered 503 Service Unavailable")
        super().post(channel, text, blocks, key)


def test_an_announcement_that_could_not_be_delivered_is_retried_until_it_gets_through(monkeypatch):
    """Dagster's run-status cursor moves past a run whatever the sensor did: before round 30 a failure
    announced while Slack was down (and no e-mail fallback worked) was never announced at all."""
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    import definitions
    from sensors.run_failure import ALERT_TAG, build_run_failure_retry_sensor, build_run_failure_sensor

    assert "run_failure_retry" in {s.name for s in definitions.build_definitions().sensors}
    slack = FlakySlack()
    retry = build_run_failure_retry_sensor(slack)

    def retry_tick(instance):
        with build_sensor_context(instance=instance) as context:
            return retry.evaluate_tick(context)

    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(build_run_failure_sensor(slack), instance)
        daemon.tick()
        assert "No failed run" in retry_tick(instance).skip_message
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
        reactions = daemon.tick().dagster_run_reactions
        assert reactions and reactions[0].error is not None, "the tick reports the delivery failure"
        assert instance.get_run_by_id(failed.run_id).tags[ALERT_TAG] == "pending"
        assert "still undeliverable" in retry_tick(instance).skip_message and not slack.posts
        slack.down = False
        daemon.tick()
        assert not slack.posts, "the notifier's cursor has moved on: only the retry can deliver it"
        assert "Announced 1" in retry_tick(instance).skip_message
        assert len(slack.posts) == 1 and "Step jira_ingest" in slack.posts[0]["blocks"]
        assert instance.get_run_by_id(failed.run_id).tags[ALERT_TAG] == "sent"
        retry_tick(instance)
        daemon.tick()
        assert len(slack.posts) == 1, "announced once"


@op
def servicenow_changes_ingest():
    raise RuntimeError("GET https://integration:Hunter2-secret@sn.example/api/now/table/change_request"
                       "?access_token=tok-abc-123 answered 500")


@job(name="servicenow_changes_sync")
def leaky_changes_sync():
    servicenow_changes_ingest()


def test_a_step_error_quoting_a_url_password_or_token_reaches_slack_masked(notifier):
    sensor, slack = notifier
    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(sensor, instance)
        daemon.tick()
        leaky_changes_sync.execute_in_process(instance=instance, raise_on_error=False)
        daemon.tick()
    [post] = slack.posts
    assert "Hunter2-secret" not in str(post) and "tok-abc-123" not in str(post)
    assert "integration:***@sn.example" in post["blocks"] and "access_token=***" in post["blocks"]
    assert "Step servicenow_changes_ingest" in post["blocks"] and "RB-002" in post["blocks"]


def test_the_rerun_command_in_the_alert_is_one_dagster_accepts():
    """The hint once said ``--partition``, an option ``dagster job execute`` does not have ("No such option"):
    the command is parsed by Dagster's own CLI, and the partition reaches the run as its tag."""
    import json
    import re
    import shlex

    from dagster._cli.job import job_execute_command

    from sensors.run_failure import rerun_hint

    hint = rerun_hint("full_sync", {"dagster/partition": "2026-12-06"})
    command = re.search(r"`(dagster job execute [^`]+)`", hint).group(1)
    args = shlex.split(command)[3:]
    ctx = job_execute_command.make_context("execute", args)
    assert ctx.params["job_name"] == "full_sync"
    assert json.loads(ctx.params["tags"]) == {"dagster/partition": "2026-12-06"}
