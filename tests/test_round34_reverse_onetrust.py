"""Round 34: a OneTrust control implementation's create answered with another control's implementation.

The attestations of a control hang on its implementation (``controlImplementationId``). The create of an
implementation took any answer with an id for its own (the attestation's create checks the ``externalId``, this one
did not): a gateway replaying another answer, or one without the ``externalId``, put every attestation of the
control on another control's implementation, attested under the wrong control in OneTrust's audit."""

from __future__ import annotations

import json
import re

from sandbox.core.http import json_response
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound

onetrust = attacks.onetrust  # the sandbox fixture
IMPLEMENTATIONS = r"/api/controls/v1/control-implementations$"


def _impls(sb) -> dict[str, dict]:
    return {i["externalId"]: i for i in sb.control_implementations() if str(i.get("externalId")).startswith(
        "projectx:")}


def _answered_with(sb, record: dict) -> None:
    """Implementation creates are carried out, then answered 201 with ``record`` (another implementation's)."""
    def rewrite(req, resp):
        if req.method == "POST" and re.search(IMPLEMENTATIONS, req.path):
            return json_response(record, 201)
        return resp

    sb.rewrite_responses(rewrite)


def _attestations_on_their_control(sb) -> dict[str, bool]:
    impls = {i["id"]: i["externalId"] for i in sb.control_implementations()}
    rows = {r["attestation_id"]: r["control_id"] for r in attestation_rows(3)}
    return {a["externalId"]: impls.get(a["controlImplementationId"]) == f"projectx:{rows[a['externalId']]}"
            for a in sb.attestations() if a.get("externalId") in rows}


def test_an_implementation_create_answered_with_another_controls_implementation_is_not_taken(onetrust,
                                                                                            duckdb_warehouse):
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    assert run("onetrust").created == 1
    other = _impls(onetrust)["projectx:SN-CHG-01"]
    _answered_with(onetrust, other)
    write_outbound(duckdb_warehouse, "onetrust", rows[:2])
    report = run("onetrust")
    onetrust.rewrite_responses(None)
    assert _attestations_on_their_control(onetrust) == {"att-0000": True, "att-0001": True}, report
    assert sorted(_impls(onetrust)) == ["projectx:OT-PIA-01", "projectx:SN-CHG-01"]
    assert report.dead_lettered == 0, report.failures


def test_an_implementation_create_answered_with_an_id_alone_is_read_back_before_it_is_taken(onetrust,
                                                                                           duckdb_warehouse):
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    assert run("onetrust").created == 1
    other = _impls(onetrust)["projectx:SN-CHG-01"]
    _answered_with(onetrust, {"id": other["id"]})  # no externalId in the answer
    write_outbound(duckdb_warehouse, "onetrust", rows[:2])
    report = run("onetrust")
    onetrust.rewrite_responses(None)
    assert _attestations_on_their_control(onetrust) == {"att-0000": True, "att-0001": True}, json.dumps(
        report.failures)
    assert report.dead_lettered == 0, report.failures
