"""Round 32: a Vault address that answers as no Vault does (tests/test_round32_ops_vault_answers.py).

A fake Vault on 127.0.0.1 answers a 307 pointing at another loopback host (127.0.0.2) that records what it
is sent, an HTML sign-in page with 200, a body trickled one byte at a time, or a proxy's 502 to the AppRole
login. requests strips ``Authorization`` on a cross-host redirect, not ``X-Vault-Token``, and a 307 re-sends
the login's body: before, the token and the AppRole secret id both reached the other host.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable

import pytest

from resources import secrets as secrets_mod
from resources import vault_auth
from resources.secrets import SecretStore

TOKEN = "hvs.R32-redirect-token-7f3a9c"
ROLE_ID = "r32-role-id-5b1e"
SECRET_ID = "r32-secret-id-c4d8e2"
KV_BODY = {"data": {"data": {"api_token": "r32-kv-value-91ab", "base_url": "https://x.example"},
                    "metadata": {"version": 1}},
           "auth": {"client_token": "hvs.r32-issued-token-66", "lease_duration": 900}}


class _Recorder(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, answer: Callable[[http.server.BaseHTTPRequestHandler], None]):
        self.seen: list[tuple[dict[str, str], bytes]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("Content-Length") or 0)
                server.seen.append((dict(self.headers), self.rfile.read(length)))
                answer(self)

            do_GET = do_POST = do_PUT = _any

            def log_message(self, *args):
                pass

        super().__init__((host, 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"


def _json(handler, body=KV_BODY, status=200):
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def servers():
    started: list[_Recorder] = []

    def start(host: str, answer) -> _Recorder:
        server = _Recorder(host, answer)
        started.append(server)
        return server

    yield start
    for server in started:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    for name in ("VAULT_TOKEN", "VAULT_ROLE_ID", "VAULT_SECRET_ID", "VAULT_ONETRUST_ROLE_ID",
                 "VAULT_ONETRUST_SECRET_ID", "VAULT_K8S_ROLE", "VAULT_ONETRUST_K8S_ROLE", "VAULT_CACERT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VAULT_TIMEOUT_SECONDS", "1")
    monkeypatch.setattr(vault_auth, "_SESSIONS", {})
    monkeypatch.setattr(secrets_mod, "_LAST_GOOD", {})
    monkeypatch.setattr(vault_auth, "RETRY_WAITS", (0.01,))


def _no_secret_in(text: str, *extra: str) -> None:
    for value in (TOKEN, ROLE_ID, SECRET_ID, "127.0.0.2", *extra):
        assert value not in text


def _redirecting(servers):
    thief = servers("127.0.0.2", _json)

    def redirect(handler):
        handler.send_response(307)
        handler.send_header("Location", thief.url + handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return servers("127.0.0.1", redirect), thief


def test_token_never_follows_a_redirect_to_another_host(servers, caplog):
    vault, thief = _redirecting(servers)
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    with pytest.raises(ConnectionError) as err:
        store.vendor("onetrust")
    assert thief.seen == [], "the request (and its X-Vault-Token) went to the other host"
    text = str(err.value)
    assert "VAULT_ADDR" in text and "redirect" in text
    _no_secret_in(text + caplog.text, vault.url)


def test_approle_login_body_never_follows_a_redirect(servers, monkeypatch, caplog):
    vault, thief = _redirecting(servers)
    monkeypatch.setenv("VAULT_ONETRUST_ROLE_ID", ROLE_ID)
    monkeypatch.setenv("VAULT_ONETRUST_SECRET_ID", SECRET_ID)
    store = SecretStore("integrations/stg", vault_addr=vault.url, strict=True)
    with pytest.raises(ConnectionError) as err:
        store.vendor("onetrust")
    assert thief.seen == [], "the AppRole login (its secret id) was re-sent to the other host"
    assert [body for _, body in vault.seen if SECRET_ID.encode() in body], "the login never reached VAULT_ADDR"
    _no_secret_in(str(err.value) + caplog.text, vault.url)


def test_redirect_within_vault_addr_is_still_followed(servers):
    def answer(handler):
        if handler.path.startswith("/v1/moved/"):
            return _json(handler)
        handler.send_response(307)
        handler.send_header("Location", "/v1/moved" + handler.path[3:])
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    vault = servers("127.0.0.1", answer)
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    assert store.vendor("onetrust")["api_token"] == "r32-kv-value-91ab"


def test_html_page_answered_200_is_named(servers, caplog):
    def page(handler):
        body = b"<!doctype html><html><body>Sign in to the proxy</body></html>"
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    vault = servers("127.0.0.1", page)
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    with pytest.raises(ConnectionError) as err:
        store.vendor("onetrust")
    text = str(err.value)
    assert "HTML" in text and "VAULT_ADDR" in text, text  # before: "unreachable or failing (TypeError)"
    _no_secret_in(text + caplog.text, vault.url)


def test_trickled_answer_is_bounded_by_vault_timeout(servers):
    stop = threading.Event()

    def trickle(handler):
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(300):  # 0.1 s apart: each socket read is short, the whole answer would take 30 s
            if stop.is_set():
                return
            try:
                handler.wfile.write(b" ")
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    vault = servers("127.0.0.1", trickle)
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    started = time.monotonic()
    try:
        with pytest.raises(ConnectionError) as err:
            store.vendor("onetrust")
    finally:
        stop.set()
    assert time.monotonic() - started < 5, "VAULT_TIMEOUT_SECONDS=1 did not bound a trickled answer"
    assert "VAULT_TIMEOUT_SECONDS" in str(err.value)


def test_proxy_502_to_the_login_is_not_called_a_refusal(servers, monkeypatch, caplog):
    def bad_gateway(handler):
        body = b"<html><body>502 Bad Gateway</body></html>"
        handler.send_response(502)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    vault = servers("127.0.0.1", bad_gateway)
    monkeypatch.setenv("VAULT_ONETRUST_ROLE_ID", ROLE_ID)
    monkeypatch.setenv("VAULT_ONETRUST_SECRET_ID", SECRET_ID)
    store = SecretStore("integrations/stg", vault_addr=vault.url, strict=True)
    with pytest.raises(ConnectionError) as err:  # before: PermissionError "Vault refused the AppRole login"
        store.vendor("onetrust")
    text = str(err.value)
    assert "refused the" not in text and "not refused" in text and "VAULT_ADDR" in text, text
    _no_secret_in(text + caplog.text, vault.url)


def test_trickled_status_line_and_headers_are_bounded_too(servers):
    stop = threading.Event()

    def trickle(handler):
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for n in range(300):  # a header every 0.1 s: each socket read is short, the headers never end
            if stop.is_set():
                return
            try:
                handler.wfile.write(f"X-Slow-{n}: 1\r\n".encode())
                handler.wfile.flush()
            except OSError:
                return
            time.sleep(0.1)

    vault = servers("127.0.0.1", trickle)
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    started = time.monotonic()
    try:
        with pytest.raises(ConnectionError) as err:
            store.vendor("onetrust")
    finally:
        stop.set()
    assert time.monotonic() - started < 5, "VAULT_TIMEOUT_SECONDS=1 did not bound trickled headers"
    assert "VAULT_TIMEOUT_SECONDS" in str(err.value)
    _no_secret_in(str(err.value), vault.url)


@pytest.mark.parametrize(("body", "words"), [
    ({"data": None}, ["no KV version 2", "VAULT_KV_MOUNT"]),
    ({"data": {"data": "r32-flat-string-value"}}, ["no KV version 2"]),
    ([1, 2], ["no KV version 2"]),
    ({"data": {"data": {"api_token": ["r32-list-item-value"]}}}, ["api_token", "list", "plain text"]),
    ({"data": {"data": {"api_token": {"r32-nested-key": "r32-nested-value"}}}}, ["api_token", "dict"]),
])
def test_json_of_another_shape_is_named_never_quoted(servers, body, words, caplog):
    vault = servers("127.0.0.1", lambda handler: _json(handler, body))
    store = SecretStore("integrations/local", vault_addr=vault.url, vault_token=TOKEN, strict=False)
    with pytest.raises((ConnectionError, ValueError)) as err:  # before: a bare TypeError for the first three
        store.vendor("onetrust")
    text = str(err.value)
    for word in words:
        assert word in text, text
    _no_secret_in(text + caplog.text, vault.url, "r32-flat-string-value", "r32-list-item-value",
                  "r32-nested-value")


def test_cli_vault_setup_never_follows_a_redirect_with_the_operator_token(servers, monkeypatch, tmp_path, capsys):
    """`python -m cli vault setup` built its own hvac client: the operator's token (allowed to write policies)
    followed a 307 to another host. It now uses the product's client (resources.vault_auth.new_client)."""
    from cli import vault as vault_cli

    vault, thief = _redirecting(servers)
    monkeypatch.setenv("VAULT_ADDR", vault.url)
    monkeypatch.setenv("VAULT_TOKEN", TOKEN)
    try:
        code = vault_cli.setup("prod", str(tmp_path / "roles.env"))
    except ConnectionError as exc:
        code, text = None, str(exc)
    else:
        text = ""
    assert code != 0
    assert thief.seen == [], "the operator token went to the other host"
    assert vault.seen, "nothing reached VAULT_ADDR"
    out = capsys.readouterr()
    _no_secret_in(text + out.out + out.err)
