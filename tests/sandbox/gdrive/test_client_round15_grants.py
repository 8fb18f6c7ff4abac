"""permissions.create/update through google-api-python-client: a ``type=group`` grant listed as
``type: user``, and ``expirationTime`` was dropped without a word. Drive keeps a group a group and an
expiration on user and group grants, within its rules (Permission reference: only user and group
permissions, in the future, at most a year ahead; sharing guide: no temporary writers on My Drive
folders); ``removeExpiration=true`` drops it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from googleapiclient.http import MediaInMemoryUpload

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
FIELDS = "id,type,role,emailAddress,expirationTime"


def _at(days: float) -> tuple[str, str]:
    """An RFC 3339 time ``days`` from now as a client sends it and as Drive echoes it."""
    when = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=123000)
    return when.strftime("%Y-%m-%dT%H:%M:%S+00:00"), when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_group_grants_and_expiration_times(drive, gdrive):
    perms = drive.permissions()
    pdf = drive.files().create(body={"name": "r.pdf", "parents": [gdrive.evidence_folder]}, fields="id",
                               media_body=MediaInMemoryUpload(b"%PDF-1.4", mimetype="application/pdf")).execute()["id"]
    group = perms.create(fileId=pdf, body={"type": "group", "role": "commenter",
                                           "emailAddress": "auditors@example.com"}, fields=FIELDS).execute()
    assert (group["type"], group["role"], group["emailAddress"]) == ("group", "commenter", "auditors@example.com")
    assert "expirationTime" not in group

    sent, kept = _at(30)
    temp = perms.create(fileId=pdf, body={"type": "user", "role": "reader", "emailAddress": "ext@example.com",
                                          "expirationTime": sent}, fields=FIELDS).execute()
    assert temp["expirationTime"] == kept and temp["type"] == "user"
    later_sent, later = _at(60)
    moved = perms.update(fileId=pdf, permissionId=temp["id"], body={"expirationTime": later_sent},
                         fields=FIELDS).execute()
    assert moved["expirationTime"] == later
    kept_on_role_change = perms.update(fileId=pdf, permissionId=temp["id"], body={"role": "writer"},
                                       fields=FIELDS).execute()
    assert (kept_on_role_change["role"], kept_on_role_change["expirationTime"]) == ("writer", later)
    cleared = perms.update(fileId=pdf, permissionId=temp["id"], body={}, removeExpiration=True,
                           fields=FIELDS).execute()
    assert "expirationTime" not in cleared
    group_exp = perms.update(fileId=pdf, permissionId=group["id"], body={"expirationTime": sent},
                             fields=FIELDS).execute()
    assert (group_exp["type"], group_exp["expirationTime"]) == ("group", kept)
    listed = perms.list(fileId=pdf, fields=f"permissions({FIELDS})").execute()["permissions"]
    assert {p["emailAddress"]: (p["type"], p.get("expirationTime")) for p in listed if p["role"] != "owner"} == {
        "auditors@example.com": ("group", kept), "ext@example.com": ("user", None)}

    def why(**kwargs) -> tuple[int, str]:
        status, detail = refused(perms.create(**kwargs))
        return status, detail["reason"]

    assert why(fileId=pdf, body={"type": "anyone", "role": "reader", "expirationTime": sent}) == (
        403, "cannotSetExpirationOnAnyoneOrDomain")
    assert why(fileId=pdf, body={"type": "domain", "role": "reader", "domain": "example.com",
                                 "expirationTime": sent}) == (403, "cannotSetExpirationOnAnyoneOrDomain")
    assert why(fileId=pdf, body={"type": "user", "role": "reader", "emailAddress": "old@example.com",
                                 "expirationTime": _at(-1)[0]}) == (400, "expirationDatesMustBeInTheFuture")
    assert why(fileId=pdf, body={"type": "user", "role": "reader", "emailAddress": "far@example.com",
                                 "expirationTime": _at(400)[0]}) == (400, "invalid")
    folder = drive.files().create(body={"name": "Q1", "mimeType": "application/vnd.google-apps.folder",
                                        "parents": [gdrive.evidence_folder]}, fields="id").execute()["id"]
    assert why(fileId=folder, body={"type": "user", "role": "writer", "emailAddress": "tmp@example.com",
                                    "expirationTime": sent}) == (403, "cannotSetExpiration")
    reader = perms.create(fileId=folder, body={"type": "user", "role": "reader", "emailAddress": "tmp@example.com",
                                               "expirationTime": sent}, fields=FIELDS).execute()
    assert reader["expirationTime"] == kept
    status, detail = refused(perms.update(fileId=pdf, permissionId=group["id"], body={"role": "owner"},
                                          transferOwnership=True))
    assert (status, detail["reason"]) == (403, "invalidSharingRequest")  # ownership goes to a user only
    assert why(fileId=pdf, transferOwnership=True, body={"type": "group", "role": "owner",
                                                         "emailAddress": "owners@example.com"}) == (
        403, "invalidSharingRequest")
    perms.delete(fileId=pdf, permissionId=group["id"]).execute()
    again = perms.create(fileId=pdf, body={"type": "user", "role": "reader", "emailAddress": "auditors@example.com"},
                         fields=FIELDS).execute()
    assert again["type"] == "user" and "expirationTime" not in again  # nothing left over from the group grant
