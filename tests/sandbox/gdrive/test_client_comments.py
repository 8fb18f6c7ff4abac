"""google-api-python-client against the Drive emulator's comments and replies: ``fields`` is required
(Drive's 400 before anything is written), resolve / reopen through replies, deleted items with
``includeDeleted``, paging, and who may comment or edit."""

from __future__ import annotations

import time

from sandbox.gdrive.comments import Comment
from sandbox.gdrive.store import DriveFile
from tests.sandbox.gdrive.calls import raw, refused
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]
REQUIRED = "The 'fields' parameter is required for this operation."


def test_fields_is_required(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "c.txt", b"x")
    comments, replies = drive.comments(), drive.replies()
    made = comments.create(fileId=f["id"], body={"content": "first"}, fields="id").execute()
    for call in (comments.create(fileId=f["id"], body={"content": "no fields"}),
                 comments.list(fileId=f["id"]), comments.get(fileId=f["id"], commentId=made["id"]),
                 comments.update(fileId=f["id"], commentId=made["id"], body={"content": "x"}),
                 replies.create(fileId=f["id"], commentId=made["id"], body={"content": "r"}),
                 replies.list(fileId=f["id"], commentId=made["id"])):
        status, detail = refused(call)
        assert (status, detail["reason"], detail["message"], detail["location"]) == (400, "required", REQUIRED,
                                                                                      "fields")
    listed = comments.list(fileId=f["id"], fields="comments(id,content)").execute()
    assert listed == {"comments": [{"id": made["id"], "content": "first"}]}  # the refused create wrote nothing
    envelope = raw(gdrive, "GET", f"/drive/v3/files/{f['id']}/comments")
    assert envelope.status_code == 400 and envelope.json() == {"error": {
        "code": 400, "message": REQUIRED, "status": "INVALID_ARGUMENT",
        "errors": [{"domain": "global", "reason": "required", "message": REQUIRED, "locationType": "parameter",
                    "location": "fields"}]}}
    status, detail = refused(comments.list(fileId=f["id"], fields="comments(id,colour)"))
    assert status == 400 and detail["message"] == "Invalid field selection comments/colour"


def test_comment_lifecycle_and_resolution(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "review.txt", b"quarterly access review")
    comments, replies = drive.comments(), drive.replies()
    c = comments.create(fileId=f["id"], body={"content": "Is <this> signed? +auditor@example.com",
                                              "quotedFileContent": {"mimeType": "text/plain", "value": "access"}},
                        fields="*").execute()
    assert c["kind"] == "drive#comment" and c["resolved"] is False and c["deleted"] is False
    assert c["htmlContent"] == "Is &lt;this&gt; signed? +auditor@example.com"
    assert c["mentionedEmailAddresses"] == ["auditor@example.com"] and c["replies"] == []
    assert c["quotedFileContent"] == {"mimeType": "text/plain", "value": "access"}
    assert c["author"]["me"] is True and "emailAddress" not in c["author"] and "permissionId" not in c["author"]
    updated = comments.update(fileId=f["id"], commentId=c["id"], body={"content": "Signed?"},
                              fields="content,modifiedTime").execute()
    assert updated["content"] == "Signed?" and updated["modifiedTime"] >= c["modifiedTime"]

    r = replies.create(fileId=f["id"], commentId=c["id"], body={"content": "Yes", "action": "resolve"},
                       fields="id,action,content").execute()
    assert r["action"] == "resolve" and r["content"] == "Yes"
    assert comments.get(fileId=f["id"], commentId=c["id"], fields="resolved,replies(id)").execute() == {
        "resolved": True, "replies": [{"id": r["id"]}]}
    replies.create(fileId=f["id"], commentId=c["id"], body={"action": "reopen"}, fields="id").execute()
    assert comments.get(fileId=f["id"], commentId=c["id"], fields="resolved").execute() == {"resolved": False}
    status, detail = refused(replies.create(fileId=f["id"], commentId=c["id"], body={"action": "close"},
                                            fields="id"))
    assert (status, detail["reason"]) == (400, "invalid")
    status, detail = refused(replies.create(fileId=f["id"], commentId=c["id"], body={}, fields="id"))
    assert (status, detail["reason"]) == (400, "required")

    got = replies.get(fileId=f["id"], commentId=c["id"], replyId=r["id"], fields="content").execute()
    assert got == {"content": "Yes"}
    assert replies.update(fileId=f["id"], commentId=c["id"], replyId=r["id"], body={"content": "Yes, signed"},
                          fields="content").execute() == {"content": "Yes, signed"}
    assert replies.delete(fileId=f["id"], commentId=c["id"], replyId=r["id"]).execute() == ""
    assert len(replies.list(fileId=f["id"], commentId=c["id"], fields="replies(id)").execute()["replies"]) == 1
    with_deleted = replies.list(fileId=f["id"], commentId=c["id"], includeDeleted=True,
                                fields="replies(id,deleted,content)").execute()["replies"]
    assert with_deleted[0] == {"id": r["id"], "deleted": True}
    status, detail = refused(replies.get(fileId=f["id"], commentId=c["id"], replyId=r["id"], fields="id"))
    assert (status, detail["reason"], detail["location"]) == (404, "notFound", "replyId")

    assert comments.delete(fileId=f["id"], commentId=c["id"]).execute() == ""
    status, detail = refused(comments.get(fileId=f["id"], commentId=c["id"], fields="id"))
    assert (status, detail["reason"], detail["location"]) == (404, "notFound", "commentId")
    gone = comments.get(fileId=f["id"], commentId=c["id"], includeDeleted=True, fields="deleted,content").execute()
    assert gone == {"deleted": True}
    assert comments.list(fileId=f["id"], fields="comments(id)").execute() == {"comments": []}
    listed = comments.list(fileId=f["id"], includeDeleted=True, fields="comments(id,deleted)").execute()
    assert listed == {"comments": [{"id": c["id"], "deleted": True}]}
    status, _ = refused(replies.create(fileId=f["id"], commentId=c["id"], body={"content": "late"}, fields="id"))
    assert status == 404


def test_comment_paging_and_start_time(drive, gdrive):
    f = upload(drive, gdrive.evidence_folder, "many.txt", b"x")
    made = []
    for n in range(5):
        made.append(drive.comments().create(fileId=f["id"], body={"content": f"note {n}"},
                                            fields="id,modifiedTime").execute())
        time.sleep(0.002)  # distinct modifiedTime
    seen, token = [], None
    while True:
        got = drive.comments().list(fileId=f["id"], pageSize=2, pageToken=token,
                                    fields="nextPageToken,comments(id)").execute()
        seen += [c["id"] for c in got["comments"]]
        token = got.get("nextPageToken")
        if not token:
            break
    assert seen == [c["id"] for c in made]
    later = drive.comments().list(fileId=f["id"], startModifiedTime=made[3]["modifiedTime"],
                                  fields="comments(id)").execute()["comments"]
    assert [c["id"] for c in made[3:]] == [c["id"] for c in later]
    status, detail = refused(drive.comments().list(fileId=f["id"], pageSize=0, fields="comments(id)"))
    assert (status, detail["location"]) == (400, "pageSize")


def test_who_may_comment_and_edit(drive, gdrive):
    store = gdrive.sandbox.store
    dropped = store.add(DriveFile(store.new_id(), "dropped.pdf", "application/pdf", [gdrive.inbox_folder],
                                  "auditor@example.com", b"%PDF-1.4"))
    theirs = Comment("AAAAtheirs", "auditor@example.com", "Please file this")
    dropped.comments.append(theirs)
    listed = drive.comments().list(fileId=dropped.id, fields="comments(id,author(displayName,me))").execute()
    assert listed == {"comments": [{"id": "AAAAtheirs", "author": {"displayName": "Auditor", "me": False}}]}
    status, detail = refused(drive.comments().create(fileId=dropped.id, body={"content": "ok"}, fields="id"))
    assert (status, detail["reason"]) == (403, "insufficientFilePermissions")  # a reader may not comment

    mine = upload(drive, gdrive.evidence_folder, "mine.txt", b"x")
    store.files[mine["id"]].comments.append(Comment("AAAAother", "auditor@example.com", "from someone else"))
    status, detail = refused(drive.comments().update(fileId=mine["id"], commentId="AAAAother",
                                                     body={"content": "rewritten"}, fields="id"))
    assert (status, detail["reason"]) == (403, "insufficientFilePermissions")  # only the author edits
    assert drive.comments().delete(fileId=mine["id"], commentId="AAAAother").execute() == ""  # a writer deletes
