"""SharePoint evidence store (``PROJECTX_EVIDENCE_STORE=sharepoint``): Microsoft Graph drive items in
one folder (``SHAREPOINT_EVIDENCE_FOLDER``, default ``ProjectX Evidence``, created when missing) of the
document library ``SHAREPOINT_LIBRARY_ID`` (its drive id) of site ``SHAREPOINT_SITE_ID``, written by the
Azure AD app ``CLIENT_ID`` of tenant ``TENANT_ID`` signed in with the certificate ``CERT_PATH`` (PEM
with key and certificate, or PFX; password ``SHAREPOINT_CERT_PASSWORD``). Client and retries: see
``sharepoint_graph`` (msgraph-sdk + azure-identity, and why). ``SHAREPOINT_AUTHORITY_HOST`` and
``SHAREPOINT_GRAPH_URL`` point it at another Entra ID and Graph (the sandbox); a private CA is
trusted through ``REQUESTS_CA_BUNDLE``.

Each object is one file named by its sha256. Its metadata lives in two custom columns of the
library, ``EvidenceSha256`` (single line of text) and ``EvidenceMetadata`` (multiple lines of text,
the metadata as JSON), set through the file's list item (``/drives/{id}/list/items/{id}/fields``):
create both columns when setting up the library. Files up to 4 MiB go in one ``PUT …/content``;
larger ones through an upload session (``createUploadSession``, then 10 MiB fragments, a multiple
of 320 KiB as Graph requires, each a ``PUT`` with ``Content-Range``); a failed session is cancelled.
Both ask for ``@microsoft.graph.conflictBehavior=fail`` (the PUT's query parameter, the session's ``item``):
a file put at the address after the store looked there (another worker, or someone else) is never
replaced. Graph's 409 sends it through the check a file found at the address gets (``_holds``): the same
bytes (this store's recorded copy, or proven byte for byte) are taken as stored and their columns
completed; other bytes are kept untouched for review and the put raises ``ContentMismatch`` (the library
raises a ``security_alert`` and holds the evidence pending). The evidence is not stored under another
name: the address is the sha256, and a copy elsewhere would not be found by it, while the planted file
would be (and refused on every read, as ``get`` checks the sha256). After the upload the file at the address
is labelled only when it is the version this put wrote (its id and cTag; the reply lost: this app's write)
and Graph lists its quickXorHash; otherwise it is read back first (``_holds``). A damaged upload is
deleted only while it is still the version this put wrote (its id and cTag, and ``If-Match`` its eTag).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from resources.evidence.base import (
    ContentMismatch,
    StoredObject,
    StoreError,
    StoreUnavailable,
    check_address,
    clean_metadata,
    content_address,
    occupied,
    verified,
)
from resources.evidence.sharepoint_check import (
    RECORD,
    facts,
    first_difference,
    quick_xor_hash,
    record,
    unchanged,
    written_by,
)
from resources.evidence.sharepoint_graph import (
    CONFLICT,
    MODIFIED,
    RETRIES,
    GraphCalls,
    SharePointSettings,
    graph_client,
)

SIMPLE_MAX = 4 * 1024 * 1024
FRAGMENT = 32 * 320 * 1024  # 10 MiB
SHA_FIELD, META_FIELD = "EvidenceSha256", "EvidenceMetadata"
EXPAND = ["listItem($expand=fields)"]
FAIL = "@microsoft.graph.conflictBehavior=fail"


def _written(answer: Any) -> tuple[str, str] | None:
    """(id, cTag) of the drive item a committing fragment answered with (None: no such body)."""
    try:
        item = json.loads(answer or b"")
        return (str(item["id"]), str(item["cTag"])) if isinstance(item, dict) and item.get("cTag") else None
    except (ValueError, KeyError, TypeError):
        return None


class SharePointStore:
    """Content-addressed files in one folder of a SharePoint document library."""

    name = "sharepoint"

    def __init__(self, settings: SharePointSettings):
        self.settings = settings
        self.client, self.adapter = graph_client(settings)
        self.calls = GraphCalls(settings)
        self.drive = self.client.drives.by_drive_id(settings.library_id)
        self.folder_id = self._folder()

    @classmethod
    def from_env(cls) -> SharePointStore:
        return cls(SharePointSettings.from_env())

    def _run(self, make, action: str, missing_ok: bool = False, conflict_ok: bool = False,
             modified_ok: bool = False) -> Any:
        return self.calls.run(make, action, missing_ok, conflict_ok, modified_ok)

    def _folder(self) -> str:
        s = self.settings
        drives = self._run(lambda: self.client.sites.by_site_id(s.site_id).drives.get(), "listing the site's libraries")
        if s.library_id not in {d.id for d in (drives.value or [])}:
            raise StoreError(f"SHAREPOINT_LIBRARY_ID={s.library_id} is not a document library of site "
                             f"SHAREPOINT_SITE_ID={s.site_id} that {s.who()} can see: check both ids (Graph "
                             "GET /sites/{site-id}/drives lists them) and the app's grant on the site")
        found = self._run(lambda: self.drive.items.by_drive_item_id(f"root:/{s.folder}:").get(),
                          "reading the evidence folder", missing_ok=True)
        if found is None:
            from msgraph.generated.models.drive_item import DriveItem
            from msgraph.generated.models.folder import Folder

            body = DriveItem(name=s.folder, folder=Folder(),
                             additional_data={"@microsoft.graph.conflictBehavior": "fail"})
            try:
                found = self._run(lambda: self.drive.items.by_drive_item_id("root").children.post(body),
                                  "creating the evidence folder")
            except StoreError:  # created meanwhile by another worker (409), or really refused: read it again
                found = self._run(lambda: self.drive.items.by_drive_item_id(f"root:/{s.folder}:").get(),
                                  "reading the evidence folder", missing_ok=True)
                if found is None:
                    raise
        return found.id

    def _item(self, sha256: str):
        from msgraph.generated.drives.item.items.item.drive_item_item_request_builder import (
            DriveItemItemRequestBuilder,
        )

        query = DriveItemItemRequestBuilder.DriveItemItemRequestBuilderGetQueryParameters(expand=EXPAND)
        config = DriveItemItemRequestBuilder.DriveItemItemRequestBuilderGetRequestConfiguration(query_parameters=query)
        ref = f"{self.folder_id}:/{check_address(sha256)}:"
        return self._run(lambda: self.drive.items.by_drive_item_id(ref).get(request_configuration=config),
                         "reading an evidence file", missing_ok=True)

    @staticmethod
    def _fields(item) -> dict[str, Any]:
        return dict(getattr(getattr(item.list_item, "fields", None), "additional_data", None) or {})

    def _object(self, item) -> StoredObject:
        fields = self._fields(item)
        try:
            meta = json.loads(fields.get(META_FIELD) or "{}")
        except ValueError:
            meta = {}
        meta = {k: v for k, v in meta.items() if k != RECORD} if isinstance(meta, dict) else {}
        sha = fields.get(SHA_FIELD) or item.name
        uri = f"sharepoint://{self.settings.library_id}/{item.id}"
        return StoredObject(sha, int(item.size or 0), uri, {str(k): str(v) for k, v in meta.items()},
                            item.last_modified_date_time)

    def _set_fields(self, item, sha: str, metadata: Mapping[str, str]) -> None:
        from msgraph.generated.models.field_value_set import FieldValueSet

        body = FieldValueSet(additional_data={SHA_FIELD: sha, META_FIELD: json.dumps(dict(metadata))})
        fields = self.drive.list_.items.by_list_item_id(item.list_item.id).fields
        self._run(lambda: fields.patch(body), "setting the evidence metadata columns")

    def put(self, content: bytes, metadata: Mapping[str, str] | None = None) -> StoredObject:
        sha = content_address(content)
        existing = self._item(sha)
        meta = clean_metadata(metadata)
        qx = quick_xor_hash(content)
        written, read_back = None, False
        if existing is None:
            # ``conflictBehavior=fail``: a file put at the address since the read above (another worker, or
            # someone else) is never replaced; Graph's 409 sends it through the same check as one found there
            written = self._upload(sha, content)
            if written is CONFLICT:
                existing = self._item(sha)
                if existing is None:
                    raise StoreUnavailable(f"SharePoint answered 409 nameAlreadyExists for the evidence file {sha} "
                                           "but holds no file by that name now (removed meanwhile): retry")
        if existing is not None:
            # other bytes under the address: flagged, never overwritten or passed on (``sharepoint_check``);
            # the same bytes (this store's earlier copy, or proven byte for byte) are taken as stored
            read_back = self._holds(existing, sha, content, qx)
            if self._fields(existing).get(SHA_FIELD) == sha and self._recorded(existing):
                if read_back:  # proven byte for byte: recorded anew (as this app's write), so the next is cheap
                    self._set_fields(existing, sha, {**self._object(existing).metadata, RECORD: record(existing)})
                    existing = self._item(sha) or existing
                return self._object(existing)
        # a file whose metadata write failed last time is completed now rather than stored again
        item = self._item(sha)
        size, item_qx, _ = facts(item) if item is not None else (0, None, None)
        damaged = item is None or size != len(content) or item_qx not in (None, qx)  # named by the sha256: it
        # would pass. Removed only when it is still the very version this put wrote (its id and cTag; when the
        # reply that named them was lost: this app wrote it last and set no columns): a file found there, or
        # put there since by anyone else, is kept
        ours = item is not None and existing is None and written is not CONFLICT and (
            (item.id, item.c_tag) == written if written is not None else
            written_by(item, self.settings.client_id) and not self._fields(item).get(SHA_FIELD))
        checked = (existing.id, existing.c_tag) if existing is not None and read_back else None
        if not damaged and content and self._doubtful(item, item_qx, written, existing, checked):
            try:  # not (known to be) the version this put wrote or read back: proven byte for byte first
                self._holds(item, sha, content, qx)
            except ContentMismatch:
                if not ours:
                    raise  # someone's file: kept for review, never labelled as the evidence
                damaged = True  # our own version, with no hash to tell: damaged in transit
        if damaged:
            kept = "no file" if item is None else f"{size} bytes"
            removed = ours and self._delete_damaged(item)
            raise StoreUnavailable(f"SharePoint kept {kept} for the {len(content)}-byte evidence file {sha} "
                                   f"({'removed; ' if removed else ''}quickXorHash {item_qx}, the "
                                   f"content's {qx}): the upload was damaged in transit or the file changed "
                                   "meanwhile; retry, and check any proxy between here and Graph")
        self._set_fields(item, sha, {**meta, RECORD: record(item)})
        return self._object(self._item(sha))

    def _doubtful(self, item, item_qx: str | None, written: Any, existing: Any, checked: Any) -> bool:
        """Whether the file now at the address may hold other bytes than the content although its size and
        quickXorHash match (the hash is linear: other bytes with it are easy to make): it is not the version
        this put wrote (``written``) or read back (``checked``), or Graph gave no hash to compare."""
        now = (item.id, item.c_tag)
        if now == checked:
            return False
        if item_qx is None:
            return True
        if isinstance(written, tuple):
            return written != now
        if written is None and existing is None:  # the upload's reply was lost: this app must have written it
            return not written_by(item, self.settings.client_id)
        return True  # found there (or put there meanwhile, 409) and changed since it was checked

    def _delete_damaged(self, item) -> bool:
        """Delete the version this put wrote, only while it still is (``If-Match`` its eTag: Graph answers 412
        when the file was replaced in place since it was checked). True: removed."""
        from kiota_abstractions.base_request_configuration import RequestConfiguration

        tag = item.e_tag or item.c_tag
        if not tag:
            return False
        config = RequestConfiguration()
        config.headers.add("If-Match", tag)
        gone = self._run(lambda: self.drive.items.by_drive_item_id(item.id).delete(request_configuration=config),
                         "deleting a damaged upload", missing_ok=True, modified_ok=True)
        return gone is not MODIFIED

    @staticmethod
    def _recorded(item) -> str | None:
        try:
            meta = json.loads(SharePointStore._fields(item).get(META_FIELD) or "{}")
        except ValueError:
            return None
        value = meta.get(RECORD) if isinstance(meta, dict) else None
        return value if isinstance(value, str) else None

    def _holds(self, item, sha: str, content: bytes, qx: str) -> bool:
        """Raise ``ContentMismatch`` when the file already named by the content address holds other bytes:
        its quickXorHash is not the content's (no download), or, unless it is still what this store
        recorded when it stored the content (size, hash, cTag, and this app wrote it last), its bytes read
        back as a stream differ. True: the bytes were read back and are the content's."""
        where = f"SharePoint item {item.id} of library {self.settings.library_id}"
        size, item_qx, _ = facts(item)
        if item_qx is not None and item_qx != qx:
            raise occupied(sha, None, size, f"{where} (quickXorHash {item_qx}, not the content's {qx})")
        if self._fields(item).get(SHA_FIELD) == sha and unchanged(item, self._recorded(item), content, qx,
                                                                       self.settings.client_id):
            return False
        if not size and not content:
            return False
        url = (item.additional_data or {}).get("@microsoft.graph.downloadUrl")
        if not url:  # not given with this answer: a fresh read of the item carries one
            fresh = self._run(lambda: self.drive.items.by_drive_item_id(item.id).get(), "reading an evidence file")
            url = (fresh.additional_data or {}).get("@microsoft.graph.downloadUrl") if fresh is not None else None
        if not url:
            raise StoreUnavailable(f"{where} came without a download URL to check it against the content; retry")
        differs = self._run(lambda: first_difference(url, content), "download (checking the file at the address)")
        if differs is not None:
            raise occupied(sha, None, size, f"{where} (differs from byte {differs})")
        return True

    def _upload(self, sha: str, content: bytes) -> tuple[str, str] | None:
        """Store ``content`` at its address unless a file is there: (id, cTag) of what was written (None: not
        known, the last fragment's reply was lost), or ``CONFLICT`` (Graph's 409: a file has the name)."""
        ref = self.drive.items.by_drive_item_id(f"{self.folder_id}:/{sha}:")
        if len(content) > SIMPLE_MAX:
            return self._upload_session(ref, content)
        # msgraph-sdk's content PUT takes no query parameters: the same URL with Graph's documented one
        url = (f"{self.settings.graph_url}/drives/{quote(self.settings.library_id, safe='')}/items/"
               f"{quote(f'{self.folder_id}:/{sha}:', safe='')}/content?{FAIL}")
        made = self._run(lambda: ref.content.with_url(url).put(content), "upload", conflict_ok=True)
        return made if made is CONFLICT else (made.id, made.c_tag) if made is not None else None

    def _upload_session(self, ref, content: bytes) -> tuple[str, str] | None:
        from kiota_abstractions.headers_collection import HeadersCollection
        from kiota_abstractions.method import Method
        from kiota_abstractions.request_information import RequestInformation
        from msgraph.generated.drives.item.items.item.create_upload_session.create_upload_session_post_request_body import (  # noqa: E501
            CreateUploadSessionPostRequestBody,
        )
        from msgraph.generated.models.drive_item_uploadable_properties import DriveItemUploadableProperties

        body = CreateUploadSessionPostRequestBody(item=DriveItemUploadableProperties(
            file_size=len(content), additional_data={"@microsoft.graph.conflictBehavior": "fail"}))
        session = self._run(lambda: ref.create_upload_session.post(body), "createUploadSession", conflict_ok=True)
        if session is CONFLICT:
            return CONFLICT
        url, total = session.upload_url, len(content)

        def fragment(start: int):
            chunk = content[start:start + FRAGMENT]
            info = RequestInformation(method=Method.PUT)
            info.url = url
            info.headers = HeadersCollection()
            info.headers.try_add("Content-Range", f"bytes {start}-{start + len(chunk) - 1}/{total}")
            info.set_stream_content(chunk)
            return self.adapter.send_primitive_async(info, "bytes", {})

        def expected() -> int | None:
            """Where the session wants its next byte (``nextExpectedRanges``); None: it is gone (spent by the
            last fragment, whose reply was lost, or expired)."""
            info = RequestInformation(method=Method.GET)
            info.url = url
            info.headers = HeadersCollection()
            raw = self.calls.run(lambda: self.adapter.send_primitive_async(info, "bytes", {}),
                                 "reading the upload session", missing_ok=True)
            if raw is None:
                return None
            try:
                ranges = json.loads(raw).get("nextExpectedRanges") or []
                return int(str(ranges[0]).split("-")[0]) if ranges else total
            except (ValueError, AttributeError, TypeError):
                raise StoreUnavailable("SharePoint answered an upload session's status with no ranges: retry") from None

        start, stalled = 0, 0
        try:
            while start < total:
                try:
                    # the last fragment commits the file: 409 when one was put at the address meanwhile
                    answer = self._run(lambda s=start: fragment(s), f"upload session fragment at byte {start}",
                                       conflict_ok=True)
                    if answer is CONFLICT:
                        return CONFLICT
                    start = min(start + FRAGMENT, total)
                    if start == total:
                        return _written(answer)
                    continue
                except StoreError:
                    # a fragment Graph took but whose reply was lost is 416 when sent again: ask the session
                    # what it still expects and go on from there (fragments are never sent twice blindly)
                    if stalled == RETRIES:
                        raise
                    where = expected()
                    if where is None and start + FRAGMENT >= total:
                        return None  # the last fragment made the file: the caller checks it (size, quickXorHash)
                    if where is None or where >= total:
                        raise
                    stalled = 0 if where > start else stalled + 1
                    start = where
        except StoreError:
            cancel = RequestInformation(method=Method.DELETE)
            cancel.url = url
            with contextlib.suppress(StoreError):  # else the session expires on its own
                self.calls.run(lambda: self.adapter.send_no_response_content_async(cancel), "cancel upload")
            raise

    def get(self, sha256: str) -> bytes:
        item = self._item(sha256)
        if item is None:
            raise KeyError(sha256)
        data = b""
        if item.size:
            data = self._run(lambda: self.drive.items.by_drive_item_id(item.id).content.get(), "download") or b""
        return verified(sha256, data, f"SharePoint item {item.id}")

    def head(self, sha256: str) -> StoredObject | None:
        item = self._item(sha256)
        return None if item is None else self._object(item)

    def exists(self, sha256: str) -> bool:
        return self._item(sha256) is not None

    def list(self, since: datetime | None = None) -> Iterator[StoredObject]:
        from msgraph.generated.drives.item.items.item.children.children_request_builder import (
            ChildrenRequestBuilder,
        )

        query = ChildrenRequestBuilder.ChildrenRequestBuilderGetQueryParameters(expand=EXPAND, top=200)
        config = ChildrenRequestBuilder.ChildrenRequestBuilderGetRequestConfiguration(query_parameters=query)
        children = self.drive.items.by_drive_item_id(self.folder_id).children
        page = self._run(lambda: children.get(request_configuration=config), "listing the evidence folder")
        while page is not None:
            for item in page.value or []:
                obj = self._object(item)
                fresh = since is None or obj.modified_at is None or obj.modified_at > since
                if item.file is not None and self._fields(item).get(SHA_FIELD) and fresh:
                    yield obj
            link = page.odata_next_link
            page = self._run(lambda link=link: children.with_url(link).get(), "listing the evidence folder"
                             ) if link else None
