"""Round 30 review of the OneTrust attestation push (spec §2.3 "export control attestations back into OneTrust";
vendor-apis §3.6) against the OneTrust sandbox over HTTP.

- Evidence references name files to attach by path: an absolute path or a ``../`` one (the reference is built
  from evidence titles, which are vendor file names, e.g. ``x </etc/passwd> | y``) uploaded any file the
  worker can read to OneTrust. Only files inside the evidence store are attached now.
- The local evidence store writes ``file://`` URIs percent-encoded (``Path.as_uri``): a store under a folder
  with a space (``/data/Project X``) or a non-ASCII letter never had its files attached, in silence.
- A hostile attestation listing (an entry that is not an object, an ``externalId`` that is an array, an
  ``attestedBy`` or evidence entry of the wrong shape) crashed every push run before any write.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import onetrust_env
from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound


@pytest.fixture
def onetrust(make_onetrust_sandbox, duckdb_warehouse, monkeypatch, tmp_path):
    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "Project X évidence"))
    (tmp_path / "Project X évidence").mkdir()
    return sb


def _ours(sb) -> dict:
    return {a["externalId"]: a for a in sb.attestations() if a.get("source") == "Project X"}


def _dead(settings) -> dict:
    return dict(query(settings, "select internal_id, error from reverse_sync.dead_letters where vendor = 'onetrust'"))


def test_evidence_outside_the_store_is_never_uploaded(onetrust, duckdb_warehouse, tmp_path):
    store = tmp_path / "Project X évidence"
    secret = tmp_path / "worker-secrets.env"
    secret.write_text("VAULT_TOKEN=s.do-not-send")
    (store / "minutes.pdf").write_bytes(b"%PDF-1.4 minutes")
    (store / "link.pdf").symlink_to(secret)  # a link inside the store pointing out of it
    refs = [f"Minutes <{(store / 'minutes.pdf').as_uri()}>", f"x <{secret}>", "y <../worker-secrets.env>",
            f"z <file://{secret}>", "w <link.pdf>"]
    rows = attestation_rows(1, evidence=" | ".join(refs))
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust")
    assert (report.created, report.dead_lettered) == (1, 0), report.failures
    attestation = _ours(onetrust)["att-0000"]
    attached = onetrust.attachments.get(attestation["id"], [])
    assert [a.get("fileName") or a.get("name") for a in attached] == ["minutes.pdf"], attached
    assert "do-not-send" not in json.dumps(attached)
    assert run("onetrust", run_id="again").writes == 0  # and nothing is planned again for the refused ones


def test_a_store_under_a_folder_with_a_space_and_an_accent_has_its_files_attached(onetrust, duckdb_warehouse,
                                                                                   tmp_path):
    store = tmp_path / "Project X évidence"
    (store / "objects").mkdir()
    stored = store / "objects" / "ab12.bin"
    stored.write_bytes(b"%PDF-1.4 stored object")
    uri = stored.resolve().as_uri()
    assert "%20" in uri and "%C3%A9" in uri  # what the local store writes as storage_uri
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(1, evidence=f"Stored <{uri}>"))
    report = run("onetrust")
    assert report.dead_lettered == 0, report.failures
    attestation = _ours(onetrust)["att-0000"]
    assert len(onetrust.attachments.get(attestation["id"], [])) == 1


@pytest.mark.parametrize("junk", ["an entry that is not an object", {"id": "j1", "externalId": ["att-0001"]},
                                  {"externalId": "att-0001", "comment": "no id: no attestation"}])
def test_a_hostile_attestation_listing_does_not_stop_the_push(junk, onetrust, duckdb_warehouse):
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows[:1])
    run("onetrust")  # one attestation exists: the next run reads the listing to prefetch it

    def hostile(req, resp):
        if req.method == "GET" and req.path.endswith("/attestations") and resp.status == 200:
            body = json.loads(resp.body)
            body["content"].insert(0, junk)
            resp.body = json.dumps(body).encode()
        return resp
    onetrust.rewrite_responses(hostile)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust", run_id="hostile")
    assert report.dead_lettered == 0, report.failures
    assert sorted(_ours(onetrust)) == ["att-0000", "att-0001", "att-0002"]
    assert _dead(duckdb_warehouse) == {}


def test_our_attestation_shown_with_parts_of_the_wrong_shape_is_put_right_not_crashed_on(onetrust, duckdb_warehouse):
    rows = attestation_rows(2)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    run("onetrust")

    def mangle(rec):
        if isinstance(rec, dict) and rec.get("externalId") == "att-0000":
            rec.update(attestedBy="bob", evidence=["not an object", 5])

    def hostile(req, resp):
        if req.method == "GET" and "/attestations" in req.path and "/attachments" not in req.path \
                and resp.status == 200:
            body = json.loads(resp.body)
            for rec in body.get("content") or [body]:
                mangle(rec)
            resp.body = json.dumps(body).encode()
        return resp
    onetrust.rewrite_responses(hostile)
    rows[0] = {**rows[0], "summary": rows[0]["summary"] + " (remediated)"}  # read again: it is to be updated
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust", run_id="hostile")
    assert (report.updated, report.unchanged, report.dead_lettered) == (1, 1, 0), report
    onetrust.rewrite_responses(None)
    fixed = _ours(onetrust)["att-0000"]
    assert fixed["attestedBy"] == {"name": "Project X", "email": "dpo@example.com"} and fixed["evidence"] == []


def test_a_credential_without_the_control_scope_is_named_as_such(onetrust, duckdb_warehouse, monkeypatch):
    """A 403 on the push named the read scopes (ASSESSMENT_READ, RISK_READ, INVENTORY_READ): the one missing is
    CONTROL (spec §2.3: tokens scoped to Assessments, Risks, Vendors and Controls)."""
    onetrust.add_client("reads-only", "s3cret-reads-only", ("ASSESSMENT_READ", "RISK_READ", "INVENTORY_READ"))
    monkeypatch.setenv("ONETRUST_CLIENT_ID", "reads-only")
    monkeypatch.setenv("ONETRUST_CLIENT_SECRET", "s3cret-reads-only")
    write_outbound(duckdb_warehouse, "onetrust", attestation_rows(2))
    try:
        report = run("onetrust")
    except Exception as exc:  # a refusal may stop the run: then its error names the scope
        text = str(exc)
    else:
        text = json.dumps([report.failures, _dead(duckdb_warehouse)], default=str)
    assert "CONTROL" in text and "ASSESSMENT_READ" not in text, text
    assert "s3cret-reads-only" not in text
    assert _ours(onetrust) == {}
