"""Round 22 (review): framing a proxy could read another way is refused on every path, not only the webhook
routes. On the h11 path a request to a path the app answers before reading its body (a 404, ``POST /healthz``,
a webhook path with ``%2f``) with Content-Length and chunked framing was de-chunked by h11 and the request hidden
behind it was served (two answers on one connection); httptools refuses it before any route."""

from __future__ import annotations

import pytest

from tests.test_webhooks_attacks import head, raw_exchange
from tests.test_webhooks_round22_framing import live, status  # noqa: F401 (the fixture, both parser paths)

HIDDEN = b"GET /healthz HTTP/1.1\r\nhost: receiver\r\nconnection: close\r\n\r\n"


@pytest.mark.parametrize("path, method", [("/nope", "POST"), ("/healthz", "POST"), ("/healthz", "GET"),
                                          ("/api/integrations/generic%2fwebhook", "POST")])
@pytest.mark.parametrize("framing", ["cl_and_te", "te_on_http10"])
def test_ambiguous_framing_hides_no_request_behind_any_path(live, path, method, framing):  # noqa: F811
    _, address = live
    chunked = b"0\r\n\r\n"
    if framing == "cl_and_te":
        headers = {"content-length": str(len(chunked + HIDDEN)), "transfer-encoding": "chunked"}
        request = head(path, headers, method) + b"\r\n" + chunked + HIDDEN
    else:
        headers = {"transfer-encoding": "chunked"}
        request = (head(path, headers, method) + b"\r\n").replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
        request += chunked + HIDDEN
    answer, took = raw_exchange(address, request, wait=5)
    assert status(answer) == 400, answer[:300]
    assert answer.count(b"HTTP/1.") == 1 and b'"status"' not in answer, answer[:600]  # the hidden GET never ran
    assert took < 3
