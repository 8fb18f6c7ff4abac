"""SharePoint REST v1 ``$expand`` on files and folders, and the query options on a folder's ``Files`` and
``Folders`` (``rest_files.py``):

- ``$expand=Files,Folders,ListItemAllFields,ParentFolder`` on a folder, ``ListItemAllFields,Versions`` on a
  file: the related entities inline (``{"results": […]}`` verbose, a plain list otherwise), one level deep;
  a name SharePoint does not know here is left out [unc: SharePoint refuses some].
- ``Files`` / ``Folders`` take ``$filter`` (``Name eq 'a.txt'``, ``startswith(Name,'a')``, …), ``$orderby``,
  ``$skip`` and ``$top`` over the entities' properties (``rest_filter.py``); ``$select`` as elsewhere.
- ``Folder/StorageMetrics``: file count and bytes under the folder (Edm.Int64 as text).
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.core.http import Request
from sandbox.sharepoint.rest import iso
from sandbox.sharepoint.rest_filter import query_rows
from sandbox.sharepoint.store import Drive, Item


class RestExpand:
    """Mixed into ``GraphSandbox`` with ``RestFiles``."""

    def _rest_listing(self, req: Request, d: Drive, kids: list[Item], folders: bool, verbose: bool) -> dict[str, Any]:
        build = self._rest_folder if folders else self._rest_file
        chosen = [i for i in kids if (i.content is None) == folders]
        plain = [build(req, d, i, False, "", False) for i in chosen]
        by_row = {id(row): item for row, item in zip(plain, chosen, strict=True)}
        kept = [by_row[id(row)] for row in query_rows(plain, req.query)]
        return self._rest_collection([build(req, d, i, verbose) for i in kept], verbose)

    def rest_storage_metrics(self, req: Request, d: Drive, folder: Item, verbose: bool) -> dict[str, Any]:
        """``Folder/StorageMetrics``: the files under the folder at any depth, their bytes (versions included in
        ``TotalSize`` as SharePoint counts them), the latest change."""
        files, todo = [], [folder]
        while todo:
            for kid in self.store.children(todo.pop().id):
                (todo if kid.content is None else files).append(kid)
        stream = sum(len(f.content or b"") for f in files)
        versions = sum(len(c) for f in files for c, _ in f.history)
        props = {"AdditionalFileStreamSize": "0", "LastModified": iso(max([folder.modified, *(f.modified
                 for f in files)])), "TotalFileCount": str(len(files)), "TotalFileStreamSize": str(stream),
                 "TotalSize": str(stream + versions), "VersionCount": str(sum(len(f.history) for f in files)),
                 "VersionSize": str(versions)}
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/GetFolderById('{uuid.uuid5(uuid.NAMESPACE_OID, folder.id)}')" \
              "/StorageMetrics"
        return self._rest_entity(props, "SP.StorageMetrics", uri, verbose)

    def _rest_expanded(self, req: Request, d: Drive, item: Item, entity: dict[str, Any], verbose: bool,
                       expand: bool) -> dict[str, Any]:
        names = {n.strip().lower() for n in req.query.get("$expand", "").split(",") if n.strip()} if expand else set()
        if not names:
            return entity
        kids = sorted(self.store.children(item.id), key=lambda i: i.name.lower()) if item.content is None else []

        def many(rows: list[dict[str, Any]]) -> Any:
            return self._rest_collection(rows, verbose) if verbose else rows

        if "files" in names and item.content is None:
            entity["Files"] = many([self._rest_file(req, d, i, verbose, "", False) for i in kids
                                    if i.content is not None])
        if "folders" in names and item.content is None:
            entity["Folders"] = many([self._rest_folder(req, d, i, verbose, "", False) for i in kids
                                      if i.content is None])
        if "listitemallfields" in names and item.parent_id is not None:
            entity["ListItemAllFields"] = self._rest_item(req, d, item, verbose)
        if "parentfolder" in names and item.parent_id is not None:
            entity["ParentFolder"] = self._rest_folder(req, d, self.store.items[item.parent_id], verbose, "", False)
        if "versions" in names and item.content is not None:
            entity["Versions"] = many([self._rest_version(req, d, item, n, verbose)
                                       for n in range(1, len(item.history) + 1)])
        return entity
