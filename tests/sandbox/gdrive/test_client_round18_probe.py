"""Round-18 probe through google-api-python-client.

- ``sendNotificationEmail`` on permissions.create applies to ``user`` and ``group`` shares only: an ``anyone`` or
  ``domain`` share carrying the parameter at all (true or false) is 403 forbidden on ``sendNotificationEmail``, as
  is a transfer with it false, in Drive's words (it was taken for anyone/domain shares)."""

from __future__ import annotations

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
ONLY_PEOPLE = ("The sendNotificationEmail parameter is only applicable for permissions of type 'user' or 'group', "
               "and must not be disabled for ownership transfers.")


def test_send_notification_email_only_for_users_and_groups(drive, gdrive):
    perms = drive.permissions()
    f = drive.files().create(body={"name": "n.txt", "parents": [gdrive.evidence_folder]},
                             media_body=MediaInMemoryUpload(b"x", mimetype="text/plain")).execute()["id"]
    for body in ({"type": "anyone", "role": "reader"}, {"type": "domain", "role": "reader", "domain": "example.com"}):
        for notify in (True, False):
            status, error = refused(perms.create(fileId=f, body=body, sendNotificationEmail=notify))
            assert (status, error["reason"], error["location"], error["message"]) == (
                403, "forbidden", "sendNotificationEmail", ONLY_PEOPLE)
        assert perms.create(fileId=f, body=body, fields="type").execute() == {"type": body["type"]}
    user = perms.create(fileId=f, body={"type": "user", "role": "reader", "emailAddress": "bob@example.com"},
                        sendNotificationEmail=False, emailMessage="for the audit", fields="role").execute()
    assert user == {"role": "reader"}
    status, error = refused(perms.create(fileId=f, transferOwnership=True, sendNotificationEmail=False, body={
        "type": "user", "role": "owner", "emailAddress": "bob@example.com"}))
    assert (status, error["reason"], error["message"]) == (403, "forbidden", ONLY_PEOPLE)
    listed = perms.list(fileId=f, fields="permissions(type)").execute()["permissions"]
    assert sorted(p["type"] for p in listed) == ["anyone", "domain", "user", "user"]


def test_a_lost_reply_is_a_backend_error(drive, gdrive):
    """A call carried out whose reply is lost answers 5xx as Drive's other 5xx do, reason backendError (it said
    badRequest); the file was made all the same."""
    gdrive.sandbox.faults.set(rate_lost_reply=1.0, methods=["POST"])
    status, error = refused(drive.files().create(body={"name": "lost.txt", "parents": [gdrive.evidence_folder]}))
    gdrive.sandbox.faults.clear()
    assert (status, error["reason"], error["domain"]) == (gdrive.sandbox.faults.settings.status_5xx, "backendError",
                                                          "global")
    assert len(drive.files().list(q="name = 'lost.txt'").execute()["files"]) == 1
