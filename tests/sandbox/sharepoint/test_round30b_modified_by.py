"""Round 30b: only a real write (content, columns, name) makes the app a file's ``lastModifiedBy``.

``GraphStore.touch`` named the writer on every change number it stamped, so the app's check-in of a file a
person wrote, or its discarding a check-out, showed the app as the last modifier: the SharePoint evidence
store trusts a file whose last writer is itself (``sharepoint_check.unchanged``)."""

from __future__ import annotations

import requests

from tests.sandbox.sharepoint.test_client_probe import _token


def _session(w) -> tuple[requests.Session, str]:
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + _token(w)
    return s, f"{w.sandbox.graph_url}/drives/{w.library_id}"


def _writer(s, base, item_id) -> str:
    return s.get(f"{base}/items/{item_id}").json()["lastModifiedBy"]["application"]["id"]


def test_check_in_of_a_persons_file_keeps_the_person_as_last_modifier(sp_env):
    w = sp_env
    s, base = _session(w)
    made = s.put(f"{base}/root:/R30b/ci.txt:/content", data=b"app").json()
    item = w.sandbox.store.items[made["id"]]
    w.sandbox.store.add(item.drive_id, item.parent_id, item.name, b"person")  # a person, in the browser
    assert _writer(s, base, made["id"]) != w.client_id
    assert s.post(f"{base}/items/{made['id']}/checkout").status_code == 204
    assert s.post(f"{base}/items/{made['id']}/checkin", json={"comment": "ok"}).status_code == 204
    assert _writer(s, base, made["id"]) != w.client_id
    s.close()


def test_discarding_a_check_out_restores_the_checked_in_versions_writer(sp_env):
    w = sp_env
    s, base = _session(w)
    made = s.put(f"{base}/root:/R30b/dc.txt:/content", data=b"app").json()
    item = w.sandbox.store.items[made["id"]]
    w.sandbox.store.add(item.drive_id, item.parent_id, item.name, b"person")
    assert s.post(f"{base}/items/{made['id']}/checkout").status_code == 204
    s.put(f"{base}/items/{made['id']}/content", data=b"app draft")
    assert _writer(s, base, made["id"]) == w.client_id  # the draft is the app's write
    assert s.post(f"{base}/items/{made['id']}/discardCheckout").status_code == 204
    assert item.content == b"person" and _writer(s, base, made["id"]) != w.client_id
    s.put(f"{base}/items/{made['id']}/content", data=b"app again")  # a real write still names the app
    assert _writer(s, base, made["id"]) == w.client_id
    s.close()
