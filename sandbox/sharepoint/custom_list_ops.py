"""Writes to a custom list itself through SharePoint REST, for ``GraphSandbox`` with ``CustomLists``, as
office365-rest-python-client's own test suite makes them (``List.update()``, ``List.delete_object()``,
``ListItem.update_overwrite_version()``); each was 400 "The expression … is not valid.".

- ``POST lists(guid'…')`` with ``X-HTTP-Method: MERGE`` (or PATCH): ``Title`` changes; the
  list keeps the URL, ``ListItemEntityTypeFullName`` and property bag it was made with, as SharePoint does on a
  rename (a later list of the old title gets another URL, ``custom_lists.add_custom_list``); another list's or
  library's title in the web (in any case; the list's own in another case is a rename) is 409 [unc: SharePoint's
  code], checked and changed under the store's lock; other properties are taken and ignored [unc].
- ``DELETE lists(guid'…')`` (or POST with ``X-HTTP-Method: DELETE``): the list and its items are gone for good
  [unc: SharePoint's ``DeleteObject`` on a list; ``Recycle`` would put it in the bin].
- ``POST items(n)/UpdateOverwriteVersion``: the item as it is saved without a new version (its version and
  history stay; ``Modified`` moves on) [unc: what SharePoint changes besides].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest_errors import RestError
from sandbox.sharepoint.store import now_iso

TAKEN = ("-2130575342, Microsoft.SharePoint.SPException", "A list, survey, discussion board, or document library "
         "with the specified title already exists in this Web site.  Please choose another title.")


class CustomListOps:
    """Mixed into ``GraphSandbox`` with ``CustomLists``."""

    def rest_custom_list_op(self, req: Request, lst: Any, segs: list[tuple[str, str | None]], verbose: bool
                            ) -> Response | None:
        method = req.header("X-HTTP-Method").upper() or req.method
        if segs or req.method not in ("POST", "PATCH", "DELETE", "MERGE"):
            return None
        if method == "DELETE":
            with self.store.lock:
                self.store.custom_lists.pop(lst.id, None)
                self.__dict__.get("_property_bags", {}).pop(f"{lst.site_id}/{lst.id}", None)  # rest_props.py
            self.store.changed("list", lst.id)
            self.rest_schema_changed(lst.id, "list", lst.id, 3)  # rest_schema_log.py
            return Response(200, b"")
        if method not in ("MERGE", "PATCH"):
            return None
        body = req.json() if req.body else {}
        title = body.get("Title") if isinstance(body, dict) else None
        if isinstance(title, str) and title.strip() and title != lst.title:
            with self.store.lock:
                if title.lower() in self.list_titles_taken(lst):
                    raise RestError(409, TAKEN)
                lst.made_as = lst.made_as or lst.title
                lst.title = title
        self.store.changed("list", lst.id)
        self.rest_schema_changed(lst.id, "list", lst.id, 2)  # rest_schema_log.py
        return Response(204, b"")

    def list_titles_taken(self, lst: Any) -> set[str]:
        """The titles (lower case) of the web's other lists and libraries, which ``lst`` cannot be renamed to."""
        return {c.title.lower() for c in self.store.custom_lists.values()
                if c.site_id == lst.site_id and c.id != lst.id} | {
            d.name.lower() for d in self.store.drives.values() if d.site_id == lst.site_id}

    def rest_custom_overwrite_version(self, lst: Any, row: Any) -> Response:
        with self.store.lock:
            row.modified = now_iso()
        self.store.changed("list", lst.id)
        return Response(200, b"")
