"""files.generateIds ``type`` through google-api-python-client: Drive's reference takes "files" and
"shortcuts" ("shortcuts are only supported in the drive space"); the emulator took any value."""

from __future__ import annotations

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]


def test_generate_ids_type(drive, gdrive):
    files = drive.files()
    for kind in ("files", "shortcuts"):
        got = files.generateIds(count=2, type=kind, fields="space,ids").execute()
        assert got["space"] == "drive" and len(set(got["ids"])) == 2
    appdata = files.generateIds(count=1, type="files", space="appDataFolder", fields="space").execute()
    assert appdata == {"space": "appDataFolder"}
    target = files.create(body={"name": "t.txt", "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
    link_id = files.generateIds(count=1, type="shortcuts", fields="ids").execute()["ids"][0]
    link = files.create(body={"id": link_id, "name": "t link", "mimeType": "application/vnd.google-apps.shortcut",
                              "shortcutDetails": {"targetId": target}, "parents": [gdrive.evidence_folder]},
                        fields="id").execute()
    assert link == {"id": link_id}
    for kwargs in ({"type": "folders"}, {"type": "shortcuts", "space": "appDataFolder"}):
        status, detail = refused(files.generateIds(count=1, **kwargs))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "type"), kwargs
