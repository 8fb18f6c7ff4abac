"""Round 32: a run failure announcement whose route has no e-mail at all, through the SMTP and Slack sandboxes.

Before, a run_failure route without an e-mail (and Slack not configured or refusing) raised a plain
EmailDeliveryError "set SMTP_HOST" although SMTP was set: the run stayed ``pending`` and the retry sensor tried it
every 5 minutes for ever, with a reason naming the wrong fix. Now it is given up on like a route whose every address
is malformed: the run is tagged ``failed`` with the reason naming the seed row to fix. While Slack only failed for
now (a 5xx, a timeout), it stays pending: the next try may reach Slack.
"""

from __future__ import annotations

import pytest
from dagster import DagsterInstance, build_sensor_context

from resources.notifications import NotificationsResource
from tests.test_round30_run_failure import Daemon, failing_full_sync


@pytest.fixture
def smtp(make_smtp_sandbox, monkeypatch):
    relay = make_smtp_sandbox(username="mailer", password="mail-secret", starttls=True)
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    for name, value in {"SMTP_HOST": relay.host, "SMTP_PORT": str(relay.port), "SMTP_USERNAME": "mailer",
                        "SMTP_PASSWORD": "mail-secret", "SMTP_FROM_ADDRESS": "projectx@projectx.io",
                        "SMTP_CA_BUNDLE": relay.ca_bundle, "PROJECTX_ENV": "prod"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)
    return relay


def _fail_once(rf, resource):
    """A failed full_sync announced by the sensor: (instance, run id, the tick's reaction); the caller closes."""
    instance = DagsterInstance.ephemeral()
    daemon = Daemon(rf.build_run_failure_sensor(resource), instance)
    daemon.tick()
    failed = failing_full_sync.execute_in_process(instance=instance, raise_on_error=False)
    reactions = daemon.tick().dagster_run_reactions
    return instance, failed.run_id, reactions[0]


@pytest.mark.parametrize("emails", [[], ["not an address"]])
def test_a_route_without_any_e_mail_is_given_up_with_the_seed_to_fix_not_retried(smtp, monkeypatch, emails):
    import sensors.run_failure as rf

    monkeypatch.setattr(rf, "route", lambda env: ("", emails))
    resource = NotificationsResource(backoff_base_seconds=0.01)
    instance, run_id, reaction = _fail_once(rf, resource)
    with instance:
        assert reaction.error is not None, "the tick shows why it was not delivered"
        tags = instance.get_run_by_id(run_id).tags
        assert tags[rf.ALERT_TAG] == rf.FAILED, tags
        why = tags[rf.ALERT_ERROR_TAG]
        assert why.startswith("EmailAddressError") and "notification_routing.csv" in why and "'prod'" in why
        assert ("it has none" in why) == (not emails) and "SMTP_HOST" not in why
        with build_sensor_context(instance=instance) as context:
            assert "No failed run" in rf.build_run_failure_retry_sensor(resource).evaluate_tick(context).skip_message
    assert smtp.messages() == []


def test_slack_failing_for_now_with_no_e_mail_stays_pending_and_the_retry_posts_it(smtp, make_slack_sandbox,
                                                                                  monkeypatch):
    import sensors.run_failure as rf

    slack = make_slack_sandbox()
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    monkeypatch.setattr(rf, "route", lambda env: ("#alerts-servicenow", []))
    resource = NotificationsResource(backoff_base_seconds=0.01, max_attempts=2)
    slack.faults.set(rate_5xx=1.0)
    instance, run_id, _ = _fail_once(rf, resource)
    with instance:
        assert instance.get_run_by_id(run_id).tags[rf.ALERT_TAG] == rf.PENDING
        slack.faults.set(rate_5xx=0.0)
        with build_sensor_context(instance=instance) as context:
            assert "Announced 1" in rf.build_run_failure_retry_sensor(resource).evaluate_tick(context).skip_message
        assert instance.get_run_by_id(run_id).tags[rf.ALERT_TAG] == rf.SENT
    assert [m["text"] for m in slack.messages("alerts-servicenow") if "full_sync" in m["text"]]
    assert smtp.messages() == []


def test_slack_refusing_for_good_with_no_e_mail_is_given_up(smtp, make_slack_sandbox, monkeypatch):
    import sensors.run_failure as rf

    slack = make_slack_sandbox()
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    monkeypatch.setattr(rf, "route", lambda env: ("#legacy-alerts", []))  # archived: refused for good
    resource = NotificationsResource(backoff_base_seconds=0.01)
    instance, run_id, _ = _fail_once(rf, resource)
    with instance:
        tags = instance.get_run_by_id(run_id).tags
        assert tags[rf.ALERT_TAG] == rf.FAILED and "#legacy-alerts" in tags[rf.ALERT_ERROR_TAG], tags
        assert "notification_routing.csv" in tags[rf.ALERT_ERROR_TAG]
    assert slack.messages("legacy-alerts") == [] and smtp.messages() == []
