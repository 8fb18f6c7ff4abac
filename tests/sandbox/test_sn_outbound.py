"""ServiceNow outbound REST messages: registered over the admin API, signed, one delivery id per change."""

from __future__ import annotations

import http.server
import json
import threading

import requests

from webhooks.receiver.verify import verify_servicenow


def test_admin_api_registers_a_signed_outbound_message(make_servicenow_sandbox):
    received: list[tuple[dict, bytes]] = []

    class Capture(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Capture)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sn = make_servicenow_sandbox(size=30)
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        bad = requests.post(f"{sn.url}/_sandbox/servicenow/webhooks", json={"url": url}, timeout=5)
        assert bad.status_code == 400
        ok = requests.post(f"{sn.url}/_sandbox/servicenow/webhooks",
                           json={"url": url, "secret": "s", "tables": ["incident"]}, timeout=5)
        assert ok.status_code == 201 and "secret" not in ok.json()
        sys_id = sn.records("incident")[0]["sys_id"]
        sn.update("incident", sys_id, {"state": "6"})
        sn.update("incident", sys_id, {"state": "6"})  # no change: the platform saves nothing, sends nothing
        sn.insert("change_request", {"short_description": "not subscribed"})
        assert sn.outbound.flush(10)
    finally:
        server.shutdown()
    assert len(received) == 1
    headers, body = received[0]
    assert verify_servicenow("s", body, headers, float(headers["x-servicenow-timestamp"]), 300) is None
    payload = json.loads(body)
    assert (payload["table"], payload["sys_id"], payload["operation"], payload["fields"]["state"]) == \
        ("incident", sys_id, "update", "6")
    assert headers["x-servicenow-delivery"] == f"incident:{sys_id}:{payload['sys_mod_count']}:update"
    listed = requests.get(f"{sn.url}/_sandbox/servicenow/webhooks", timeout=5).json()
    assert listed["endpoints"][0]["url"] == url and "secret" not in listed["endpoints"][0]
