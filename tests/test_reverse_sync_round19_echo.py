"""Round 19: a hostile vendor's refusal text. A vendor (or the gateway before it) that echoes our token,
password or client secret in an error body, with control characters and a huge string around it: the
record is dead-lettered with a bounded, single-line reason, and no secret reaches the dead letters, the
audit log, the plan, the run's report or the logs."""

from __future__ import annotations

import logging

import pytest
import requests

from assets.reverse_sync.servicenow import remediation_table
from tests.conftest import onetrust_env, sandbox_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound
from tests.test_reverse_sync_servicenow import remediation_rows

REAL_JSON = requests.Response.json
REAL_TEXT = requests.Response.text
HUGE = "A" * 200_000


def _secrets_in_request(request: requests.PreparedRequest) -> list[str]:
    """What of our credentials the request carried: the Authorization value and the token inside it."""
    auth = request.headers.get("Authorization") or ""
    return [auth, auth.split(" ", 1)[-1]] if auth else []


def _echoing(monkeypatch, status: int, form: str, seen: list[str]) -> None:
    """Every ``status`` answer echoes the request's credentials and the env secrets, as JSON or as HTML."""
    import os

    from pipelines.common.entrypoint import secret_values

    def echo(response: requests.Response) -> str:
        mine = _secrets_in_request(response.request) + secret_values(os.environ)
        seen.extend(mine)
        return f"invalid credentials {' / '.join(mine)}\x1b[31m\x00\r\nInjected: line{HUGE}"

    def json_(self, **kw):
        if self.status_code == status:
            if form == "html":
                raise ValueError("not JSON")
            return {"message": echo(self), "error": {"message": echo(self), "detail": echo(self)},
                    "errorMessages": [echo(self)]}
        return REAL_JSON(self, **kw)

    def text(self):
        if self.status_code == status and form == "html":
            return f"<html><body>{echo(self)}</body></html>"
        return REAL_TEXT.fget(self)

    monkeypatch.setattr(requests.Response, "json", json_)
    monkeypatch.setattr(requests.Response, "text", property(text))


@pytest.mark.parametrize("form", ["json", "html"])
@pytest.mark.parametrize("vendor", ["onetrust", "servicenow"])
def test_a_vendor_echoing_our_credentials_in_an_error_never_gets_them_stored_or_logged(
        vendor, form, make_onetrust_sandbox, make_servicenow_sandbox, duckdb_warehouse, monkeypatch, tmp_path, caplog):
    if vendor == "onetrust":
        sb = make_onetrust_sandbox(size=20)
        onetrust_env(monkeypatch, sb)
        monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path))
        rows = attestation_rows(3)
        rows[1]["onetrust_result"] = "MOSTLY_FINE"  # refused: 400
        write_outbound(duckdb_warehouse, vendor, rows)
        status, victim = 400, "att-0001"
    else:
        sb = make_servicenow_sandbox(size=10)
        sandbox_env(monkeypatch, sb)
        rows = remediation_rows(3)
        write_outbound(duckdb_warehouse, vendor, rows)
        run(vendor)
        victim = "rem-sn-00001"
        gone = dict(query(duckdb_warehouse, "select internal_id, vendor_id from reverse_sync.external_links"))[victim]
        sb.delete(remediation_table(), gone)
        for r in rows:
            r["description"] += " (changed)"
        write_outbound(duckdb_warehouse, vendor, rows)
        status = 404
    seen: list[str] = []
    _echoing(monkeypatch, status, form, seen)
    caplog.set_level(logging.DEBUG)
    report = run(vendor, circuit_breakers=False)
    assert report.dead_lettered == 1, report.failures
    assert seen, "the vendor did echo something"
    secrets = sorted({s for s in seen if len(s) >= 6}, key=len)
    dead = dict(query(duckdb_warehouse, f"select internal_id, error from reverse_sync.dead_letters "
                                        f"where vendor = '{vendor}'"))
    assert list(dead) == [victim]
    stored = {table: repr(query(duckdb_warehouse, f"select * from {table}"))
              for table in ("reverse_sync.dead_letters", "audit.events", "reverse_sync.plans")}
    places = {**stored, "report": repr(report.__dict__), "log": caplog.text}
    leaks = {where: [s[:12] for s in secrets if s in text] for where, text in places.items()}
    assert not any(leaks.values()), f"a secret the vendor echoed was kept: {leaks}"
    error = dead[victim]
    assert str(status) in error and len(error) <= 2000, error[:300]
    assert not any(ch in error for ch in "\x00\x1b\r\n"), "one line, no control characters"
    detail = query(duckdb_warehouse, "select detail from audit.events where action = 'push' and status = "
                                     f"'{status}'")
    assert detail and all(len(str(d)) <= 1000 for (d,) in detail), "the audit row stays bounded"
