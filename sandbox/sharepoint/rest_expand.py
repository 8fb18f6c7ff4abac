"""SharePoint REST v1 ``$expand`` on files and folders, and the query options on a folder's ``Files`` and
``Folders`` (``rest_files.py``):

- ``$expand=Files,Folders,ListItemAllFields,ParentFolder`` on a folder, ``ListItemAllFields,Versions`` on a
  file: the related entities inline (``{"results": […]}`` verbose, a plain list otherwise), one level deep;
  a name SharePoint does not know here is left out [unc: SharePoint refuses some].
- ``Files`` / ``Folders`` take ``$filter`` (``Name eq 'a.txt'``, ``startswith(Name,'a')``, …), ``$orderby``,
  ``$skip`` and ``$top`` over the entities' properties (``rest_filter.py``); ``$select`` as elsewhere.
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request
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
