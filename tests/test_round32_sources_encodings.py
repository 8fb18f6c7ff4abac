"""Round 32: bodies whose bytes or headers lie about their text, end to end (sandbox over HTTP -> dlt -> DuckDB).

Covered before: a lone surrogate, a byte that is not UTF-8 and a NUL in one record (tests/test_ingestion_hostile.py),
a UTF-8 byte order mark, UTF-16/32 with its byte order mark (round 16). Here:

- UTF-16 or UTF-32 without a byte order mark (a re-encoding proxy; RFC 4627 section 3 tells the encoding by the
  NUL bytes of the first four): every page was "not JSON" and every run failed; now read, on ServiceNow and Jira;
- a ``Content-Type`` charset that lies: ``charset=ISO-8859-1`` over a UTF-8 body is read as UTF-8 (JSON is UTF-8,
  RFC 8259: the parameter means nothing), so ``café`` is not stored as ``cafÃ©``; Latin-1 bytes, CESU-8
  surrogate pairs and overlong encodings under ``charset=utf-8`` quarantine their record naming the field and
  byte, the rest of the page loads, and the record loads once served right. [unc] whether a real proxy re-encodes
  without a byte order mark; the detection cannot misread a UTF-8 body, which never has a NUL byte there;
- a body shorter than its ``Content-Length`` (a connection cut mid-body, on a raw loopback socket): read again, and
  named with the request when cut every time (held already; pinned here).
"""

from __future__ import annotations

import json

import pytest

from sandbox.core.http import Response
from tests.ingestion_harness import JIRA_ISSUES, SN_INCIDENTS, assert_parity, quarantine, sql
from tests.test_ingestion_hostile_more import LIST, _jira_rewrite, _jira_sync, _stored, _sync, _vendor


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_json_without_a_byte_order_mark_is_read(codec):
    from pipelines.common.pages import loads

    doc = {"result": [{"sys_id": "a" * 32, "d": "caf\u00e9 \U0001f600 \u65e5\u672c"}]}
    assert loads(json.dumps(doc, ensure_ascii=False).encode(codec)) == doc
    assert loads((" \n" + json.dumps(doc)).encode(codec)) == doc  # leading white space
    with pytest.raises(ValueError):  # cut off: no JSON, as before (the caller retries)
        loads(json.dumps(doc).encode(codec)[:-3])


def test_utf8_bodies_are_never_read_as_wide():
    from pipelines.common.pages import loads

    assert loads(b"[1]") == [1] and loads(b"{}") == {} and loads(b' {"a": "\\u0000"}')["a"] == "\x00"
    with pytest.raises(ValueError):
        loads(b"\x1f\x8b\x08\x00garbage")  # gzip never decoded: still no JSON


def test_servicenow_and_jira_pages_in_utf16_without_a_mark_load(make_servicenow_sandbox, make_jira_sandbox,
                                                                duckdb_warehouse):
    sb = make_servicenow_sandbox(size=25)

    def wide(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200:
            return resp
        return Response(200, json.dumps(json.loads(resp.body), ensure_ascii=False).encode("utf-16-le"),
                        content_type="application/json; charset=utf-16le", headers=resp.headers)
    sb.rewrite_responses(wide)
    _sync(duckdb_warehouse, sb)
    assert _stored(duckdb_warehouse) == _vendor(sb)
    assert sql(duckdb_warehouse, "select count(*) from information_schema.tables where table_schema = "
                                 "'servicenow' and table_name = 'quarantine'") == [(0,)], "nothing quarantined"

    jira = make_jira_sandbox(size=20)
    _jira_rewrite(jira, lambda req, resp: Response(
        200, json.dumps(json.loads(resp.body), ensure_ascii=False).encode("utf-32-be"),
        content_type="application/json; charset=utf-32", headers=resp.headers))
    _jira_sync(duckdb_warehouse, jira, concurrency=1)
    assert_parity(jira, duckdb_warehouse, JIRA_ISSUES)


def test_a_charset_that_lies_never_changes_the_text_and_bad_bytes_cost_their_record(make_servicenow_sandbox,
                                                                                  duckdb_warehouse):
    sb = make_servicenow_sandbox(size=20)
    records = sb.records("incident")
    latin, cesu, overlong, fine = (r["sys_id"] for r in records[2:6])
    for sys_id, mark in ((latin, "MARKL"), (cesu, "MARKC"), (overlong, "MARKO"), (fine, "MARKF")):
        sb.update("incident", sys_id, {"description": mark})
    bad = {b'"MARKL"': b'"caf\xe9"', b'"MARKC"': b'"\xed\xa0\xbd\xed\xb8\x80"', b'"MARKO"': b'"\xc0\xaf"'}

    def lie(req, resp):
        if req.path != LIST or req.method != "GET" or resp.status != 200:
            return resp
        body = resp.body.replace(b'"MARKF"', '"caf\u00e9 \u2713"'.encode())
        for mark, served in bad.items():
            body = body.replace(mark, served)
        charset = "ISO-8859-1" if b"\xc3\xa9" in body else "utf-8"
        return Response(200, body, content_type=f"application/json; charset={charset}", headers=resp.headers)
    sb.rewrite_responses(lie)
    for _ in range(2):  # the second run re-reads the three by id and writes no second quarantine row
        _sync(duckdb_warehouse, sb)
        reasons = quarantine(duckdb_warehouse, SN_INCIDENTS)
        assert set(reasons) == {latin, cesu, overlong}, reasons
        for sys_id, byte in ((latin, "0xE9"), (cesu, "0xED"), (overlong, "0xC0")):
            assert reasons[sys_id].startswith(f"invalid text: description: byte {byte}"), reasons[sys_id]
        assert sql(duckdb_warehouse, "select description from servicenow.incidents where sys_id = ?", fine) == [
            ("caf\u00e9 \u2713",)]
        assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(3,)]
        assert set(_stored(duckdb_warehouse)) == set(_vendor(sb)) - {latin, cesu, overlong}

    sb.rewrite_responses(None)
    _sync(duckdb_warehouse, sb)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
    assert sql(duckdb_warehouse, "select count(*) from servicenow.quarantine") == [(3,)]


def _raw_server(answers: list[bytes]):
    """A loopback HTTP server answering each connection with the next of ``answers`` (raw bytes), then closing."""
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    served: list[bytes] = []

    def serve():
        for answer in answers:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    request += chunk
                served.append(request)
                conn.sendall(answer)
        listener.close()
    threading.Thread(target=serve, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}/", served


def test_a_body_shorter_than_its_content_length_is_read_again_then_named():
    """A connection cut inside the body (``Content-Length: 400``, 20 bytes sent): the read is asked for again and
    the whole answer loads; cut every time, the error names the request and says to retry, not a raw
    ``IncompleteRead``."""
    from pipelines.common.http import RetryPolicy, VendorError, VendorSession

    whole = b'{"result": [{"sys_id": "' + b"a" * 32 + b'"}]}'
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\nConnection: close\r\n\r\n"
    good = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
            % len(whole)) + whole
    policy = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.02, max_attempts=3)
    url, served = _raw_server([cut + whole[:20], good])
    session = VendorSession("ServiceNow", url, policy=policy)
    try:
        body, _ = session.request_json("GET", "api/now/table/incident")
    finally:
        session.close()
    assert body == {"result": [{"sys_id": "a" * 32}]} and len(served) == 2

    url, served = _raw_server([cut + whole[:20]] * 3)
    session = VendorSession("ServiceNow", url, policy=policy)
    try:
        with pytest.raises(VendorError, match=r"GET /api/now/table/incident failed after 3 attempts"):
            session.request_json("GET", "api/now/table/incident")
    finally:
        session.close()
    assert len(served) == 3
