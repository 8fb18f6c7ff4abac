"""Round 34: the receiver attacked at the HTTP level on a real uvicorn (loopback, both parsers), for cases the earlier
rounds had not tried.

- A ``Host`` header whose value is no host (``a b c``, ``evil/x``, ``user@r``, ``r:abc``, a backslash) was served on
  both parsers: RFC 9112 3.2 says a server MUST answer 400 to a Host field with an invalid value, as to two Host
  fields (refused since round 28). A front proxy routing on Host reads such a value its own way (up to the space,
  the slash, the ``@``), so which virtual host a request was meant for differed between it and this server.
"""

from __future__ import annotations

import pytest

from tests.test_round28_receiver_attacks import exchange, statuses
from tests.webhook_helpers import GENERIC, generic_body, generic_request, inbox_rows, served_with


@pytest.fixture(scope="module", params=["httptools", "h11"])
def live(request, tmp_path_factory):
    with served_with(request.param, tmp_path_factory.mktemp(f"round34_http_{request.param}"), failure_burst=1000,
                     body_timeout_seconds=3.0, head_timeout_seconds=3.0) as (settings, address, _app):
        yield settings, address


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def signed_with_host(msg_id: str, host: bytes) -> bytes:
    kw = generic_request(generic_body(), msg_id)
    body = kw["content"]
    lines = "".join(f"{k}: {v}\r\n" for k, v in kw["headers"].items()).encode("latin-1")
    return (b"POST " + GENERIC.encode() + b" HTTP/1.1\r\nhost: " + host + b"\r\n" + lines
            + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)


BAD_HOSTS = {"space": b"a b c", "slash": b"evil.example/x", "userinfo": b"user@receiver", "port_letters": b"r:abc",
             "backslash": b"r\\evil", "two_ports": b"r:80:81", "open_bracket": b"[::1", "comma_list": b"a, b",
             "question": b"r?x", "hash": b"r#x", "quote": b'r"x', "non_ascii": b"r\xe9ceiver"}
GOOD_HOSTS = {"name": b"receiver", "name_port": b"receiver:8000", "ipv4_port": b"127.0.0.1:8000",
              "ipv6": b"[::1]:8000", "empty": b"", "dashes_dots": b"a-b.c_d.example.", "pct": b"r%41"}


@pytest.mark.parametrize("host", BAD_HOSTS, ids=list(BAD_HOSTS))
def test_a_host_value_that_is_no_host_is_400_on_both_parsers_and_nothing_is_stored(live, host):
    settings, address = live
    msg_id = f"r34-badhost-{host}"
    answer = exchange(address, signed_with_host(msg_id, BAD_HOSTS[host]), wait=4)
    assert statuses(answer) == [400], answer[:300]
    assert b"Host" in answer and b"connection: close" in answer.lower(), answer[:300]
    assert msg_id not in stored(settings)
    health = exchange(address, b"GET /healthz HTTP/1.1\r\nhost: r\r\nconnection: close\r\n\r\n", wait=4)
    assert statuses(health) == [200]  # still serving


@pytest.mark.parametrize("host", GOOD_HOSTS, ids=list(GOOD_HOSTS))
def test_a_host_name_or_address_with_or_without_a_port_is_still_served(live, host):
    settings, address = live
    msg_id = f"r34-goodhost-{host}"
    answer = exchange(address, signed_with_host(msg_id, GOOD_HOSTS[host]), wait=4)
    assert statuses(answer) == [200], answer[:300]
    assert msg_id in stored(settings)
