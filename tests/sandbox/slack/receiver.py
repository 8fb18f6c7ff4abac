"""A Slack app's endpoint on loopback for the sandbox's outgoing requests (Events API, interactivity, slash
commands): each POST is checked with slack_sdk's SignatureVerifier and kept; a subclass's :meth:`respond`
says what the app replies."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from slack_sdk.signature import SignatureVerifier


class SignedReceiver:
    path = "/slack"

    def __init__(self, secret: str) -> None:
        self.verifier, self.received = SignatureVerifier(secret), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out, reply_headers = receiver.respond(body, headers,
                                                             receiver.verifier.is_valid_request(body, headers))
                self.send_response(status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{self.path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def respond(self, body: bytes, headers: dict[str, str], valid: bool) -> tuple[int, bytes, dict[str, str]]:
        """(status, body, headers) of the app's reply to one request, after keeping it in ``received``."""
        raise NotImplementedError

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
