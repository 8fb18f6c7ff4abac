"""Google Drive evidence store (``PROJECTX_EVIDENCE_STORE=gdrive``) through ``google-api-python-client``
and a service account (``GOOGLE_APPLICATION_CREDENTIALS``, a key file; folder
``EVIDENCE_GOOGLE_DRIVE_FOLDER_ID``). ``EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT`` points the client at
another Drive (the sandbox); unset, it is Google's.

Each object is one file in the folder, named by its sha256 and carrying ``appProperties`` (``sha256`` and the
metadata, each value cut to Drive's 124-byte key+value limit). Files up to 5 MiB go in one multipart request;
larger ones by resumable upload in 8 MiB chunks. What Drive reports it stored (size and md5Checksum) is
checked against the content: a damaged copy is deleted and the content sent again as raw chunks (resumable),
once. A file already at the address (found by its ``sha256``) whose size or md5Checksum is not the content's
is never deleted or replaced: it is kept for review and the put raises ``ContentMismatch`` (a
``security_alert``; the file waits as pending), as the S3 store does. Every request is retried 3 times by the
client (5xx, 429, rate-limit 403s) before the error is mapped to the store errors of ``base``; a one-request
create is retried here instead: a create whose reply was lost stored the file, and sending it again would
store it twice. So each create names its file id, reserved beforehand with ``files.generateIds`` (a batch at a
time), and before a resend the file is read by that id (Drive's reads by id are current, where its search may
lag a create by moments); a resend that still meets the file answers 409 ``duplicate`` and the file is read by
id too. Without a reserved id (``generateIds`` refused) the folder is searched by content instead, as before.
A file this store created is remembered by its sha256 for the store's life, so a second ``put`` of the same
content moments later does not depend on the search either.

The folder may be in a shared drive, which is where it has to be for a service account created since
April 2025: those own no storage, so Drive refuses their uploads anywhere else (403 storageQuotaExceeded,
"Service Accounts do not have storage quota"). Every call says ``supportsAllDrives`` (and listings
``includeItemsFromAllDrives``): without them Drive answers 404 for a shared drive's folder and files.
"""

from __future__ import annotations

import io
import logging
import os
import random
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from resources.evidence.base import (
    StoredObject,
    StoreError,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    check_address,
    clean_metadata,
    content_address,
    verified,
)
from resources.evidence.gdrive_check import RawChunks, holds, oldest

log = logging.getLogger(__name__)
SCOPES = ["https://www.googleapis.com/auth/drive"]
SIMPLE_MAX = 5 * 1024 * 1024
CHUNK = 8 * 1024 * 1024
RETRIES = 3
ID_BATCH = 50  # file ids reserved per files.generateIds call (Drive gives up to 1000)
FIELDS = "id,name,size,createdTime,modifiedTime,appProperties,parents,trashed,md5Checksum,mimeType"
ALL_DRIVES = {"supportsAllDrives": True}  # the folder may be in a shared drive (see the module docstring)
LISTING = {**ALL_DRIVES, "includeItemsFromAllDrives": True}
# 403s for a folder or shared drive that is full by item count (not storage), or an account that has created
# as many items as Drive lets it: no grant helps, the store is full [unc: Drive's error guide names them]
ITEM_LIMITS = {"teamDriveFileLimitExceeded", "numChildrenInNonRootLimitExceeded", "activeItemCreationLimitExceeded"}


def drive_service(credentials_file: str, api_endpoint: str | None = None):
    """A Drive v3 client for a service-account key file, reading JSON as every vendor's is read
    (``pipelines.common.pages.loads``): a file name with bytes that are not UTF-8 comes back with them as
    lone surrogates, for the caller to record escaped, instead of failing the whole listing (the client's
    own model decodes the body strictly, so one such name stopped every later run at the same page)."""
    from google.oauth2 import service_account
    from googleapiclient.discovery import build
    from googleapiclient.model import JsonModel

    from pipelines.common.pages import loads

    class LenientJson(JsonModel):
        def deserialize(self, content):
            try:
                return loads(content)
            except ValueError:  # not JSON at all: as the client's model does
                return super().deserialize(content)

    creds = service_account.Credentials.from_service_account_file(credentials_file, scopes=SCOPES)
    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return build("drive", "v3", credentials=creds, client_options=options, cache_discovery=False,
                 model=LenientJson())


def drive_error(exc: Exception, action: str, folder: str, who: str) -> StoreError:
    from googleapiclient.errors import HttpError

    if not isinstance(exc, HttpError):
        return StoreUnavailable(f"Google Drive {action} failed ({type(exc).__name__}): check the network path "
                                "and EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT")
    status = exc.resp.status
    reasons = {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}
    if "storageQuotaExceeded" in reasons and "service accounts do not have storage quota" in str(exc).lower():
        return StoreQuotaError(f"Google Drive refused {action}: {who} is a service account, which owns no storage "
                               f"outside shared drives; put EVIDENCE_GOOGLE_DRIVE_FOLDER_ID ({folder}) in a shared "
                               "drive with the account as Content manager; evidence ingestion to Google Drive is "
                               "paused until then")
    if "storageQuotaExceeded" in reasons:
        return StoreQuotaError(f"Google Drive storage quota of {who} is exhausted ({action}): free space or raise "
                               "the quota, or move the folder to a shared drive (a service account's own quota "
                               "may be none); evidence ingestion to Google Drive is paused until then")
    full = reasons & ITEM_LIMITS
    if full:
        return StoreQuotaError(f"Google Drive refused {action} ({status} {', '.join(sorted(full))}): folder {folder} "
                               "(or its shared drive) holds as many items as Drive allows; point "
                               "EVIDENCE_GOOGLE_DRIVE_FOLDER_ID at a folder with room (in a shared drive with room); "
                               "evidence ingestion to Google Drive is paused until then")
    if "dailyLimitExceeded" in reasons:
        return StoreUnavailable(f"Google Drive refused {action}: the Drive API's daily request limit for the "
                                f"project of {who} is used up ({status} dailyLimitExceeded): tried again on the next "
                                "run; raise the quota in the Google Cloud console if it recurs")
    if status in (401, 403, 404) and not reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
        return StorePermissionError(
            f"Google Drive refused {action} ({status} {', '.join(sorted(r for r in reasons if r)) or ''}): share "
            f"folder {folder} with {who} as editor (in a shared drive: add it to the drive as Content manager), or "
            "check EVIDENCE_GOOGLE_DRIVE_FOLDER_ID and GOOGLE_APPLICATION_CREDENTIALS",
            resource=f"Drive folder {folder}")
    return StoreUnavailable(f"Google Drive {action} failed after {RETRIES} retries ({status}): retry later")


def _may_retry(exc: Exception) -> bool:
    """Whether googleapiclient would retry this failure: a dropped connection or timeout, 5xx, 429, or a
    403 for a rate limit."""
    from googleapiclient.errors import HttpError

    if not isinstance(exc, HttpError):
        return isinstance(exc, OSError)  # ConnectionError, TimeoutError (socket.timeout), ssl errors
    status = exc.resp.status
    reasons = {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}
    return status >= 500 or status == 429 or (status == 403 and bool(reasons & {"rateLimitExceeded",
                                                                                 "userRateLimitExceeded"}))


def _duplicate(exc: Exception) -> bool:
    """Drive's answer to a create naming an id already taken: 409 with reason ``duplicate``."""
    from googleapiclient.errors import HttpError

    if not isinstance(exc, HttpError) or exc.resp.status != 409:
        return False
    return "duplicate" in {d.get("reason") for d in (exc.error_details or []) if isinstance(d, dict)}


class DriveStore:
    """Content-addressed files in one Drive folder."""

    name = "gdrive"

    def __init__(self, folder_id: str, credentials_file: str, api_endpoint: str | None = None):
        if not folder_id or not credentials_file:
            raise StoreError("the Google Drive evidence store needs EVIDENCE_GOOGLE_DRIVE_FOLDER_ID and "
                             "GOOGLE_APPLICATION_CREDENTIALS (a service-account key file)")
        self.folder = folder_id
        self.service = drive_service(credentials_file, api_endpoint)
        self.who = self.service._http.credentials.service_account_email
        self._listing: dict[str, Any] | None = None
        self._ids: list[str] = []  # reserved by files.generateIds, not used yet
        self._made: dict[str, dict[str, Any]] = {}  # sha256 -> the file this store created (search may lag)
        self.retry_wait = 1.0  # scales the create's backoff (the client's: up to 2, 4, 8 s)

    @classmethod
    def from_env(cls) -> DriveStore:
        return cls(os.environ.get("EVIDENCE_GOOGLE_DRIVE_FOLDER_ID", ""),
                   os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""),
                   os.environ.get("EVIDENCE_GOOGLE_DRIVE_API_ENDPOINT") or None)

    def _run(self, request, action: str):
        try:
            return request.execute(num_retries=RETRIES)
        except Exception as exc:
            raise drive_error(exc, action, self.folder, self.who) from None

    def listing(self) -> dict[str, Any]:
        """The files.list parameters for the folder: in a shared drive, that drive's whole corpus
        (``corpora=drive``), since the default ``corpora=user`` shows a shared drive's items only to whoever
        created them or was shared on them, so another member's copy would go unseen and be stored twice."""
        if self._listing is None:
            folder = self._run(self.service.files().get(fileId=self.folder, fields="id,driveId,trashed", **ALL_DRIVES),
                               "files.get (the folder)")
            if folder.get("trashed"):  # a file made there is trashed too: unseen by every look-up, gone in 30 days
                raise StoreError(f"the Google Drive evidence folder {self.folder} is in the trash: restore it in "
                                 "Drive (Trash -> Restore) or set EVIDENCE_GOOGLE_DRIVE_FOLDER_ID to another folder")
            drive = folder.get("driveId")
            self._listing = {**LISTING, "corpora": "drive", "driveId": drive} if drive else dict(LISTING)
        return self._listing

    def _find(self, sha256: str) -> dict[str, Any] | None:
        q = (f"'{self.folder}' in parents and appProperties has {{ key='sha256' and value='{check_address(sha256)}' }}"
             " and trashed = false")
        found = self._run(self.service.files().list(q=q, fields=f"files({FIELDS})", pageSize=10, **self.listing()),
                          "files.list")
        return oldest(found.get("files", []))

    def _object(self, f: dict[str, Any]) -> StoredObject:
        props = dict(f.get("appProperties") or {})
        modified = datetime.fromisoformat(f["modifiedTime"].replace("Z", "+00:00")) if f.get("modifiedTime") else None
        return StoredObject(props.get("sha256", f["name"]), int(f.get("size") or 0),
                            f"gdrive://{self.folder}/{f['id']}", props, modified)

    def put(self, content: bytes, metadata: Mapping[str, str] | None = None) -> StoredObject:
        sha = content_address(content)
        existing = self._find(sha)
        if existing is None and sha in self._made:  # made here moments ago, not in the search yet: read by id
            existing = self._by_id(self._made[sha]["id"])
            existing = None if existing is None or existing.get("trashed") else existing
        if existing is not None:  # other bytes there: kept for review and flagged, never replaced or passed on
            self._holds(existing, sha, content)
            return self._object(existing)
        props = {"sha256": sha}
        for key, value in clean_metadata(metadata).items():
            props.setdefault(key, value.encode()[:max(0, 124 - len(key.encode()))].decode("utf-8", "ignore"))
        body = {"name": sha, "parents": [self.folder], "appProperties": props}
        resumable = len(content) > SIMPLE_MAX
        stored = self._upload(body, content, resumable)
        problem = self._damaged(stored, content)
        if problem and not resumable:  # a multipart body's framing can cost bytes: raw chunks cannot
            stored = self._upload(body, content, True)
            problem = self._damaged(stored, content)
        if problem:
            raise StoreUnavailable(f"Google Drive stored {problem} (file {stored.get('id')}, removed): the upload "
                                   "was damaged in transit twice; retry, and check any proxy between here and Drive")
        stored = self._settle(sha, stored)
        self._made[sha] = stored
        return self._object(stored)

    def _settle(self, sha: str, mine: dict[str, Any]) -> dict[str, Any]:
        """Two workers storing the same evidence at once each create a file (neither found the other's): the
        oldest intact copy is the object (as ``_find`` picks it), and a worker whose copy is not removes it."""
        q = (f"'{self.folder}' in parents and appProperties has {{ key='sha256' and value='{sha}' }} "
             "and trashed = false")
        listed = self._run(self.service.files().list(q=q, fields=f"files({FIELDS})", pageSize=10, **self.listing()),
                           "files.list")
        same = [f for f in listed.get("files", []) if f.get("id") != mine["id"] and f.get("size") == mine.get("size")
                and f.get("md5Checksum") == mine.get("md5Checksum")]
        keep = oldest([mine, *same])
        if keep is not None and keep["id"] != mine["id"]:
            self._remove(mine["id"])
            return keep
        return mine

    def _upload(self, body: dict[str, Any], content: bytes, resumable: bool) -> dict[str, Any]:
        from googleapiclient.http import MediaIoBaseUpload

        media = MediaIoBaseUpload(io.BytesIO(content), mimetype="application/octet-stream", chunksize=CHUNK,
                                  resumable=resumable)
        if not resumable:
            file_id = self._reserved_id()
            body = {**body, "id": file_id} if file_id else body
            request = self.service.files().create(body=body, media_body=media, fields=FIELDS, **ALL_DRIVES)
            return self._create_once(request, body["appProperties"]["sha256"], file_id)
        media = RawChunks(io.BytesIO(content), mimetype="application/octet-stream", chunksize=CHUNK, resumable=True)
        request = self.service.files().create(body=body, media_body=media, fields=FIELDS, **ALL_DRIVES)
        response, resumes = None, 0
        while response is None:
            try:
                _, response = request.next_chunk(num_retries=RETRIES)
            except Exception as exc:
                # the session lives on: the next call asks Drive what it has ("bytes */size") and goes on from
                # there; a session never opened (no URI) starts again, which makes no file either
                if resumes == RETRIES or not _may_retry(exc):
                    raise drive_error(exc, "resumable upload", self.folder, self.who) from None
                resumes += 1
                time.sleep(self.retry_wait * random.random() * 2 ** resumes)
        return response

    def _reserved_id(self) -> str | None:
        """A file id reserved with ``files.generateIds`` (ID_BATCH at a time); None when Drive refuses them (the
        create then falls back to the search by content before a resend)."""
        if not self._ids:
            try:
                got = self.service.files().generateIds(count=ID_BATCH, space="drive", fields="ids").execute(
                    num_retries=RETRIES)
                self._ids = [str(i) for i in (got.get("ids") or []) if isinstance(i, str) and i][::-1]
            except Exception as exc:  # not fatal: the create still works without a reserved id
                log.warning("Google Drive files.generateIds failed (%s): creating without a reserved id",
                            type(exc).__name__)
        return self._ids.pop() if self._ids else None

    def _by_id(self, file_id: str) -> dict[str, Any] | None:
        """The file with this id, None when there is none (404): a read by id, current at once."""
        from googleapiclient.errors import HttpError

        try:
            return self.service.files().get(fileId=file_id, fields=FIELDS, **ALL_DRIVES).execute(num_retries=RETRIES)
        except HttpError as exc:
            if exc.resp.status == 404:
                return None
            raise drive_error(exc, "files.get", self.folder, self.who) from None
        except Exception as exc:
            raise drive_error(exc, "files.get", self.folder, self.who) from None

    def _create_once(self, request, sha256: str, file_id: str | None = None) -> dict[str, Any]:
        """A one-request files.create, retried as the client would (5xx, 429, rate-limit 403s, a dropped
        connection) but never blindly: Drive may have stored the file and lost the reply, so before each
        resend the file is read by its reserved id (``file_id``; without one, the folder is searched for the
        content) and a file found is the answer; a resend Drive answers 409 ``duplicate`` (the id is taken:
        the first try made it) reads it too. (A resumable upload needs none of this: its session makes one
        file, however often a chunk is sent.)"""
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(self.retry_wait * random.random() * 2 ** attempt)  # the client's own backoff
                found = self._by_id(file_id) if file_id else self._find(sha256)
                if found is not None:
                    return found
            try:
                return request.execute()  # num_retries=0: the client's retry would resend without looking
            except Exception as exc:
                if file_id and _duplicate(exc):
                    found = self._by_id(file_id)
                    if found is not None:
                        return found
                if attempt == RETRIES or not _may_retry(exc):
                    raise drive_error(exc, "files.create", self.folder, self.who) from None
        raise AssertionError("unreachable")

    def _holds(self, f: dict[str, Any], sha: str, content: bytes) -> None:
        holds(self, f, sha, content)

    def _damaged(self, f: dict[str, Any], content: bytes) -> str | None:
        """What Drive kept of an upload just made, if not ``content`` (its size and md5Checksum, when it reports
        them); that damaged copy is deleted at once: it carries the content's sha256, so it would pass for the
        object. (A file found there before the upload is never deleted: ``_holds``.)"""
        import hashlib

        size, md5, ours = f.get("size"), f.get("md5Checksum"), hashlib.md5(content).hexdigest()
        if (size is None or int(size) == len(content)) and md5 in (None, ours):
            return None
        self._remove(f["id"])
        return f"{size} bytes with md5 {md5} for {len(content)} bytes with md5 {ours}"

    def _remove(self, file_id: str) -> None:
        """Delete a file this store just made (a damaged upload, or a second copy of the same evidence)."""
        from googleapiclient.errors import HttpError

        try:
            self.service.files().delete(fileId=file_id, **ALL_DRIVES).execute(num_retries=RETRIES)
        except Exception as exc:
            if isinstance(exc, HttpError) and exc.resp.status == 403:  # a shared drive's Content manager: trash it
                self._run(self.service.files().update(fileId=file_id, body={"trashed": True}, fields="id",
                                                      **ALL_DRIVES), "files.update (trash)")
            elif not (isinstance(exc, HttpError) and exc.resp.status == 404):  # 404: gone already (a retried delete)
                raise drive_error(exc, "files.delete", self.folder, self.who) from None

    def get(self, sha256: str) -> bytes:
        from googleapiclient.http import MediaIoBaseDownload

        f = self._find(sha256)
        if f is None:
            raise KeyError(sha256)
        buf = io.BytesIO()
        if int(f.get("size") or 0):
            request = self.service.files().get_media(fileId=f["id"], **ALL_DRIVES)
            downloader = MediaIoBaseDownload(buf, request, chunksize=CHUNK)
            try:
                done = False
                while not done:
                    _, done = downloader.next_chunk(num_retries=RETRIES)
            except Exception as exc:
                raise drive_error(exc, "download", self.folder, self.who) from None
        return verified(sha256, buf.getvalue(), f"Google Drive file {f['id']}")

    def head(self, sha256: str) -> StoredObject | None:
        f = self._find(sha256)
        return None if f is None else self._object(f)

    def exists(self, sha256: str) -> bool:
        return self._find(sha256) is not None

    def list(self, since: datetime | None = None) -> Iterator[StoredObject]:
        q = f"'{self.folder}' in parents and trashed = false"
        if since is not None:
            q += f" and modifiedTime > '{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3]}Z'"
        token = None
        while True:
            page = self._run(self.service.files().list(q=q, fields=f"nextPageToken,files({FIELDS})", pageSize=100,
                                                       pageToken=token, **self.listing()), "files.list")
            for f in page.get("files", []):
                if (f.get("appProperties") or {}).get("sha256"):
                    yield self._object(f)
            token = page.get("nextPageToken")
            if not token:
                return
