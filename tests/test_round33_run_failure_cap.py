"""Round 33: a run failure announcement Slack keeps refusing for now (5xx, no e-mail route) is tried at most
MAX_ATTEMPTS times in all (spec 2.5: at most 6), then dead-lettered on the run: tagged failed with the count and
the last error. Before, it stayed pending and was tried every 5 minutes for ever, and with more than 20 such runs
the older ones were never looked at again."""

from __future__ import annotations

from dagster import DagsterInstance, build_sensor_context

from tests.test_round30_run_failure import Daemon, FlakySlack, failing_full_sync


def test_an_announcement_slack_keeps_failing_is_given_up_after_six_attempts_with_its_reason(monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    from sensors import run_failure as rf

    slack = FlakySlack()
    retry = rf.build_run_failure_retry_sensor(slack)
    with DagsterInstance.ephemeral() as instance:
        daemon = Daemon(rf.build_run_failure_sensor(slack), instance)
        daemon.tick()
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
        daemon.tick()
        tags = instance.get_run_by_id(failed.run_id).tags
        assert (tags[rf.ALERT_TAG], tags[rf.ATTEMPTS_TAG]) == (rf.PENDING, "1")
        messages = []
        for _ in range(rf.MAX_ATTEMPTS + 2):
            with build_sensor_context(instance=instance) as context:
                messages.append(retry.evaluate_tick(context).skip_message)
        tags = instance.get_run_by_id(failed.run_id).tags
        assert tags[rf.ALERT_TAG] == rf.FAILED, tags  # before: pending for ever
        assert tags[rf.ATTEMPTS_TAG] == str(rf.MAX_ATTEMPTS)
        reason = tags[rf.ALERT_ERROR_TAG]
        assert reason.startswith(f"not delivered after {rf.MAX_ATTEMPTS} attempts: ") and "Slack answered 503" in reason
        assert sum("still undeliverable" in m for m in messages) == rf.MAX_ATTEMPTS - 2
        assert "given up" in messages[rf.MAX_ATTEMPTS - 2]
        assert all("No failed run" in m for m in messages[rf.MAX_ATTEMPTS - 1:])
        assert not slack.posts


def test_a_run_tagged_pending_before_the_count_existed_counts_as_one_attempt(monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    from sensors import run_failure as rf

    slack = FlakySlack()
    with DagsterInstance.ephemeral() as instance:
        failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
        instance.add_run_tags(failed.run_id, {rf.ALERT_TAG: rf.PENDING})  # no attempts tag: an older deployment
        with build_sensor_context(instance=instance) as context:
            rf.build_run_failure_retry_sensor(slack).evaluate_tick(context)
        assert instance.get_run_by_id(failed.run_id).tags[rf.ATTEMPTS_TAG] == "2"
        slack.down = False
        with build_sensor_context(instance=instance) as context:
            assert "Announced 1" in rf.build_run_failure_retry_sensor(slack).evaluate_tick(context).skip_message
        assert instance.get_run_by_id(failed.run_id).tags[rf.ALERT_TAG] == rf.SENT and len(slack.posts) == 1
