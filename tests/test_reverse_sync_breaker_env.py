"""Circuit breakers per environment (spec §4: on in production): off, a sick vendor's failures are
dead-lettered and counted but outbound writes never pause; on, the environment's threshold opens it."""

from __future__ import annotations

import dataclasses

import pytest

from resources.environment import ENVIRONMENTS
from tests.conftest import jira_env
from tests.reverse_sync_helpers import jira_rows, query, run, write_outbound


@pytest.fixture
def failing_jira(make_jira_sandbox, duckdb_warehouse, monkeypatch):
    sb = make_jira_sandbox(size=30)
    jira_env(monkeypatch, sb)
    # the sandbox's search shows a new issue at once: a create answered 5xx may be sent again next run
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "0")
    write_outbound(duckdb_warehouse, "jira", jira_rows(12))
    sb.faults.set(rate_5xx=1.0, methods=["POST"], paths=[r"/issue$"])  # the vendor is down for creates
    return sb


def _breaker(settings):
    return query(settings, "select state, failures from reverse_sync.circuit_breakers where vendor = 'jira'")[0]


@pytest.mark.parametrize("env_name", ["local", "stg"])
def test_breakers_off_dead_letter_every_failure_and_never_pause(failing_jira, duckdb_warehouse, monkeypatch,
                                                                env_name):
    monkeypatch.setenv("PROJECTX_ENV", env_name)
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)  # the sandbox's env credentials
    assert not ENVIRONMENTS[env_name].circuit_breakers
    report = run("jira")
    assert report.dead_lettered == 12 and report.paused_circuit_open == 0 and report.breaker_state == "closed"
    assert _breaker(duckdb_warehouse) == ("closed", 12)  # counted for the record, never opened
    failing_jira.faults.clear()
    assert run("jira").created == 12  # the next run retries every dead letter


def test_breakers_on_in_prod_open_at_the_environments_threshold(failing_jira, duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_ENV", "prod")
    monkeypatch.setattr("resources.secrets._strict_default", lambda: False)  # the sandbox's env credentials
    monkeypatch.setitem(ENVIRONMENTS, "prod", dataclasses.replace(ENVIRONMENTS["prod"], breaker_threshold=2))
    report = run("jira")
    assert report.dead_lettered == 2 and report.paused_circuit_open == 10 and report.breaker_state == "open"
    assert _breaker(duckdb_warehouse) == ("open", 2)
    failing_jira.faults.clear()
    assert run("jira").paused_circuit_open == 12  # degraded mode until the cool-down: nothing is written
