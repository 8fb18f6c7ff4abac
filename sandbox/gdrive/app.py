"""`DriveSandbox`: Google Drive API v3 (files, uploads, changes, revisions, comments, shared drives) and
Google's OAuth token endpoint for service accounts, on ``sandbox.core``. ``google-api-python-client`` works
against it unchanged: ``build("drive", "v3", credentials=service_account.Credentials.from_service_account_info(info),
client_options={"api_endpoint": sb.url + "/drive/v3/"})`` with ``info["token_uri"] = sb.token_url``.

- ``files.get(fileId="root")`` is the caller's My Drive root (where files created without parents go; ``root``
  also in ``parents``, ``addParents``, ``removeParents`` and ``q``).
- ``files.update`` moves files with ``addParents``/``removeParents`` (``parents`` in the body is 403
  fieldNotWritable; a second parent is 403 cannotAddParent, as files have one parent since 2020);
  ``files.copy``; a page token or page size Drive would not accept is 400 ``invalid`` with its ``location``.
- Uploads: ``uploadType=media``, ``multipart`` and ``resumable`` (session URI in ``Location``,
  chunks with ``Content-Range``, ``308`` with ``Range`` until complete); downloads with ``alt=media``
  honour ``Range`` (206).
- Files carry ``appProperties``, ``properties``, ``md5Checksum``, ``sha256Checksum``, ``capabilities``,
  ``permissions`` ...; every method honours ``fields`` (``fields.py``: partial responses, Drive's default
  sets, 400 "Invalid field selection"); ``q`` as in ``query.py``; ``orderBy`` on files.list (``name``,
  ``name_natural``, ``createdTime``, ``modifiedTime``, ``folder``, ``starred``, ``quotaBytesUsed``, each with
  ``desc``); files.update replaces content too (``PATCH /upload/drive/v3/files/{id}``).
- ``files.list``, ``changes.getStartPageToken`` / ``changes.list`` (``listing.py``): every create, update,
  trash, share and delete.
- ``permissions.list/get/create/update/delete`` (``permissions.py``); ``about.get`` (``fields`` required);
  batch requests, ``POST /batch/drive/v3`` (``batch.py``).
- ``revisions.*`` (``revisions.py``): every content upload is a new head revision; ``comments.*`` and
  ``replies.*`` (``comments.py``, ``fields`` required); shared drives, ``drives.*`` (``drives.py``): their
  items need ``supportsAllDrives=true`` (else 404 notFound, as Drive) and carry ``driveId``.
- Permissions: a service account writes only into folders shared with it as writer
  (403 insufficientFilePermissions); uploads past ``quota_bytes`` fail with 403 storageQuotaExceeded.
- Google-native files (``application/vnd.google-apps.*``: Docs, Sheets, Slides, shortcuts ...) have no
  binary content, as on Drive: no ``size``/``md5Checksum``, ``alt=media`` is 403 fileNotDownloadable;
  Docs Editors files export to their formats (``export.py``; 400 for a conversion Drive does not offer),
  anything else is 403 fileNotExportable.
- Token scopes bound what a token may do and ``with_subject`` needs ``accounts.delegate(...)`` (``auth.py``).
- Faults (``sb.faults``): 429 rateLimitExceeded + Retry-After, 5xx backendError, 401 authError,
  403 insufficientFilePermissions; ``expire_tokens`` / ``revoke_tokens`` as elsewhere.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.base import Sandbox
from sandbox.core.faults import Decision
from sandbox.core.http import Request, Response, Router, json_response
from sandbox.core.tokens import TokenStore
from sandbox.gdrive.auth import ServiceAccounts, allows
from sandbox.gdrive.batch import BATCH_ROUTES, Batch
from sandbox.gdrive.comments import COMMENT_ROUTES, Comments
from sandbox.gdrive.drives import DRIVE_ROUTES, Drives
from sandbox.gdrive.errors import DriveError, drive_error
from sandbox.gdrive.export import export
from sandbox.gdrive.fields import select
from sandbox.gdrive.listing import Listing, all_drives
from sandbox.gdrive.permissions import Permissions
from sandbox.gdrive.revisions import REVISION_ROUTES, Revisions
from sandbox.gdrive.store import (
    EXPORT_FORMATS,
    FOLDER,
    GOOGLE_APPS,
    DriveFile,
    DriveStore,
    as_rfc3339,
    now_rfc3339,
    root_id,
    user,
)
from sandbox.gdrive.uploads import UPLOAD, Uploads

FILES = r"/drive/v3/files"
READ_ONLY = {"id", "size", "md5Checksum", "sha1Checksum", "sha256Checksum", "owners", "createdTime", "version",
             "capabilities", "permissions", "permissionIds", "webViewLink", "webContentLink", "exportLinks",
             "quotaBytesUsed", "headRevisionId", "fileExtension", "fullFileExtension", "lastModifyingUser",
             "ownedByMe", "shared", "spaces", "iconLink", "explicitlyTrashed", "driveId"}


def _time(meta: dict[str, Any], key: str) -> str | None:
    """``meta[key]`` (createdTime, modifiedTime) as Drive stores it; 400 invalid when it is not RFC 3339."""
    if not meta.get(key):
        return None
    try:
        return as_rfc3339(meta[key])
    except (ValueError, TypeError):
        raise DriveError(400, "invalid", f"Invalid value for: {key}: {meta[key]}", location=key) from None


class DriveSandbox(Uploads, Permissions, Listing, Revisions, Comments, Drives, Batch, Sandbox):
    vendor = "gdrive"
    server_header = "ESF"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, tls: bool = False,
                 latency_ms: float = 0, quota_bytes: int = 10 * 1024**3, token_ttl_seconds: int = 3600,
                 **kwargs: Any) -> None:
        self.store = DriveStore(quota_bytes)
        self.tokens = TokenStore(ttl_seconds=token_ttl_seconds)
        self.accounts = ServiceAccounts(self.tokens)
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms, **kwargs)
        self.faults.tokens = self.tokens

    @property
    def token_url(self) -> str:
        return self.url + "/token"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "token_uri": self.token_url, "api_endpoint": self.url + "/drive/v3/"}

    # -- errors ---------------------------------------------------------------------------------
    def error(self, status: int, message: str, detail: str | None = None,
              headers: list[tuple[str, str]] | None = None) -> Response:
        reason = message if message[:1].islower() else {404: "notFound", 405: "badRequest"}.get(status, "badRequest")
        return drive_error(status, reason, detail or message, headers)

    def fault_response(self, decision: Decision) -> Response:
        if decision.status == 429:
            return drive_error(429, "rateLimitExceeded", "Rate Limit Exceeded",
                               [("Retry-After", str(decision.retry_after))])
        if decision.status == 401:
            return drive_error(401, "authError", "Invalid Credentials")
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
        router.add("PATCH", one, self._authed(self.update_file))
        perms, perm = one + r"/permissions", one + r"/permissions/(?P<perm_id>[A-Za-z0-9_-]+)"
        router.add("GET", perms, self._authed(self.list_permissions))
        router.add("POST", perms, self._authed(self.create_permission))
        router.add("GET", perm, self._authed(self.get_permission))
        router.add("PATCH", perm, self._authed(self.update_permission))
        router.add("DELETE", perm, self._authed(self.delete_permission))
        router.add("PATCH", UPLOAD + r"/(?P<file_id>[A-Za-z0-9_-]+)", self._authed(self.upload))
        router.add("PUT", UPLOAD + r"/(?P<file_id>[A-Za-z0-9_-]+)", self._authed(self.resume))
        router.add("DELETE", one, self._authed(self.delete_file))
        router.add("POST", one + r"/copy", self._authed(self.copy_file))
        router.add("POST", UPLOAD, self._authed(self.upload))
        router.add("PUT", UPLOAD, self._authed(self.resume))
        router.add("GET", r"/drive/v3/changes/startPageToken", self._authed(self.start_token))
        router.add("GET", r"/drive/v3/changes", self._authed(self.list_changes))
        for method, path, name in REVISION_ROUTES + COMMENT_ROUTES:
            router.add(method, one + path, self._authed(getattr(self, name)))
        for method, path, name in DRIVE_ROUTES:
            router.add(method, path, self._authed(getattr(self, name)))
        for method, path, name in BATCH_ROUTES:  # each call in it carries its own Authorization
            router.add(method, path, getattr(self, name), auth_faults=False)

    def _authed(self, handler):
        def wrapped(req: Request) -> Response:
            who, why = self.accounts.principal(req)
            if who is None:
                return drive_error(401, "authError", f"Request had invalid authentication credentials ({why}).",
                                   [("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')])
            req.principal = who
            if not allows(self.accounts.scopes.get(req.header("Authorization")[len("Bearer "):].strip()), req):
                return drive_error(403, "insufficientPermissions", "Request had insufficient authentication scopes.")
            try:
                return handler(req)
            except DriveError as exc:
                return exc.response()
            except ValueError:  # a body that is not JSON
                return drive_error(400, "parseError", "Parse Error")
        return wrapped

    # -- helpers --------------------------------------------------------------------------------
    def _file(self, req: Request, any_drive: bool = False) -> DriveFile:
        """The path's file, 404 when the caller cannot read it or, as Drive, when it is in a shared drive and
        the request lacks supportsAllDrives=true (``any_drive``: methods without that parameter)."""
        f = self.store.files.get(req.params["file_id"])
        if f is None or not self.store.can_read(f, req.principal) or (
                not any_drive and not all_drives(req) and self.store.drive_of(f) is not None):
            raise DriveError(404, "notFound", f"File not found: {req.params['file_id']}.", location="fileId")
        return f

    def _view(self, f: DriveFile, req: Request) -> dict[str, Any]:
        return f.resource(req.principal, req.base_url, self.store.role(f, req.principal), self.store.drive_of(f))

    def _answer(self, f: DriveFile, req: Request) -> Response:
        return json_response(select(self._view(f, req), "file", req.query.get("fields")))

    def _changed(self, f: DriveFile) -> None:
        with self.store.lock:
            f.modified = now_rfc3339()
            f.version += 1
            self.store.record(f.id)

    def _check_parent(self, parent: str, who: str, any_drive: bool) -> None:
        """A shared drive, or a folder in one, is not found without supportsAllDrives=true, as in Drive."""
        in_drive = self.store.drive_of_parents([parent]) is not None
        if in_drive and not any_drive:
            raise DriveError(404, "notFound", f"File not found: {parent}.")
        if not self.store.can_write_into(parent, who):
            seen = (self.store.can_read(self.store.files[parent], who) if in_drive else True
                    ) if parent in self.store.files else self.store.member_role(parent, who) is not None
            if seen:
                raise DriveError(403, "insufficientFilePermissions",
                                 f"The user does not have sufficient permissions for file {parent}.")
            raise DriveError(404, "notFound", f"File not found: {parent}.")

    def _new_file(self, who: str, meta: dict[str, Any], content: bytes, mime: str | None,
                  any_drive: bool = False) -> DriveFile:
        parents = [root_id(who) if p == "root" else p for p in meta.get("parents") or ["root"]]  # My Drive's root
        if len(parents) > 1:  # one parent per file (Drive's words for an update; here guessed the same)
            raise DriveError(403, "cannotAddParent", "Increasing the number of parents is not allowed")
        for parent in parents:
            self._check_parent(parent, who, any_drive)
        in_drive = self.store.drive_of_parents(parents) is not None  # shared drive bytes are not the user's
        created, modified = _time(meta, "createdTime"), _time(meta, "modifiedTime")  # writable on create, as in Drive
        with self.store.lock:
            if not in_drive and self.store.used_bytes(who) + len(content) > self.store.quota_bytes:
                raise DriveError(403, "storageQuotaExceeded", "The user's Drive storage quota has been exceeded.")
            wanted = meta.get("id")
            if wanted is not None and (wanted not in self.store.generated or wanted in self.store.files):
                raise DriveError(400, "invalid", "The provided file ID is not usable.", location="file.id")
            self.store.generated.discard(wanted)
            f = DriveFile(wanted or self.store.new_id(), str(meta.get("name") or "Untitled"),
                          str(meta.get("mimeType") or mime or "application/octet-stream"), parents, who, content,
                          {str(k): str(v) for k, v in (meta.get("appProperties") or {}).items()},
                          meta.get("description"), starred=bool(meta.get("starred", False)),
                          properties={str(k): str(v) for k, v in (meta.get("properties") or {}).items()},
                          shortcut_target=(meta.get("shortcutDetails") or {}).get("targetId"))
            f.created, f.modified = created or f.created, modified or f.modified
            return self.store.add(f)

    # -- handlers -------------------------------------------------------------------------------
    def about(self, req: Request) -> Response:
        used = self.store.used_bytes(req.principal)
        trash = sum(len(f.content) for f in self.store.files.values() if f.owner == req.principal and f.trashed)
        body = {"kind": "drive#about", "user": user(req.principal, req.principal),
                "storageQuota": {"limit": str(self.store.quota_bytes), "usage": str(used),
                                 "usageInDrive": str(used), "usageInDriveTrash": str(trash)},
                "exportFormats": {k: list(v) for k, v in EXPORT_FORMATS.items()},
                "importFormats": {"text/plain": [GOOGLE_APPS + "document"], "text/csv": [GOOGLE_APPS + "spreadsheet"],
                                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
                                      [GOOGLE_APPS + "document"]},
                "maxImportSizes": {GOOGLE_APPS + "document": "10485760", GOOGLE_APPS + "spreadsheet": "104857600"},
                "maxUploadSize": str(5 * 1024**4), "appInstalled": False, "canCreateDrives": True,
                "folderColorPalette": ["#ac725e", "#d06b64", "#f83a22", "#fa573c", "#ff7537", "#ffad46"]}
        return json_response(select(body, "about", req.query.get("fields")))

    def create_metadata(self, req: Request) -> Response:
        meta = req.json() or {}
        return self._answer(self._new_file(req.principal, meta, b"", meta.get("mimeType") or FOLDER,
                                           all_drives(req)), req)

    def get_file(self, req: Request) -> Response:
        if req.params["file_id"] in ("root", root_id(req.principal)):  # My Drive's root: a folder without parents
            mine = DriveFile(root_id(req.principal), "My Drive", FOLDER, [], req.principal)
            return json_response(select({k: v for k, v in self._view(mine, req).items() if k != "parents"}, "file",
                                        req.query.get("fields")))
        f = self._file(req)
        if req.query.get("alt") != "media":
            return self._answer(f, req)
        if f.mime_type.startswith(GOOGLE_APPS):  # folders, Docs, Sheets, shortcuts ...
            raise DriveError(403, "fileNotDownloadable", "Only files with binary content can be downloaded. Use "
                             "Export with Docs Editors files.")
        data, total = f.content, len(f.content)
        rng = req.header("Range")
        if rng.startswith("bytes=") and total:
            start_s, _, end_s = rng[len("bytes="):].partition("-")
            start, end = int(start_s or 0), min(int(end_s or total - 1), total - 1)
            if start >= total:
                return drive_error(416, "requestedRangeNotSatisfiable", "Request range not satisfiable")
            return Response(206, data[start:end + 1], f.mime_type,
                            [("Content-Range", f"bytes {start}-{end}/{total}")])
        return Response(200, data, f.mime_type)

    def export_file(self, req: Request) -> Response:
        f = self._file(req)
        mime = req.query.get("mimeType") or ""
        return Response(200, export(f, mime), mime)

    def update_file(self, req: Request) -> Response:
        f = self._file(req)
        meta = req.json() if req.body else {}
        self._update(f, meta or {}, req)
        return self._answer(f, req)

    def _update(self, f: DriveFile, meta: dict[str, Any], req: Request, content: bytes | None = None) -> None:
        """files.update: metadata from ``meta``, parents from addParents/removeParents, content if given."""
        if self.store.role(f, req.principal) not in ("owner", "writer"):
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        bad = sorted(set(meta) & (READ_ONLY | {"parents"}))
        if bad:
            raise DriveError(403, "fieldNotWritable", "The resource body includes fields which are not directly "
                             f"writable: {', '.join(bad)}.")
        mine = root_id(req.principal)  # 'root': the caller's My Drive
        add, remove = ([mine if p == "root" else p for p in (req.query.get(key) or "").split(",") if p]
                       for key in ("addParents", "removeParents"))
        modified = _time(meta, "modifiedTime")
        for parent in add:
            self._check_parent(parent, req.principal, all_drives(req))
        after = [p for p in f.parents if p not in remove] + [p for p in add if p not in f.parents and p not in remove]
        if len(after) > max(1, len(f.parents)):  # one parent per file since 2020: a move must remove the old one
            raise DriveError(403, "cannotAddParent", "Increasing the number of parents is not allowed")
        with self.store.lock:
            for key, attr in (("name", "name"), ("description", "description"), ("trashed", "trashed"),
                              ("starred", "starred"), ("mimeType", "mime_type")):
                if key in meta and meta[key] is not None:
                    setattr(f, attr, meta[key])
            for key, attr in (("appProperties", "app_properties"), ("properties", "properties")):
                for k, v in (meta.get(key) or {}).items():  # null removes the property, as in Drive
                    if v is None:
                        getattr(f, attr).pop(str(k), None)
                    else:
                        getattr(f, attr)[str(k)] = str(v)
            if add:
                f.parents = [*f.parents, *(p for p in add if p not in f.parents)]
            if remove:
                f.parents = [p for p in f.parents if p not in remove]
            if content is not None:
                if self.store.used_bytes(f.owner) - len(f.content) + len(content) > self.store.quota_bytes:
                    raise DriveError(403, "storageQuotaExceeded", "The user's Drive storage quota has been "
                                     "exceeded.")
                f.new_revision(content, req.principal)
            self._changed(f)
            f.modified = modified or f.modified

    def copy_file(self, req: Request) -> Response:
        """files.copy: a new file with the source's content ("Copy of <name>" unless named); parents default
        to the source's."""
        f = self._file(req)
        if f.mime_type == FOLDER:
            raise DriveError(403, "cannotCopyFile", "This file cannot be copied by the user.")
        meta = req.json() if req.body else {}
        meta = meta or {}
        copy_meta = {"name": meta.get("name") or f"Copy of {f.name}",
                     "parents": meta.get("parents") or list(f.parents),
                     "appProperties": {**f.app_properties, **(meta.get("appProperties") or {})},
                     "properties": {**f.properties, **(meta.get("properties") or {})},
                     "description": meta.get("description", f.description), "starred": meta.get("starred")}
        return self._answer(self._new_file(req.principal, copy_meta, f.content, meta.get("mimeType") or f.mime_type,
                                           all_drives(req)), req)

    def generate_ids(self, req: Request) -> Response:
        raw = req.query.get("count") or "10"
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            raise DriveError(400, "invalid", f"Invalid value '{raw}'. Values must be within the range: [1, 1000]",
                             location="count")
        ids = [self.store.new_id() for _ in range(int(raw))]
        self.store.generated.update(ids)
        return json_response({"kind": "drive#generatedIds", "space": "drive", "ids": ids})

    def empty_trash(self, req: Request) -> Response:
        """files.emptyTrash: deletes every trashed file the caller owns."""
        for f in [f for f in self.store.files.values()
                  if f.trashed and f.owner == req.principal and self.store.drive_of(f) is None]:
            self.store.delete(f.id)
        return Response(204, b"", "text/plain")

    def delete_file(self, req: Request) -> Response:
        f = self._file(req)
        if self.store.role(f, req.principal) != "owner":  # in a shared drive: organizers and file organizers
            raise DriveError(403, "insufficientFilePermissions",
                             f"The user does not have sufficient permissions for file {f.id}.")
        self.store.delete(f.id)
        return Response(204, b"", "text/plain")
