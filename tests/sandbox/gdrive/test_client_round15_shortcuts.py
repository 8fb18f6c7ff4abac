"""Shortcuts through google-api-python-client, as Drive's shortcut guide has them: ``shortcutDetails`` had
no ``targetMimeType`` (the target's type, copied when the shortcut is made), a shortcut made without a
name was "Untitled" (Drive takes the target's name), and a shortcut with no target, to a file that does
not exist or to another shortcut was made all the same."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
SHORTCUT = "application/vnd.google-apps.shortcut"


def test_shortcut_details_name_and_targets(drive, gdrive):
    files = drive.files()
    home = gdrive.evidence_folder
    pdf = files.create(body={"name": "soc2.pdf", "parents": [home]}, fields="id",
                       media_body=MediaInMemoryUpload(b"%PDF-1.4", mimetype="application/pdf")).execute()["id"]
    link = files.create(body={"mimeType": SHORTCUT, "shortcutDetails": {"targetId": pdf}, "parents": [home]},
                        fields="id,name,shortcutDetails").execute()
    assert link["name"] == "soc2.pdf"
    assert link["shortcutDetails"] == {"targetId": pdf, "targetMimeType": "application/pdf"}
    to_folder = files.create(body={"name": "Inbox", "mimeType": SHORTCUT, "parents": [home],
                                   "shortcutDetails": {"targetId": gdrive.inbox_folder}},
                             fields="shortcutDetails/targetMimeType").execute()
    assert to_folder == {"shortcutDetails": {"targetMimeType": "application/vnd.google-apps.folder"}}

    files.update(fileId=pdf, body={"name": "soc2-2025.pdf"},
                 media_body=MediaInMemoryUpload(b"PK\x03\x04", mimetype="application/zip")).execute()
    kept = files.get(fileId=link["id"], fields="name,shortcutDetails").execute()
    assert kept == {"name": "soc2.pdf",  # the name and the type's snapshot stay as they were
                    "shortcutDetails": {"targetId": pdf, "targetMimeType": "application/pdf"}}
    copied = files.copy(fileId=link["id"], body={"name": "again"}, fields="name,mimeType,shortcutDetails").execute()
    assert copied == {"name": "again", "mimeType": SHORTCUT, "shortcutDetails": kept["shortcutDetails"]}
    found = files.list(q=f"shortcutDetails.targetId = '{pdf}'", fields="files(name)").execute()["files"]
    assert sorted(x["name"] for x in found) == ["again", "soc2.pdf"]

    def why(body: dict) -> tuple[int, str]:
        status, detail = refused(files.create(body={"mimeType": SHORTCUT, "parents": [home], **body}))
        return status, detail["reason"]

    assert why({"name": "none"}) == (400, "required")
    assert why({"name": "gone", "shortcutDetails": {"targetId": "1nosuchfile"}}) == (404, "notFound")
    assert why({"name": "twice", "shortcutDetails": {"targetId": link["id"]}}) == (403, "shortcutTargetInvalid")
