"""Round 22: OneTrust attestations and control implementations are upserts keyed by externalId, so a POST that
got no answer is safe to send again: it cannot make a second record. Round 22's in-flight rule (a write that got
no answer is not sent again in the run) dead-lettered them anyway, costing a push's delay. Now an upsert is
looked up and, when not seen yet, sent again in the run; a write the vendor keeps no key for (an evidence
attachment: the same file twice is two attachments) keeps the rule. Against the OneTrust sandbox over HTTP: the
first matching POST sleeps longer than the client's read timeout, then is carried out."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time

import pytest

from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import attestation_rows, run, write_outbound

onetrust = attacks.onetrust  # the sandbox fixture (evidence folder made)
_dead = attacks._dead
SLOW, READ_TIMEOUT = 1.5, "1"


def _slow_first(sb, monkeypatch, pattern: str) -> list[str]:
    """The first POST whose path matches sleeps SLOW seconds (then is carried out); returns every matching
    POST path, in order of arrival."""
    seen: list[str] = []
    decide = sb.faults.decide

    def slow(auth_faults: bool = True, method: str = "", path: str = ""):
        decision = decide(auth_faults, method, path)
        if method == "POST" and re.search(pattern, path):
            seen.append(path)
            if len(seen) == 1:
                return dataclasses.replace(decision, delay=SLOW)
        return decision

    monkeypatch.setattr(sb.faults, "decide", slow)
    monkeypatch.setenv("ONETRUST_TIMEOUT_SECONDS", READ_TIMEOUT)
    return seen


def _settled(check) -> bool:
    deadline = time.monotonic() + 10
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)
    return check()


def _ours(sb) -> dict[str, int]:
    out: dict[str, int] = {}
    for a in sb.attestations():
        if a.get("source") == "Project X":
            out[a["externalId"]] = out.get(a["externalId"], 0) + 1
    return out


@pytest.mark.parametrize("pattern", [r"/attestations$", r"/control-implementations$"])
def test_an_upsert_by_external_id_that_timed_out_is_sent_again_in_the_run(onetrust, duckdb_warehouse, monkeypatch,
                                                                          pattern):
    posts = _slow_first(onetrust, monkeypatch, pattern)
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1))
    report = run("onetrust", circuit_breakers=False)
    assert (report.created, report.dead_lettered) == (1, 0), report.failures
    assert len(posts) == 2, "sent again after the timeout, in the same push"
    time.sleep(SLOW)  # the first send is carried out too: merged into the same record by its externalId
    assert _settled(lambda: _ours(onetrust) == {"att-0000": 1})
    assert len([i for i in onetrust.control_implementations() if i["externalId"] == "projectx:SN-CHG-01"]) == 1
    assert run("onetrust").writes == 0


def test_an_attachment_that_timed_out_is_not_sent_again_in_the_run(onetrust, duckdb_warehouse, monkeypatch, tmp_path):
    (tmp_path / "evidence" / "cab-minutes.pdf").write_bytes(b"%PDF-1.4 minutes of the change advisory board")
    posts = _slow_first(onetrust, monkeypatch, r"/attachments$")
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1, evidence="CAB minutes <cab-minutes.pdf>"))
    report = run("onetrust", circuit_breakers=False)
    assert report.dead_lettered == 1 and len(posts) == 1, (report.failures, posts)
    [reason] = _dead(duckdb_warehouse, "onetrust").values()
    assert "outcome unknown" in reason and "not sent again" in reason, reason
    [attestation] = [a for a in onetrust.attestations() if a.get("externalId") == "att-0000"]
    assert _settled(lambda: len(onetrust.attachments.get(attestation["id"], [])) == 1), "the first send landed"
    again = run("onetrust", circuit_breakers=False)  # lists the attachments first: the file is there
    assert again.dead_lettered == 0, again.failures
    digest = hashlib.sha256(b"%PDF-1.4 minutes of the change advisory board").hexdigest()
    assert [a["sha256"] for a in onetrust.attachments[attestation["id"]]] == [digest], "attached once"
