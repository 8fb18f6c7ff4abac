"""How ``GraphSandbox`` shows a drive item (``_item_resource``: ids, eTag/cTag, size, parentReference,
the folder or file facet with its quickXorHash, ``listItem`` when expanded), its pre-authenticated download
URL, its list-item fields, and the checks writes share: ``If-Match`` / ``If-None-Match`` (412
resourceModified), a missing item (404 itemNotFound) and the drive's quota (507 quotaLimitReached)."""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote

from sandbox.core.http import Request, Response, json_response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.facets import mime_type, quick_xor_hash
from sandbox.sharepoint.odata import parse_expand
from sandbox.sharepoint.store import Drive, Item

BY = {"application": {"id": "00000000-0000-0000-0000-000000000000", "displayName": "SharePoint App"},
      "user": {"displayName": "SharePoint App"}}


def by(who: str | None) -> dict[str, Any]:
    """``createdBy`` / ``lastModifiedBy``: an app-only write shows the app (its client id) and SharePoint's
    "SharePoint App" user, as Graph does [unc: the app's displayName, here its client id]; one made outside
    Graph (the tests writing to the store, as a person would in the browser) shows ``BY``."""
    if who is None:
        return {k: dict(v) for k, v in BY.items()}
    client = who.rpartition("/")[2]
    return {"application": {"id": client, "displayName": client}, "user": {"displayName": "SharePoint App"}}


class Items:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``downloads`` and ``_shown``)."""

    def web_url(self, item: Item, drive: Drive, req: Request) -> str:
        """Where SharePoint shows the item: ``https://<tenant host>/sites/<site>/<library>/<path>`` (the site's own
        ``webUrl`` and the paths this sandbox's REST API serves), percent-encoded as Graph writes it."""
        site = self.store.sites.get(drive.site_id, "").replace(" ", "")
        inner = self.store.path_of(item)
        return f"https://{drive.site_id.split(',')[0]}/sites/{quote(site)}/{quote(drive.name)}" + (
            f"/{quote(inner, errors='surrogatepass')}" if inner else "")

    def _item_resource(self, item: Item, drive: Drive, req: Request) -> dict[str, Any]:
        path = self.store.path_of(self.store.items[item.parent_id]) if item.parent_id else ""
        out: dict[str, Any] = {
            "id": item.id, "name": item.name, "eTag": f'"{{{item.id}}},{item.version}"',
            "cTag": f'"c:{{{item.id}}},{item.label[:-2]}"', "createdDateTime": item.created,
            "lastModifiedDateTime": item.modified,
            "webUrl": self.web_url(item, drive, req),
            "size": (item.listed_size if item.listed_size is not None else
                     len(item.content) if item.content is not None else 0),
            "createdBy": by(item.created_by), "lastModifiedBy": by(item.modified_by),
            "fileSystemInfo": {"createdDateTime": item.created, "lastModifiedDateTime": item.modified},
        }
        out["parentReference"] = {"driveType": "documentLibrary", "driveId": drive.id}  # all a root has
        if item.parent_id is not None:
            out["parentReference"].update(id=item.parent_id,
                                          path=f"/drives/{drive.id}/root:" + (f"/{path}" if path else ""))
        if item.content is None:
            out["folder"] = {"childCount": len(self.store.children(item.id))}
            if item.parent_id is None:
                out["root"] = {}
        else:
            out["file"] = {"mimeType": mime_type(item.name), "hashes": {"quickXorHash": quick_xor_hash(item.content)}}
        if "listItem" in parse_expand(req.query.get("$expand")):
            out["listItem"] = {"id": str(item.list_item_id), "fields": self._fields(item)}
        return out

    def _download_url(self, item: Item, req: Request) -> str:
        token = secrets.token_urlsafe(24)
        self.downloads[token] = item.id
        return f"{req.base_url}/_layouts/15/download.aspx?UniqueId={item.id}&tempauth={token}"

    @staticmethod
    def _fields(item: Item) -> dict[str, Any]:
        return {"@odata.etag": f'"{item.id},{item.version}"', "id": str(item.list_item_id),
                "FileLeafRef": item.name, "Created": item.created, "Modified": item.modified, **item.fields}

    def _precondition(self, item: Item, req: Request) -> None:
        """``If-Match`` (an eTag or cTag as GET gave it, or ``*``): 412 when it no longer matches;
        ``If-None-Match`` (``*``, or a tag): 412 when it does."""
        shown = self._item_resource(item, self.store.drives[item.drive_id], req)
        current = {shown["eTag"].strip('"'), shown["cTag"].strip('"')}

        def tags(value: str) -> set[str]:  # quoted tags hold commas: '"{id},3", "c:{id},2"'
            return {t.strip('"') for t in re.findall(r'"[^"]*"', value)} or {value.strip('"')}

        wanted, unwanted = req.header("If-Match").strip(), req.header("If-None-Match").strip()
        if unwanted and (unwanted == "*" or tags(unwanted) & current):
            raise GraphError(412, "resourceModified", "The item matches the If-None-Match condition.")
        if wanted and wanted != "*" and not tags(wanted) & current:
            raise GraphError(412, "resourceModified", "ETag does not match current item's value")

    def _unchanged(self, item: Item, req: Request) -> bool:
        """A GET's ``If-None-Match`` names the item's current eTag or cTag (Graph answers 304 Not Modified)."""
        unwanted = req.header("If-None-Match").strip()
        if not unwanted or unwanted == "*":
            return False
        shown = self._item_resource(item, self.store.drives[item.drive_id], req)
        return bool({t.strip('"') for t in re.findall(r'"[^"]*"', unwanted) or [unwanted]}
                    & {shown["eTag"].strip('"'), shown["cTag"].strip('"')})

    @staticmethod
    def _exists(item: Item | None) -> Item:
        if item is None:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        return item

    def _found(self, item: Item | None, drive: Drive, req: Request) -> Response:
        return json_response(self._shown(self._exists(item), drive, req))

    def _room(self, drive: Drive, size: int, replacing: Item | None = None) -> None:
        freed = len(replacing.content) if replacing is not None and replacing.content is not None else 0
        if self.store.used_bytes(drive.id) - freed + size > drive.quota_bytes:
            raise GraphError(507, "quotaLimitReached", "Insufficient Space Available")
