"""Evidence folders in SharePoint as evidence: every file dropped in a watched folder of the document
library passes the Evidence Library (scan, metadata, classification, store) and becomes a
``sharepoint_files`` row.

Folders: ``SHAREPOINT_INGEST_FOLDERS``, comma-separated paths in the library ``SHAREPOINT_LIBRARY_ID``
(e.g. ``Audit Inbox,Controls/CAB``), read as the app of the SharePoint store (``CLIENT_ID``,
``TENANT_ID``, ``CERT_PATH``: see ``resources/evidence/sharepoint_graph.py``); subfolders included.

Grain: one row per drive item id, merged on it. Incremental by Graph's drive-item ``delta``: SharePoint
supports it on the library root only, so the first run enumerates the library and keeps the
``@odata.deltaLink``; later runs read only what changed since. Items are tracked by id (SharePoint's
delta carries no ``parentReference.path``): the watched folders' ids, and their subfolders', are kept in
the state. What each file last was (and which are pending) is read from ``sharepoint_files`` itself, not
kept in dlt state, which would grow with the site (``pipelines.common.evidence.stored_files``). An item
with the ``deleted`` facet, or moved out of the watched folders, is captured as deleted; so is, when a
run enumerates the library (first run, resync, other folders), a file the table holds that it lacks.
A version the library already handled (``source_ref`` = item id @ cTag) is not downloaded again, so a
re-run stores nothing twice; a file left ``pending`` is read again next run.

Faults (spec §2.6): 429 and 5xx are retried 3 times (``GraphCalls``); what still fails leaves the file
``pending`` (a download) or the deltaLink where it was (a delta page: nothing is skipped), with an
error event. Access denied raises a permission task naming the folders and the app. A quota error
pauses ingestion from SharePoint; while paused, changed files are recorded ``pending``, not read.
A delta token Graph no longer accepts (410 resyncRequired) restarts from a full enumeration.
A file the delta lists over the library's size limit is left ``pending`` with the reason, not
downloaded (looked at again each run: in once the limit is raised). After a download the item is read
again: if its version changed since the delta (cTag, else eTag; and ``file.hashes`` quickXorHash or
sha256Hash when both list them), the file was replaced while it was read: it is left ``pending`` and
read again next run, rather than stored under the version (cTag) the delta named. The listed ``size``
alone says nothing (Graph lists another size than the bytes for some Office, PDF and OneNote files,
intact): with the version unchanged the downloaded bytes are stored, and ``size_bytes`` is theirs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.evidence import storable_text, stored_files, with_note
from resources.evidence.base import StoreError, StorePermissionError
from resources.evidence.library import EvidenceLibrary
from resources.evidence.sharepoint_graph import GraphCalls, SharePointSettings, graph_client

PROVIDER = "sharepoint"
KEPT = ("folder_path", "name", "etag", "ctag", "modified_time", "size_bytes", "sha256", "storage_uri")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def folders_from_env() -> list[str]:
    return [f.strip().strip("/") for f in os.environ.get("SHAREPOINT_INGEST_FOLDERS", "").split(",") if f.strip()]


class Resync(Exception):
    """Graph no longer accepts the delta token (410): enumerate again."""


class SharePointIngest:
    def __init__(self, settings: SharePointSettings, folders: list[str], library: EvidenceLibrary,
                 backoff: float = 0.5):
        self.settings, self.folders, self.library = settings, folders, library
        self.client, self.adapter = graph_client(settings)
        self.calls = GraphCalls(settings, backoff)
        self.drive = self.client.drives.by_drive_id(settings.library_id)

    def close(self) -> None:
        self.calls.close()

    def run(self, make, action: str, missing_ok: bool = False):
        """A Graph call (retried by ``GraphCalls``); a refusal names the folders and what to grant."""
        try:
            return self.calls.run(make, action, missing_ok)
        except StorePermissionError as exc:
            if not str(exc).startswith("SharePoint refused"):  # Entra ID refused the sign-in: say so as is
                raise
            s = self.settings
            raise StorePermissionError(
                f"SharePoint refused {action} of folder(s) {', '.join(self.folders)} in library "
                f"SHAREPOINT_LIBRARY_ID={s.library_id} ({str(exc).split('(', 1)[-1].split(')', 1)[0]}): grant "
                f"{s.who()} read access to the library (Files.Read.All, or Sites.Selected with a read grant on "
                f"site {s.site_id})", resource=f"library {s.library_id}") from None

    def alert(self, exc: StoreError, filename: str | None) -> None:
        self.library.source_failed(PROVIDER, exc, filename)

    def folder_ids(self) -> dict[str, str]:
        out = {}
        for path in self.folders:
            item = self.run(lambda p=path: self.drive.items.by_drive_item_id(f"root:/{p}:").get(),
                            "reading the watched folder", missing_ok=True)
            if item is None or item.folder is None:
                raise StoreError(f"SHAREPOINT_INGEST_FOLDERS names {path!r}, which is not a folder of library "
                                 f"SHAREPOINT_LIBRARY_ID={self.settings.library_id}: create it or fix the setting")
            out[item.id] = path
        return out

    def delta(self, link: str | None) -> tuple[list[Any], str]:
        """Every change since ``link`` (all items when None), all pages; and the next deltaLink."""
        from msgraph.generated.drives.item.items.item.delta.delta_request_builder import DeltaRequestBuilder

        builder = self.drive.items.by_drive_item_id("root").delta
        query = DeltaRequestBuilder.DeltaRequestBuilderGetQueryParameters(top=200)
        config = DeltaRequestBuilder.DeltaRequestBuilderGetRequestConfiguration(query_parameters=query)
        items: list[Any] = []
        url = link
        while True:
            try:
                page = self.run(lambda u=url: builder.with_url(u).get() if u else
                                builder.get(request_configuration=config), "delta")
            except StorePermissionError:
                raise
            except StoreError as exc:
                if url and "410" in str(exc):
                    raise Resync() from None
                raise
            items += page.value or []
            if page.odata_delta_link:
                return items, page.odata_delta_link
            if not page.odata_next_link:
                raise StoreError("Graph ended a delta page with neither @odata.nextLink nor @odata.deltaLink")
            url = page.odata_next_link

    def item(self, item_id: str):
        return self.run(lambda: self.drive.items.by_drive_item_id(item_id).get(), "reading a watched file",
                        missing_ok=True)

    def changed(self, listed) -> str | None:
        """After a download: how the item's version differs from ``listed`` (what the delta named), ``""``
        when it does not, None when the item is gone."""
        now = self.item(listed.id)
        if now is None:
            return None
        for what, old, new in (("cTag", listed.c_tag, now.c_tag), ("eTag", listed.e_tag, now.e_tag),
                               ("lastModifiedDateTime", listed.last_modified_date_time, now.last_modified_date_time)):
            if old is not None and new is not None:
                if old != new:
                    return f"{what} {old} when listed, {new} after the download"
                break  # the first both carry decides (cTag: the content's version; eTag also moves on a rename)
        for name in ("quick_xor_hash", "sha256_hash"):
            old, new = (getattr(getattr(getattr(i, "file", None), "hashes", None), name, None) for i in (listed, now))
            if old and new and old != new:
                return f"{name} {old} when listed, {new} after the download"
        return ""

    def row(self, item, folder_path: str | None) -> dict[str, Any]:
        modified = item.last_modified_date_time
        name, note = storable_text(item.name, "name")
        base = {"file_id": item.id, "folder_path": folder_path, "name": name, "etag": item.e_tag,
                "ctag": item.c_tag, "modified_time": modified.isoformat() if modified else None,
                "size_bytes": int(item.size or 0), "is_deleted": False, "seen_at": _now()}
        ref = f"{item.id}@{item.c_tag or item.e_tag or base['modified_time']}"
        base["source_ref"] = ref
        settled = self.library.settled_row(PROVIDER, ref, base, "SharePoint")
        if settled is not None:
            return {**settled, "reason": with_note(settled["reason"], note)}
        over = self.library.over_limit(base["size_bytes"], "SharePoint folder")
        if over:  # never read into memory whole: it stays in the library
            return {**base, "status": "pending", "reason": with_note(over, note)}
        content = b""
        if item.size:
            try:
                content = self.run(lambda: self.drive.items.by_drive_item_id(item.id).content.get(), "download",
                                   missing_ok=True)
            except StoreError as exc:
                self.alert(exc, name)
                return {**base, "status": "pending", "reason": str(exc)[:500]}
            if content is None:  # deleted between the delta and the download
                return {**base, "status": "deleted", "is_deleted": True}
            try:
                changed = self.changed(item)
            except StoreError as exc:
                self.alert(exc, name)
                return {**base, "status": "pending", "reason": str(exc)[:500]}
            if changed is None:  # deleted since: the next delta says so
                return {**base, "status": "deleted", "is_deleted": True}
            if changed:  # replaced between the delta and the re-read: maybe not this version's bytes
                return {**base, "status": "pending", "reason": with_note(
                    f"the file changed while it was read ({changed}); read again on the next run", note)}
            base["size_bytes"] = len(content)  # the bytes stored, whatever size Graph listed
        outcome = self.library.ingest(content, name or item.id, PROVIDER, [f"sharepoint-folder:{folder_path}"], ref)
        return {**base, "status": outcome.status, "sha256": outcome.sha256, "storage_uri": outcome.storage_uri,
                "reason": with_note(outcome.reason, note)}


def _parent(item) -> str | None:
    return getattr(item.parent_reference, "id", None) if item.parent_reference else None


def sharepoint_files_resource(folders: list[str], library: EvidenceLibrary | None = None,
                              settings: SharePointSettings | None = None, backoff: float = 0.5) -> DltResource:
    def rows() -> Iterator[dict[str, Any]]:
        state = dlt.current.resource_state()
        ingest = SharePointIngest(settings or SharePointSettings.from_env(), folders,
                                  library or EvidenceLibrary.from_env(), backoff)
        try:
            yield from _rows(ingest, state)
        finally:
            ingest.close()

    text = {c: {"data_type": "text", "nullable": True} for c in
            ("folder_path", "name", "etag", "ctag", "modified_time", "sha256", "storage_uri", "reason", "source_ref",
             "status", "seen_at")}
    return dlt.resource(rows, name="sharepoint_files", primary_key="file_id", write_disposition="merge",
                        columns={**text, "size_bytes": {"data_type": "bigint", "nullable": True},
                                 "is_deleted": {"data_type": "bool", "nullable": True}})


def _rows(ingest: SharePointIngest, state: dict) -> Iterator[dict[str, Any]]:
    known, retry = stored_files("sharepoint_files", KEPT, state)  # item id -> what it last was; pending ids
    link = state.get("delta_link") if state.get("folders") == ingest.folders else None
    whole = link is None  # an enumeration of the whole library, not the changes since a deltaLink
    try:
        watched: dict[str, str] = dict(state["watched"]) if link else ingest.folder_ids()
        try:
            items, new_link = ingest.delta(link)
        except Resync:
            watched, (items, new_link) = ingest.folder_ids(), ingest.delta(None)
            whole = True
    except StoreError as exc:  # the deltaLink stays: the next run reads the same changes
        ingest.alert(exc, None)
        return
    latest = {i.id: i for i in items}  # an item may come more than once: the last one counts
    store = ingest.library.store
    own = {store.folder_id} if getattr(store, "name", "") == "sharepoint" and \
        store.settings.library_id == ingest.settings.library_id else set()
    for folder_id in own:
        watched.pop(folder_id, None)  # never feed the library its own files back
    # folders under the watched ones (their parents may come after them in the pages)
    folders = {i.id: _parent(i) for i in latest.values() if i.folder is not None and i.deleted is None
               and i.id not in own}
    grew = True
    while grew:
        grew = False
        for fid, parent in folders.items():
            if fid not in watched and parent in watched:
                watched[fid] = f"{watched[parent]}/{storable_text(latest[fid].name, 'folder name')[0]}"
                grew = True
    for i in latest.values():
        if i.deleted is not None:
            watched.pop(i.id, None)
    todo = [i for i in latest.values() if i.folder is None and i.deleted is None and _parent(i) in watched]
    gone = [i.id for i in latest.values() if i.id in known and (
        i.deleted is not None or (i.folder is None and _parent(i) not in watched))]
    seen = {i.id for i in todo}
    if whole:  # it carries no deleted facets: a file the table holds as present and it lacks is gone (the table
        # can hold rows no committed deltaLink covers: a run killed while loading, a reset state, a resync)
        gone += [i for i in known if i not in seen and i not in gone]
    for item_id in [r for r in retry if r not in seen and r not in gone]:
        try:
            item = ingest.item(item_id)
        except StoreError as exc:  # still unreadable: stays pending, with the reason
            ingest.alert(exc, known.get(item_id, {}).get("name"))
            yield {**known.get(item_id, {}), "file_id": item_id, "status": "pending", "reason": str(exc)[:500],
                   "is_deleted": False, "seen_at": _now()}
            continue
        if item is None or _parent(item) not in watched:  # deleted, or moved out of the watched folders
            gone.append(item_id)
        else:
            todo.append(item)
    for item in todo:
        row = ingest.row(item, watched.get(_parent(item)))
        if row["status"] == "deleted":
            gone.append(item.id)
            continue
        known[item.id] = {k: row.get(k) for k in KEPT}
        yield row
    for item_id in dict.fromkeys(gone):
        if item_id in known:
            yield {**known.pop(item_id), "file_id": item_id, "status": "deleted", "is_deleted": True,
                   "seen_at": _now()}
    state.update(delta_link=new_link, folders=list(ingest.folders), watched=watched)
