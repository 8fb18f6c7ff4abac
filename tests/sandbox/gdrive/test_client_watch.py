"""Push notifications through google-api-python-client: files.watch / changes.watch open a channel, the
emulator POSTs Drive's notifications to an https receiver (sync first, then the resource's states),
channels.stop and expiry end them, a failing receiver is retried then dropped."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from googleapiclient.http import MediaInMemoryUpload

from sandbox.core.tls import server_context
from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


class Receiver:
    """An https endpoint (the sandbox CA's certificate) recording each notification's headers; answers
    ``statuses`` in turn, then 200."""

    def __init__(self) -> None:
        self.got: list[dict[str, str]] = []
        self.statuses: list[int] = []
        self.delay = 0.0  # seconds each answer takes
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(outer.delay)
                outer.got.append({k: v for k, v in self.headers.items() if k.lower().startswith("x-goog-")})
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx, _ = server_context()
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/notify"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def states(self, channel: str) -> list[str]:
        return [g["X-Goog-Resource-State"] for g in self.got if g["X-Goog-Channel-ID"] == channel]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _settled(gdrive) -> None:
    assert gdrive.sandbox.push.flush(10)


def test_files_watch_sync_update_trash_remove_and_stop(drive, gdrive, receiver):
    files = drive.files()
    f = files.create(body={"name": "w.txt", "parents": [gdrive.evidence_folder]},
                     media_body=MediaInMemoryUpload(b"one", mimetype="text/plain"), fields="id").execute()["id"]
    expires = int(time.time() * 1000) + 600_000
    channel = files.watch(fileId=f, body={"id": "chan-1", "type": "web_hook", "address": receiver.url,
                                          "token": "target=evidence", "expiration": str(expires)}).execute()
    assert channel["kind"] == "api#channel" and channel["id"] == "chan-1" and channel["token"] == "target=evidence"
    assert channel["expiration"] == str(expires) and channel["resourceId"]
    assert channel["resourceUri"].startswith(gdrive.sandbox.url + f"/drive/v3/files/{f}?")
    _settled(gdrive)
    assert receiver.states("chan-1") == ["sync"]
    sync = receiver.got[0]
    assert (sync["X-Goog-Message-Number"], sync["X-Goog-Channel-Token"], sync["X-Goog-Resource-ID"]) == (
        "1", "target=evidence", channel["resourceId"])
    assert sync["X-Goog-Resource-URI"] == channel["resourceUri"] and sync["X-Goog-Channel-Expiration"].endswith("GMT")

    files.update(fileId=f, media_body=MediaInMemoryUpload(b"two", mimetype="text/plain")).execute()
    _settled(gdrive)
    files.update(fileId=f, body={"name": "renamed.txt"}).execute()
    _settled(gdrive)
    files.update(fileId=f, body={"trashed": True}).execute()
    _settled(gdrive)
    files.update(fileId=f, body={"trashed": False}).execute()
    _settled(gdrive)
    assert receiver.states("chan-1") == ["sync", "update", "update", "trash", "untrash"]
    assert [g.get("X-Goog-Changed") for g in receiver.got[1:3]] == ["content", "properties"]
    numbers = [int(g["X-Goog-Message-Number"]) for g in receiver.got]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)

    drive.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    files.update(fileId=f, body={"name": "after-stop.txt"}).execute()
    _settled(gdrive)
    assert len(receiver.states("chan-1")) == 5
    status, error = refused(drive.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}))
    assert (status, error["reason"]) == (404, "notFound") and "chan-1" in error["message"]

    receiver.delay = 0.3  # a slow answer to the sync: the remove still comes after it
    files.watch(fileId=f, body={"id": "chan-2", "type": "web_hook", "address": receiver.url}).execute()
    files.delete(fileId=f).execute()
    _settled(gdrive)
    assert receiver.states("chan-2") == ["sync", "remove"]


def test_changes_watch_and_folder_children(drive, gdrive, receiver):
    token = drive.changes().getStartPageToken().execute()["startPageToken"]
    channel = drive.changes().watch(pageToken=token, body={"id": "changes-1", "type": "web_hook",
                                                           "address": receiver.url}).execute()
    assert channel["resourceUri"].startswith(gdrive.sandbox.url + "/drive/v3/changes?")
    left = int(channel["expiration"]) - time.time() * 1000
    assert 3500_000 < left <= 3600_000  # an hour by default
    folder = drive.files().watch(fileId=gdrive.evidence_folder, body={
        "id": "folder-1", "type": "web_hook", "address": receiver.url,
        "expiration": str(int(time.time() * 1000) + 10 * 86400_000)}).execute()
    assert int(folder["expiration"]) - time.time() * 1000 <= 86400_000  # cut to a day for files
    _settled(gdrive)
    drive.files().create(body={"name": "new.txt", "parents": [gdrive.evidence_folder]}).execute()
    _settled(gdrive)
    assert receiver.states("changes-1") == ["sync", "change"]
    assert receiver.states("folder-1") == ["sync", "update"]
    assert [g.get("X-Goog-Changed") for g in receiver.got if g["X-Goog-Channel-ID"] == "folder-1"] == [
        None, "children"]


def test_watch_refusals_and_expiry(drive, gdrive, receiver):
    files = drive.files()
    status, error = refused(files.watch(fileId=gdrive.evidence_folder, body={
        "id": "c", "type": "web_hook", "address": "http://127.0.0.1:9/notify"}))
    assert (status, error["reason"]) == (400, "push.webhookUrlNotHttps")
    assert error["message"] == "WebHook callback must be HTTPS: http://127.0.0.1:9/notify"
    status, error = refused(files.watch(fileId="missing", body={"id": "c", "type": "web_hook",
                                                                "address": receiver.url}))
    assert (status, error["message"]) == (404, "File not found: missing.")
    assert refused(files.watch(fileId=gdrive.evidence_folder, body={
        "id": "bad id!", "type": "web_hook", "address": receiver.url}))[1]["reason"] == "push.channelIdInvalid"
    assert refused(drive.changes().watch(body={"id": "c", "type": "web_hook", "address": receiver.url},
                                         pageToken="x"))[0] == 400
    files.watch(fileId=gdrive.evidence_folder, body={"id": "dup", "type": "web_hook", "address": receiver.url}
                ).execute()
    assert refused(files.watch(fileId=gdrive.evidence_folder, body={
        "id": "dup", "type": "web_hook", "address": receiver.url}))[1]["reason"] == "push.channelIdNotUnique"
    assert refused(drive.channels().stop(body={"id": "nope", "resourceId": "x"}))[0] == 404

    soon = str(int(time.time() * 1000) + 700)
    files.watch(fileId=gdrive.evidence_folder, body={"id": "short", "type": "web_hook", "address": receiver.url,
                                                     "expiration": soon}).execute()
    _settled(gdrive)
    time.sleep(0.8)
    files.create(body={"name": "late.txt", "parents": [gdrive.evidence_folder]}).execute()
    _settled(gdrive)
    assert receiver.states("short") == ["sync"] and receiver.states("dup") == ["sync", "update"]


def test_failing_receiver_is_retried_then_dropped_without_blocking(drive, gdrive, receiver):
    """503 is retried with backoff; 404 is dropped at once; the API answers meanwhile."""
    gdrive.sandbox.push.backoff_seconds, gdrive.sandbox.push.attempts = 0.05, 3
    receiver.statuses = [503, 503, 503]  # the sync message: three failures, dropped
    drive.files().watch(fileId=gdrive.evidence_folder, body={"id": "flaky", "type": "web_hook",
                                                             "address": receiver.url}).execute()
    _settled(gdrive)
    receiver.statuses, receiver.delay = [404], 2.0  # a slow receiver, answering 404
    started = time.monotonic()
    drive.files().create(body={"name": "x.txt", "parents": [gdrive.evidence_folder]}).execute()
    assert time.monotonic() - started < 1.5  # the API does not wait for the delivery
    _settled(gdrive)
    log = [d for d in gdrive.sandbox.push.deliveries if d["channel"] == "flaky"]
    sync = [d for d in log if d["number"] == 1]
    assert [d["status"] for d in sync] == [503, 503, 503] and sync[-1]["dropped"]
    update = [d for d in log if d["number"] == 2]
    assert len(update) == 1 and update[0]["status"] == 404 and update[0]["dropped"]
    admin = requests.get(gdrive.sandbox.url + "/_sandbox/gdrive/push?wait=5", verify=gdrive.sandbox.ca_bundle,
                         timeout=10).json()
    assert admin["settled"] and [c["id"] for c in admin["channels"]] == ["flaky"]
    assert [d["status"] for d in admin["deliveries"]] == [503, 503, 503, 404]


def test_shared_drive_change_log_channel(drive, gdrive, receiver):
    """changes.watch with driveId watches that shared drive's log: its changes notify, My Drive's do not."""
    team = drive.drives().create(requestId="w1", body={"name": "Team"}).execute()["id"]
    token = drive.changes().getStartPageToken(driveId=team, supportsAllDrives=True).execute()["startPageToken"]
    channel = drive.changes().watch(pageToken=token, driveId=team, supportsAllDrives=True, body={
        "id": "team-log", "type": "web_hook", "address": receiver.url}).execute()
    assert f"driveId={team}" in channel["resourceUri"]
    _settled(gdrive)
    drive.files().create(body={"name": "mine.txt", "parents": [gdrive.evidence_folder]}).execute()
    _settled(gdrive)
    assert receiver.states("team-log") == ["sync"]
    drive.files().create(body={"name": "team.txt", "parents": [team]}, supportsAllDrives=True).execute()
    _settled(gdrive)
    assert receiver.states("team-log") == ["sync", "change"]


def test_plain_http_receivers_only_when_the_sandbox_allows_them(make_gdrive_sandbox):
    """http_webhooks=True: a plain-http loopback address is taken (for receivers without TLS)."""
    import http.server

    got: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            got.append(self.headers["X-Goog-Resource-State"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        sb = make_gdrive_sandbox(http_webhooks=True)
        folder = sb.store.folder("F", "someone@example.com")
        who = "someone@example.com"
        token = sb.tokens.issue(who, who, "")["access_token"]
        answer = requests.post(f"{sb.url}/drive/v3/files/{folder.id}/watch", timeout=10,
                               headers={"Authorization": f"Bearer {token}"},
                               json={"id": "plain", "type": "web_hook",
                                     "address": f"http://127.0.0.1:{server.server_address[1]}/n"})
        assert answer.status_code == 200 and answer.json()["kind"] == "api#channel"
        assert sb.push.flush(10) and got == ["sync"]
    finally:
        server.shutdown()
        server.server_close()


def test_losing_and_regaining_access_is_remove_then_add(drive, gdrive, receiver):
    """A file channel tells the watcher when the file is unshared with it (remove) and shared again (add)."""
    sb, admin = gdrive.sandbox, "grc-admin@example.com"
    token = sb.tokens.issue(admin, admin, "")["access_token"]

    def as_admin(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, sb.url + path, headers={"Authorization": f"Bearer {token}"},
                                verify=sb.ca_bundle, timeout=10, **kwargs)

    made = as_admin("POST", "/drive/v3/files", json={"name": "memo.txt"}).json()["id"]
    perm = as_admin("POST", f"/drive/v3/files/{made}/permissions", json={
        "type": "user", "role": "reader", "emailAddress": gdrive.client_email}).json()["id"]
    drive.files().watch(fileId=made, body={"id": "memo", "type": "web_hook", "address": receiver.url}).execute()
    _settled(gdrive)
    assert as_admin("DELETE", f"/drive/v3/files/{made}/permissions/{perm}").status_code == 204
    _settled(gdrive)
    as_admin("POST", f"/drive/v3/files/{made}/permissions", json={
        "type": "user", "role": "writer", "emailAddress": gdrive.client_email})
    _settled(gdrive)
    assert receiver.states("memo") == ["sync", "remove", "add"]
