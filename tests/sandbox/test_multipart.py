"""Multipart uploads split byte for byte (sandbox/core/multipart.py): googleapiclient writes its
multipart/related bodies with LF line breaks, and Python's e-mail parser cut a payload's last byte when
it was a CR (1 random upload in 256 came back one byte short)."""

from __future__ import annotations

import base64

import pytest

from sandbox.core.multipart import MultipartError, boundary_of, split_parts

TAILS = [b"", b"x", b"\r", b"\n", b"\r\n", b"\n\r", b"\r\r", b"--b"]


def _body(parts: list[tuple[bytes, bytes]], eol: bytes) -> bytes:
    out = b"preamble" + eol
    for head, content in parts:
        out += b"--b" + eol + head + eol + eol + content + eol
    return out + b"--b--" + eol


@pytest.mark.parametrize("eol", [b"\r\n", b"\n"], ids=["CRLF", "LF"])
@pytest.mark.parametrize("tail", TAILS)
def test_every_byte_of_a_part_is_kept_whatever_it_ends_with(eol, tail):
    data = b"\x00\r\n\xff" * 3 + tail
    body = _body([(b"Content-Type: application/json", b"{}"),
                  (b"Content-Type: application/octet-stream", data)], eol)
    (meta_head, meta), (head, content) = split_parts(body, "b")
    assert meta == b"{}" and meta_head == {"content-type": "application/json"}
    assert content == data and head == {"content-type": "application/octet-stream"}


def test_base64_parts_decode_and_broken_bodies_are_refused():
    encoded = base64.b64encode(b"\x00\xffdata\r")
    (_head, content), = split_parts(_body([(b"Content-Transfer-Encoding: base64", encoded)], b"\r\n"), "b")
    assert content == b"\x00\xffdata\r"
    assert boundary_of('multipart/related; boundary="=== x ==="') == "=== x ==="
    assert boundary_of("application/json") is None
    for broken in (b"no delimiter at all", b"--b\r\nContent-Type: x\r\n\r\ncontent, never closed",
                   b"--b\r\nnot a header\r\n\r\nx\r\n--b--"):
        with pytest.raises(MultipartError):
            split_parts(broken, "b")
