"""Round 30b: PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS above ~1.3e9 was an OverflowError (timedelta doubled 2**16
times) that stopped the push at the first record held. The setting now has a maximum (86400: a hold is at most a
day anyway), a larger value stopping the push before any call with an error naming it; the doubled hold is
capped in whole seconds, so no value overflows."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import pytest

from assets.reverse_sync import holds, sn_reverted, state
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import run, write_outbound, writes
from tests.test_reverse_sync_servicenow import remediation_rows

servicenow = attacks.servicenow  # the sandbox fixture
NOW = datetime(2026, 12, 7, 10, 0, 0)


class _Conn:
    def __init__(self, reverts: int):
        self.reverts = reverts

    def scalar(self, sql, params):
        return NOW - timedelta(days=30)  # the dead letter's first failure

    def query(self, sql, params):
        return [{"occurred_at": NOW - timedelta(minutes=self.reverts - 1 - i)} for i in range(self.reverts)]


class _Writes:
    def __init__(self, reverts: int):
        self.lock, self.conn = nullcontext(), _Conn(reverts)

    def committed(self):
        return nullcontext()


@pytest.mark.parametrize("hold_seconds", [3600, sn_reverted.MAX_SECONDS, 1_400_000_000, 10 ** 18])
def test_the_doubled_hold_is_capped_at_a_day_without_overflow(monkeypatch, hold_seconds):
    monkeypatch.setattr(holds, "ensure_audit_table", lambda conn: None)
    monkeypatch.setattr(state, "now", lambda: NOW)
    until = sn_reverted.held_until(_Writes(20), "servicenow", "sys1", "rem-1", hold_seconds)
    assert until == NOW + timedelta(days=1), "20 reverts: the hold is at its cap, a day after the last"


def test_one_revert_holds_the_setting_itself(monkeypatch):
    monkeypatch.setattr(holds, "ensure_audit_table", lambda conn: None)
    monkeypatch.setattr(state, "now", lambda: NOW)
    assert sn_reverted.held_until(_Writes(1), "servicenow", "sys1", "rem-1", 600) == NOW + timedelta(seconds=600)
    assert sn_reverted.held_until(_Writes(2), "servicenow", "sys1", "rem-1", 600) == NOW + timedelta(seconds=1200)


@pytest.mark.parametrize("value", ["1400000000", "86401"])
def test_a_value_above_the_maximum_stops_the_push_before_any_call_naming_the_setting(
        servicenow, duckdb_warehouse, monkeypatch, value):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    monkeypatch.setenv(sn_reverted.SETTING, value)
    servicenow.clear_request_log()
    with pytest.raises(ValueError) as caught:
        run("servicenow")
    assert sn_reverted.SETTING in str(caught.value) and "86400" in str(caught.value)
    assert writes(servicenow) == []


def test_the_maximum_itself_is_taken(servicenow, duckdb_warehouse, monkeypatch):
    write_outbound(duckdb_warehouse, "servicenow", remediation_rows(2))
    monkeypatch.setenv(sn_reverted.SETTING, "86400")
    assert run("servicenow").created == 2
