"""Round 9 of Graph through msgraph-sdk: change notifications (webhooks) for drives and lists. ``POST
/v1.0/subscriptions`` was 404; now the emulator validates the notificationUrl (validationToken echoed as text/plain)
and POSTs notifications on changes to the watched drive or list. Receivers listen on 127.0.0.1 only."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_rest_api import rest

__all__ = ["graph", "rest"]


class Receiver:
    """A loopback webhook receiver: ``mode`` says how it answers validation (echo, wrong, json, slow, 403);
    ``fail`` is how many notifications to answer 503 first; ``got`` holds the notification bodies."""

    def __init__(self, mode: str = "echo", fail: int = 0) -> None:
        self.mode, self.fail, self.got, self.tokens, self.attempts = mode, fail, [], [], 0
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                token = parse_qs(urlsplit(self.path).query).get("validationToken")
                if token:
                    outer.tokens.append(token[0])
                    if outer.mode == "slow":
                        time.sleep(1.0)
                    answer, kind, status = {"wrong": (b"nope", "text/plain", 200), "403": (b"", "text/plain", 403),
                                            "json": (json.dumps(token[0]).encode(), "application/json", 200)
                                            }.get(outer.mode, (token[0].encode(), "text/plain; charset=utf-8", 200))
                    return self._answer(status, answer, kind)
                outer.attempts += 1
                if outer.fail > 0:
                    outer.fail -= 1
                    return self._answer(503, b"", "text/plain")
                with outer.arrived:
                    outer.got.append(json.loads(body))
                    outer.arrived.notify_all()
                return self._answer(202, b"", "text/plain")

            def _answer(self, status, body, kind):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the emulator gave up waiting (the slow case)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wait(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.got) >= count, timeout)
        return list(self.got)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(mode: str = "echo", fail: int = 0) -> Receiver:
        made.append(Receiver(mode, fail))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _in(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_drive_subscription_through_msgraph_notifies_on_upload(sharepoint, receiver, graph):
    """client.subscriptions.post for /drives/{id}/root: validated first, then an upload and a delete each notify with
    the subscription's id, clientState, resource and tenant; list, get, renew (PATCH) and delete it."""
    from msgraph.generated.models.subscription import Subscription

    w, s, base = graph
    hook = receiver()
    resource = f"/drives/{w.library_id}/root"

    async def run(client, _drive):
        made = await client.subscriptions.post(Subscription(
            change_type="updated", notification_url=hook.url, resource=resource, client_state="s3cret",
            expiration_date_time=datetime.now(UTC) + timedelta(days=2)))
        listed = await client.subscriptions.get()
        renewed = await client.subscriptions.by_subscription_id(made.id).patch(
            Subscription(expiration_date_time=datetime.now(UTC) + timedelta(days=20)))
        return made, listed, renewed

    made, listed, renewed = _sdk(w, run)
    assert hook.tokens and hook.tokens[0].startswith("Validation: ")
    assert (made.resource, made.change_type, made.client_state, made.application_id) == (
        resource, "updated", "s3cret", w.client_id)
    assert [x.id for x in listed.value] == [made.id]
    assert renewed.expiration_date_time > made.expiration_date_time
    assert s.put(f"{base}/root:/Audit/report.txt:/content", data=b"q1").status_code == 201
    [first] = hook.wait(1)
    note = first["value"][0]
    assert (note["subscriptionId"], note["clientState"], note["changeType"], note["resource"], note["tenantId"]) == (
        made.id, "s3cret", "updated", resource, w.tenant_id)
    assert note["subscriptionExpirationDateTime"].startswith(renewed.expiration_date_time.strftime("%Y-%m-%dT%H:%M"))
    time.sleep(0.3)  # let the upload's changes settle into one notification
    seen = len(hook.got)
    assert s.delete(f"{base}/root:/Audit/report.txt:").status_code == 204
    assert len(hook.wait(seen + 1)) == seen + 1
    one = s.get(f"{w.sandbox.graph_url}/subscriptions/{made.id}")
    assert one.status_code == 200 and one.json()["notificationUrl"] == hook.url
    assert s.delete(f"{w.sandbox.graph_url}/subscriptions/{made.id}").status_code == 204
    assert s.get(f"{w.sandbox.graph_url}/subscriptions/{made.id}").status_code == 404
    time.sleep(0.2)
    before = len(hook.got)
    s.put(f"{base}/root:/after.txt:/content", data=b"x")
    time.sleep(0.5)
    assert len(hook.got) == before  # a deleted subscription stops notifying


def test_list_subscription_notifies_on_graph_and_rest_changes(sharepoint, receiver, graph, rest):
    """A subscription on /sites/{id}/lists/{id} of a custom list: an item added through Graph, and one added through
    SharePoint REST, each notify; a library's list stands for its drive."""
    w, s, _ = graph
    hook = receiver()
    lists = f"{w.sandbox.graph_url}/sites/{w.site_id}/lists"
    lst = s.post(lists, json={"displayName": "Requests", "list": {"template": "genericList"}}).json()
    resource = f"/sites/{w.site_id}/lists/{lst['id']}"
    made = s.post(f"{w.sandbox.graph_url}/subscriptions", json={
        "changeType": "updated", "notificationUrl": hook.url, "resource": resource, "expirationDateTime": _in(60)})
    assert made.status_code == 201, made.text
    assert made.json()["clientState"] is None
    assert s.post(f"{lists}/{lst['id']}/items", json={"fields": {"Title": "one"}}).status_code == 201
    [first] = hook.wait(1)
    assert first["value"][0]["resource"] == resource and first["value"][0]["subscriptionId"] == made.json()["id"]
    w.sandbox.store.changed("drive", w.library_id)  # a library change is not this list's
    time.sleep(0.3)
    assert len(hook.got) == 1
    _, ctx = rest
    ctx.web.lists.get_by_title("Requests").add_item({"Title": "two"}).execute_query()  # through SharePoint REST
    assert len(hook.wait(2)) == 2
    library = s.get(f"{lists}/Evidence").json()
    lib_sub = s.post(f"{w.sandbox.graph_url}/subscriptions", json={
        "changeType": "updated", "notificationUrl": hook.url, "expirationDateTime": _in(60),
        "resource": f"/sites/{w.site_id}/lists/{library['id']}"})
    assert lib_sub.status_code == 201
    s.put(f"{w.sandbox.graph_url}/drives/{w.library_id}/root:/x.txt:/content", data=b"x")
    got = hook.wait(3)
    assert got[-1]["value"][0]["subscriptionId"] == lib_sub.json()["id"]


def test_validation_failures_and_limits(sharepoint, receiver, graph):
    """A wrong echo, a JSON echo, a 403 and a slow receiver fail validation with Graph's 400s; the expiration limit
    (42,300 minutes for driveItem and list), the change type and the resource are checked."""
    w, s, _ = graph
    url = f"{w.sandbox.graph_url}/subscriptions"

    def sub(notification_url: str, **extra):
        body = {"changeType": "updated", "notificationUrl": notification_url, "expirationDateTime": _in(60),
                "resource": f"/drives/{w.library_id}/root", **extra}
        return s.post(url, json=body)

    for mode, code, text in (("wrong", "ValidationError", "Response must exactly match validationToken"),
                             ("json", "ValidationError", "Response must exactly match validationToken"),
                             ("403", "ValidationError", "Notification endpoint must respond with 200 OK")):
        r = sub(receiver(mode).url)
        assert r.status_code == 400 and r.json()["error"]["code"] == code and text in r.json()["error"]["message"]
    w.sandbox.validation_timeout = 0.3
    slow = sub(receiver("slow").url)
    assert slow.status_code == 400 and slow.json()["error"]["message"] == "Subscription validation request timed out."
    w.sandbox.validation_timeout = 10.0
    ok = receiver()
    too_long = sub(ok.url, expirationDateTime=_in(42300 + 5))
    assert too_long.status_code == 400 and "42300 minutes" in too_long.json()["error"]["message"]
    assert sub(ok.url, expirationDateTime=_in(42300 - 5)).status_code == 201
    assert sub(ok.url, expirationDateTime=_in(-1)).status_code == 400
    assert sub(ok.url, changeType="created").status_code == 400
    assert sub(ok.url, lifecycleNotificationUrl=receiver("wrong").url).status_code == 400  # validated too
    assert sub(ok.url, resource=f"/drives/{w.library_id}/items/abc").status_code == 400
    assert sub("http://example.com/hook").status_code == 400  # Graph wants https
    assert s.get(url).json()["value"][0]["expirationDateTime"].endswith("Z")


def test_retries_and_expiry(sharepoint, receiver, graph):
    """A receiver answering 503 twice gets the notification on the third try; an expired subscription stops
    notifying and is gone."""
    w, s, base = graph
    w.sandbox.notify_retry_delays = (0.05, 0.05, 0.05)
    hook = receiver(fail=2)
    url = f"{w.sandbox.graph_url}/subscriptions"
    made = s.post(url, json={"changeType": "updated", "notificationUrl": hook.url, "expirationDateTime": _in(0.03),
                             "resource": f"/sites/{w.site_id}/drive/root", "clientState": "c"})
    assert made.status_code == 201, made.text
    s.put(f"{base}/root:/a.txt:/content", data=b"a")
    assert len(hook.wait(1)) == 1 and hook.attempts == 3
    deadline = time.time() + 2
    while len(w.sandbox.notifications) < 3 and time.time() < deadline:
        time.sleep(0.02)  # the emulator logs the attempt after the receiver answered
    assert [n["status"] for n in w.sandbox.notifications] == [503, 503, 202]
    time.sleep(max(0.0, datetime.fromisoformat(made.json()["expirationDateTime"].replace("Z", "+00:00")).timestamp()
                   - time.time()) + 0.1)
    s.put(f"{base}/root:/b.txt:/content", data=b"b")
    time.sleep(0.4)
    assert len(hook.got) == 1 and hook.attempts == 3
    assert s.get(f"{url}/{made.json()['id']}").status_code == 404
    assert s.patch(f"{url}/{made.json()['id']}", json={"expirationDateTime": _in(60)}).status_code == 404
