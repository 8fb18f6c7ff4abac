"""`DriveSandbox`: Google Drive API v3 (files, uploads, changes, revisions, comments, shared drives) and
Google's OAuth token endpoint for service accounts, on ``sandbox.core``. ``google-api-python-client`` works
against it unchanged: ``build("drive", "v3", credentials=service_account.Credentials.from_service_account_info(info),
client_options={"api_endpoint": sb.url + "/drive/v3/"})`` with ``info["token_uri"] = sb.token_url``.

- ``files.get(fileId="root")`` is the caller's My Drive root (where files created without parents go; ``root``
  also in ``parents``, ``addParents``, ``removeParents`` and ``q``).
- ``files.create``/``update``/``copy`` (``writes.py``): moves with ``addParents``/``removeParents``
  (``parents`` in the body is 403 fieldNotWritable; a second parent is 403 cannotAddParent, as files have
  one parent since 2020); a folder takes its contents into the trash and away; metadata alone makes an
  empty ``application/octet-stream`` file (a folder only with the folder mimeType); ``keepRevisionForever``;
  sharing and copy settings (``extras.py``); every capability (``capabilities.py``).
- A page token or page size Drive would not accept is 400 ``invalid`` with its ``location``.
- Custom properties over 124 bytes (key and value) or 30 of a kind per file, and resumable chunks whose
  ``Content-Range`` disagrees with the session or the bytes sent, are 400 (``limits.py``).
- Uploads: ``uploadType=media``, ``multipart`` and ``resumable`` (session URI in ``Location``,
  chunks with ``Content-Range``, ``308`` with ``Range`` until complete); downloads with ``alt=media``
  honour ``Range`` (``media.py``); a file flagged ``abusive`` needs ``acknowledgeAbuse=true`` by its owner.
- Files carry ``appProperties``, ``properties``, ``md5Checksum``, ``sha256Checksum``, ``capabilities``,
  ``permissions`` ...; every method honours ``fields`` (``fields.py``: partial responses, Drive's default
  sets, 400 "Invalid field selection"); ``q`` as in ``query.py``; ``orderBy`` on files.list (``name``,
  ``name_natural``, ``createdTime``, ``modifiedTime``, ``folder``, ``starred``, ``quotaBytesUsed``, each with
  ``desc``); files.update replaces content too (``PATCH /upload/drive/v3/files/{id}``).
- ``files.list``, ``changes.getStartPageToken`` / ``changes.list`` (``listing.py``): every create, update,
  trash, share and delete (one entry per file between two page tokens, its latest state); one change log
  for the user and one per shared drive (``driveId``); with
  ``includeItemsFromAllDrives`` the user's also carries their shared drives' items and the drives' own
  changes (``changeType: "drive"``).
- ``permissions.list/get/create/update/delete`` (``permissions.py``: ownership transfers by the owner only,
  consumer accounts through ``pendingOwner``); ``about.get`` (``fields`` required); ``files.listLabels`` /
  ``modifyLabels`` (no labels exist);
  batch requests, ``POST /batch/drive/v3`` (``batch.py``).
- ``revisions.*`` (``revisions.py``): every content upload is a new head revision; ``comments.*`` and
  ``replies.*`` (``comments.py``, ``fields`` required); shared drives, ``drives.*`` (``drives.py``): their
  items need ``supportsAllDrives=true`` (else 404 notFound, as Drive) and carry ``driveId``.
- Permissions: a service account writes only into folders shared with it as writer
  (403 insufficientFilePermissions); uploads past ``quota_bytes`` fail with 403 storageQuotaExceeded.
  ``service_account_quota=False``: as Google's service accounts since April 2025, a service account can own
  nothing outside shared drives (every create, upload and copy there is 403 storageQuotaExceeded "Service
  Accounts do not have storage quota…"; updates of existing files work); the default keeps the old accounts.
- Google-native files (``application/vnd.google-apps.*``: Docs, Sheets, Slides, shortcuts ...) have no
  binary content, as on Drive: no ``size``/``md5Checksum``, ``alt=media`` is 403 fileNotDownloadable;
  Docs Editors files export to their formats (``export.py``; 400 for a conversion Drive does not offer),
  anything else is 403 fileNotExportable.
- Spaces (``spaces.py``): ``appDataFolder`` as a folder alias and a space of its own; a shared drive's id is
  also its top folder's and permissions on it manage members (``members.py``).
- Push notifications (``watch.py``, ``push.py``): ``files.watch``, ``changes.watch`` and ``channels.stop``;
  the emulator POSTs Drive's notifications to the channel's https address from a background thread;
  ``GET /_sandbox/gdrive/push?wait=N`` shows the channels and every delivery attempt.
- ``useDomainAdminAccess=true`` (``domain_admin.py``): 403 unless the caller is in ``sb.domain_admins``.
- Token scopes bound what a token may do and ``with_subject`` needs ``accounts.delegate(...)`` (``auth.py``).
- Faults (``sb.faults``): 429 rateLimitExceeded + Retry-After (with ``sb.user_rate_limit = True``: 403
  userRateLimitExceeded "User Rate Limit Exceeded", Drive's other answer; ``sb.rate_limit_403 = True``: 403
  rateLimitExceeded "Rate Limit Exceeded", as Drive's error guide shows; googleapiclient retries all three),
  5xx backendError, 401 authError, 403 insufficientFilePermissions; ``expire_tokens`` / ``revoke_tokens`` as elsewhere.
  ``sb.search_lag_seconds``: files.list finds a new file only that long after its create (a read by id finds it
  at once), as Drive's search index lags.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.clock import SandboxClock
from sandbox.core.faults import Decision
from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import control_number
from sandbox.core.tokens import TokenStore
from sandbox.gdrive.auth import ServiceAccounts, allows
from sandbox.gdrive.batch import BATCH_ROUTES, Batch
from sandbox.gdrive.capabilities import complete
from sandbox.gdrive.comments import COMMENT_ROUTES, Comments
from sandbox.gdrive.domain_admin import DomainAdmin
from sandbox.gdrive.drives import DRIVE_ROUTES, Drives
from sandbox.gdrive.errors import DriveError, drive_error
from sandbox.gdrive.export import export
from sandbox.gdrive.extras import show
from sandbox.gdrive.fields import select
from sandbox.gdrive.grants import expire
from sandbox.gdrive.housekeeping import FileHousekeeping
from sandbox.gdrive.listing import Listing, all_drives
from sandbox.gdrive.media import download
from sandbox.gdrive.members import DriveMembers
from sandbox.gdrive.operations import OPERATION_ROUTES, Operations
from sandbox.gdrive.permissions import Permissions
from sandbox.gdrive.push import PushHub
from sandbox.gdrive.revisions import REVISION_ROUTES, Revisions
from sandbox.gdrive.spaces import APPDATA, alias, appdata_id, space_of
from sandbox.gdrive.store import EXPORT_FORMATS, FOLDER, GOOGLE_APPS, DriveFile, now_rfc3339, root_id, user
from sandbox.gdrive.teamdrives import TEAMDRIVE_ROUTES, TeamDrives
from sandbox.gdrive.themes import about_themes
from sandbox.gdrive.uploads import UPLOAD, Uploads
from sandbox.gdrive.watch import WATCH_ROUTES, NotifyingStore, Watches
from sandbox.gdrive.writes import Writes

FILES = r"/drive/v3/files"
INVALID_CREDENTIALS = ("Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
                       "other valid authentication credential. See "
                       "https://developers.google.com/identity/sign-in/web/devconsole-project.")
UNREGISTERED = ("Method doesn't allow unregistered callers (callers without established identity). Please use API Key "
                "or other form of API consumer identity to call this API.")


class DriveSandbox(FileHousekeeping, DomainAdmin, Writes, Uploads, Permissions, DriveMembers, Listing, Revisions,
                   Comments, Drives, TeamDrives, Batch, Watches, Operations, Sandbox):
    vendor = "gdrive"
    server_header = "ESF"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, tls: bool = False,
                 latency_ms: float = 0, quota_bytes: int = 10 * 1024**3, token_ttl_seconds: int = 3600,
                 service_account_quota: bool = True, http_webhooks: bool = False, **kwargs: Any) -> None:
        self.store = NotifyingStore(quota_bytes, service_account_quota)
        self.clock = SandboxClock(datetime.now(UTC))  # Drive's now, for grants' expirationTime; tests advance it
        self.push = PushHub()  # push notifications (watch.py, push.py)
        self.http_webhooks = http_webhooks  # True: watch channels may post to plain-http addresses
        self.user_rate_limit = False  # True: the 429 fault answers as Drive's 403 userRateLimitExceeded
        self.rate_limit_403 = False  # True: ... as Drive's 403 rateLimitExceeded (its error guide's other 403)
        self.domain_admins: set[str] = set()  # Workspace administrators: useDomainAdminAccess (domain_admin.py)
        # > 0: files.list leaves a new file out for this many seconds after its create (Drive's search lags a
        # create by moments; reads by id are current at once); search_ready: file id -> when it is searchable
        self.search_lag_seconds = 0.0
        self.search_ready: dict[str, float] = {}
        self.store.listeners.append(self._on_changes)
        self.tokens = TokenStore(ttl_seconds=token_ttl_seconds)
        self.accounts = ServiceAccounts(self.tokens)
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms, **kwargs)
        self.faults.tokens = self.tokens
        self.admin.add("GET", r"/_sandbox/gdrive/push", self._admin_push)

    def _admin_push(self, req: Request) -> Response:
        """GET /_sandbox/gdrive/push[?wait=seconds]: open channels and the delivery log (after waiting up to
        ``wait`` seconds for queued notifications), for checks from outside the process."""
        try:  # not isdecimal() + float(): '٣' read as 3 and 'x' was silently no wait [round 27]
            wait = float(control_number("wait", req.query.get("wait") or "0", float, 0, None))
        except ValueError as exc:
            raise HTTPError(400, "Bad Request", str(exc)) from exc
        settled = self.push.flush(min(wait, 30.0))
        channels = [{**c.resource(), "address": c.address, "messages": c.messages, "live": c.live()}
                    for c in list(self.push.channels.values())]
        return json_response({"settled": settled, "channels": channels, "deliveries": list(self.push.deliveries)})

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def stop(self) -> None:
        self.push.close()
        super().stop()

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "token_uri": self.token_url, "api_endpoint": self.url + "/drive/v3/"}

    # -- errors ---------------------------------------------------------------------------------
    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        reason = message if message[:1].islower() else {404: "notFound", 405: "badRequest"}.get(
            status, "backendError" if status >= 500 else "badRequest")  # a lost reply's 5xx as Drive's
        return drive_error(status, reason, detail or message, headers)

    def fault_response(self, decision: Decision) -> Response:
        if decision.status == 429 and self.user_rate_limit:  # Drive's other answer to a per-user rate limit
            return drive_error(403, "userRateLimitExceeded", "User Rate Limit Exceeded")
        if decision.status == 429 and self.rate_limit_403:
            return drive_error(403, "rateLimitExceeded", "Rate Limit Exceeded")
        if decision.status == 429:
            return drive_error(429, "rateLimitExceeded", "Rate Limit Exceeded",
                               [("Retry-After", str(decision.retry_after))])
        if decision.status == 401:
            return drive_error(401, "authError", INVALID_CREDENTIALS, location="Authorization", location_type="header",
                               item_message="Invalid Credentials")
        if decision.status == 403:
            return drive_error(403, "insufficientFilePermissions",
                               "The user does not have sufficient permissions for this file.")
        return drive_error(int(decision.status or 500), "backendError", "Backend Error")

    # -- routes ---------------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        one = FILES + r"/(?P<file_id>[A-Za-z0-9_-]+)"
        router.add("POST", r"/token", lambda r: self.accounts.token(r, self.token_url), faults=False)
        router.add("GET", r"/drive/v3/about", self._authed(self.about))
        router.add("GET", FILES, self._authed(self.list_files))
        router.add("GET", FILES + r"/generateIds", self._authed(self.generate_ids))
        router.add("DELETE", FILES + r"/trash", self._authed(self.empty_trash))
        router.add("POST", FILES, self._authed(self.create_metadata))
        router.add("GET", one, self._authed(self.get_file))
        router.add("GET", one + r"/export", self._authed(self.export_file))
        router.add("GET", one + r"/listLabels", self._authed(self.list_labels))
        router.add("POST", one + r"/modifyLabels", self._authed(self.modify_labels))
        router.add("PATCH", one, self._authed(self.update_file))
        perms, perm = one + r"/permissions", one + r"/permissions/(?P<perm_id>[A-Za-z0-9_-]+)"
        router.add("GET", perms, self._authed(self.list_permissions))
        router.add("POST", perms, self._authed(self.create_permission))
        router.add("GET", perm, self._authed(self.get_permission))
        router.add("PATCH", perm, self._authed(self.update_permission))
        router.add("DELETE", perm, self._authed(self.delete_permission))
        router.add("PATCH", UPLOAD + r"/(?P<file_id>[A-Za-z0-9_-]+)", self._authed(self.upload))
        router.add("PUT", UPLOAD + r"/(?P<file_id>[A-Za-z0-9_-]+)", self._session_authed(self.resume))
        router.add("DELETE", one, self._authed(self.delete_file))
        router.add("POST", one + r"/copy", self._authed(self.copy_file))
        router.add("POST", UPLOAD, self._authed(self.upload))
        router.add("PUT", UPLOAD, self._session_authed(self.resume))
        router.add("GET", r"/drive/v3/changes/startPageToken", self._authed(self.start_token))
        router.add("GET", r"/drive/v3/changes", self._authed(self.list_changes))
        for method, path, name in REVISION_ROUTES + COMMENT_ROUTES:
            router.add(method, one + path, self._authed(getattr(self, name)))
        for method, path, name in DRIVE_ROUTES + TEAMDRIVE_ROUTES + WATCH_ROUTES + OPERATION_ROUTES:
            router.add(method, path, self._authed(getattr(self, name)))
        for method, path, name in BATCH_ROUTES:  # each call in it carries its own Authorization
            router.add(method, path, getattr(self, name), auth_faults=False)

    def _authed(self, handler):
        def wrapped(req: Request) -> Response:
            who, _ = self.accounts.principal(req)
            if who is None and not req.header("Authorization") and "access_token" not in req.query:
                # no credential at all: Google's front end refuses the anonymous caller with a 403 (round 24;
                # the emulator said 401 Invalid Credentials) [unc: the errors[] item's reason "forbidden"]
                return drive_error(403, "forbidden", UNREGISTERED)
            if who is None:  # Google's words, whatever was wrong (expired, revoked, unknown)
                return drive_error(401, "authError", INVALID_CREDENTIALS, [("WWW-Authenticate", 'Bearer realm='
                                   '"https://accounts.google.com/", error="invalid_token"')], location="Authorization",
                                   location_type="header", item_message="Invalid Credentials")
            req.principal = who
            expire(self.store, self.clock.now())  # grants whose expirationTime passed (grants.py)
            if not allows(self.accounts.scopes.get(req.header("Authorization")[len("Bearer "):].strip()), req):
                return drive_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.",
                                   item_message="Insufficient Permission")
            try:
                return handler(req)
            except DriveError as exc:
                return exc.response()
            except ValueError:  # a body that is not JSON
                return drive_error(400, "parseError", "Parse Error")
        return wrapped

    def _session_authed(self, handler):
        """A resumable session's PUTs: the session URI (its ``upload_id``) is the credential, as Drive's guide
        sends them without ``Authorization`` (a session started by a server, its bytes sent by a browser); a
        request that carries a credential is checked as any other (round 28: without one it was 403)."""
        checked = self._authed(handler)

        def wrapped(req: Request) -> Response:
            session = self.store.uploads.get(req.query.get("upload_id", ""))
            if session is None or req.header("Authorization") or "access_token" in req.query:
                return checked(req)
            req.principal = session["who"]
            try:
                return handler(req)
            except DriveError as exc:
                return exc.response()
        return wrapped

    # -- helpers --------------------------------------------------------------------------------
    def _file(self, req: Request, any_drive: bool = False, own_folder: bool = False) -> DriveFile:
        """The path's file, 404 when the caller cannot read it or, as Drive, when it is in a shared drive and
        the request lacks supportsAllDrives=true (``any_drive``: methods without that parameter). The one place
        a path's file id is resolved: ``root`` / ``appDataFolder`` (``spaces.alias``) are the caller's folders;
        with ``own_folder`` (reads: files.get, permissions.list/get, export, listLabels) they answer as the
        parentless folders Drive shows, else [unc] 403 insufficientFilePermissions (the emulator keeps no
        state for them: no renaming, sharing, trashing or deleting My Drive's root)."""
        file_id = alias(req.params["file_id"], req.principal)
        if file_id in (mine := self._own_folders(req.principal)):
            if not own_folder:
                raise DriveError(403, "insufficientFilePermissions",
                                 f"The user does not have sufficient permissions for file {req.params['file_id']}.")
            return DriveFile(file_id, mine[file_id], FOLDER, [], req.principal)
        f = self.store.files.get(file_id)
        if f is None or not self.store.can_read(f, req.principal) or (
                not any_drive and not all_drives(req) and self.store.drive_of(f) is not None):
            raise DriveError(404, "notFound", f"File not found: {req.params['file_id']}.", location="fileId")
        return f

    def _view(self, f: DriveFile, req: Request) -> dict[str, Any]:
        drive, role = self.store.drive_of(f), self.store.role(f, req.principal)
        out = f.resource(req.principal, req.base_url, role, drive)
        out["spaces"] = [space_of(self.store, f)]
        show(f, out, role)  # writersCanShare, copyRequiresWriterPermission, folderColorRgb (extras.py)
        complete(out["capabilities"], role, f.mime_type == FOLDER, drive is not None)
        if drive is not None and "permissions" in out:  # a shared drive's members, no owner (members.py)
            out["permissions"] = self.item_permissions(f, drive)
            out["permissionIds"] = [p["id"] for p in out["permissions"]]
        return out

    def _answer(self, f: DriveFile, req: Request) -> Response:
        return json_response(select(self._view(f, req), "file", req.query.get("fields")))

    def _changed(self, f: DriveFile) -> None:
        with self.store.lock:
            f.modified = now_rfc3339()
            f.version += 1
            self.store.record(f.id)

    # -- handlers -------------------------------------------------------------------------------
    def about(self, req: Request) -> Response:
        used = self.store.used_bytes(req.principal)
        trash = sum(len(f.content) for f in self.store.files.values() if f.owner == req.principal and f.in_trash)
        body = {"kind": "drive#about", "user": user(req.principal, req.principal),
                "storageQuota": {"limit": str(self.store.quota_bytes if self._has_storage(req.principal) else 0),
                                 "usage": str(used), "usageInDrive": str(used), "usageInDriveTrash": str(trash)},
                "exportFormats": {k: list(v) for k, v in EXPORT_FORMATS.items()},
                "importFormats": {"text/plain": [GOOGLE_APPS + "document"], "text/csv": [GOOGLE_APPS + "spreadsheet"],
                                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                                      [GOOGLE_APPS + "document"]},
                "maxImportSizes": {GOOGLE_APPS + "document": "10485760", GOOGLE_APPS + "spreadsheet": "104857600"},
                "maxUploadSize": str(5 * 1024**4), "appInstalled": False, "canCreateDrives": True,
                "canCreateTeamDrives": True,
                "folderColorPalette": ["#ac725e", "#d06b64", "#f83a22", "#fa573c", "#ff7537", "#ffad46"],
                "driveThemes": about_themes(), "teamDriveThemes": about_themes()}
        return json_response(select(body, "about", req.query.get("fields")))

    def create_metadata(self, req: Request) -> Response:
        meta = req.json() or {}
        return self._answer(self._pinned(self._new_file(req.principal, meta, b"", meta.get("mimeType"),
                                                        all_drives(req)), req), req)

    @staticmethod
    def _own_folders(who: str) -> dict[str, str]:
        """The caller's My Drive root and app data folder ids, with the names Drive gives them."""
        return {root_id(who): "My Drive", appdata_id(who): APPDATA}

    def get_file(self, req: Request) -> Response:
        folder = alias(req.params["file_id"], req.principal)
        if folder in self._own_folders(req.principal):  # My Drive's root, the app data folder: no parents
            view = self._view(self._file(req, own_folder=True), req)
            view["spaces"] = ["drive" if folder == root_id(req.principal) else APPDATA]
            return json_response(select({k: v for k, v in view.items() if k != "parents"}, "file",
                                        req.query.get("fields")))
        if req.params["file_id"] in self.store.drives:  # a shared drive's top folder (members.py)
            return json_response(select(self.drive_root(req), "file", req.query.get("fields")))
        f = self._file(req)
        if req.query.get("alt") != "media":
            return self._answer(f, req)
        if f.mime_type.startswith(GOOGLE_APPS):  # folders, Docs, Sheets, shortcuts ...
            raise DriveError(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use "
                             "Export with Docs Editors files.")
        self._abuse(f, req)
        return download(f.content, f.mime_type, req.header("Range"))

    def _abuse(self, f: DriveFile, req: Request) -> None:
        """A file Drive flagged as malware or spam (``abusive``) downloads only with ``acknowledgeAbuse=true`` by
        its owner or, in a shared drive, an organizer (Drive's reference); else 403 cannotDownloadAbusiveFile
        with Drive's words [unc: the answer to a non-owner who acknowledges]."""
        drive = self.store.drive_of(f)
        owner = (self.store.member_role(drive, req.principal) == "organizer" if drive is not None
                 else f.owner == req.principal)
        if f.abusive and not (owner and req.query.get("acknowledgeAbuse") == "true"):
            raise DriveError(403, "cannotDownloadAbusiveFile", "This file has been identified as malware or spam "
                             "and cannot be downloaded.")

    def export_file(self, req: Request) -> Response:
        f = self._file(req, any_drive=True, own_folder=True)  # files.export takes no supportsAllDrives
        mime = req.query.get("mimeType") or ""
        return Response(200, export(f, mime), mime)

    def delete_file(self, req: Request) -> Response:
        f = self._file(req)
        drive = self.store.drive_of(f)
        # files.delete is permanent: in a shared drive only its organizers (Managers) may, as Drive's reference
        # says; a file organizer (Content manager) moves items to the trash instead (files.update trashed)
        allowed = (self.store.member_role(drive, req.principal) == "organizer" if drive is not None
                   else self.store.role(f, req.principal) == "owner")
        if not allowed:
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        self.store.delete_tree(f.id, req.principal)  # a folder's descendants go with it
        return Response(204, b"", "text/plain")
