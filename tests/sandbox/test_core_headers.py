"""Header values taken from data reach the wire intact and harmless, on every vendor's emulator: the
shared server wrote the response head as Latin-1 only, so a value outside it (a file name in
Content-Disposition, say) failed the write and dropped the connection, and a CR or LF in a value
would have started a header of its own."""

from __future__ import annotations

import socket

from sandbox.core.http import Response


def _raw_head(url: str, path: str) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0]


def test_a_non_latin1_or_multiline_header_value_is_served_not_dropped_or_split(make_slack_sandbox):
    sb = make_slack_sandbox()

    def rewrite(req, resp: Response) -> Response:
        if req.path.endswith("/api.test"):
            resp.headers.append(("X-File-Name", "résumé ✓.txt"))
            resp.headers.append(("X-Note", "first\r\nSet-Cookie: injected=1"))
        return resp

    sb.rewrite_responses(rewrite)
    head = _raw_head(sb.url, "/api/api.test")
    lines = head.split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 200")
    assert "X-File-Name: résumé ✓.txt".encode() in lines
    assert b"X-Note: first  Set-Cookie: injected=1" in lines
    assert not any(line.lower().startswith(b"set-cookie") for line in lines), "a value split the head"
