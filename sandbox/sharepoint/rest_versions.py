"""SharePoint REST v1 versions (``rest_files.py`` and ``rest_lists.py`` route here), over the versions Graph
serves (``Item.history``):

- ``…/File/Versions``: the file's earlier versions only (the current one is the file itself), each an
  ``SP.FileVersion`` with ``ID`` (512 times the major number), ``VersionLabel`` (``1.0``), ``Created``, ``Size``,
  ``Length`` (text), ``IsCurrentVersion`` false, ``Url`` (``_vti_history/512/<library>/<path>``),
  ``CheckInComment`` (``$filter`` by ``VersionLabel eq '1.0'`` or ``ID eq 512``);
  ``Versions(512)`` or ``Versions/GetById(512)``, with ``/$value`` (GET) or
  ``/OpenBinaryStream`` (POST) for its bytes; ``Versions/DeleteByID(vid=512)``, ``DeleteByLabel(versionlabel=
  '1.0')``, ``RestoreByLabel(versionlabel='1.0')`` (a new current version with those bytes), ``DeleteAll()``.
  An unknown version is 404 [unc: the text].
- ``items(n)/Versions``: ``SP.ListItemVersion``s newest first, the current one included
  (``IsCurrentVersion``), with ``VersionId``, ``VersionLabel``, ``Created`` and the item's fields.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.rest import args, iso
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.store import Drive, Item

OPS = ("deletebyid", "deletebylabel", "restorebylabel", "deleteall", "recyclebyid", "recyclebylabel")
NO_VERSION = ("-2147024809, System.ArgumentException", "Value does not fall within the expected range.")  # [unc]


class RestVersions:
    """Mixed into ``GraphSandbox`` with ``RestFiles``."""

    def _rest_version(self, req: Request, d: Drive, item: Item, n: int, verbose: bool) -> dict[str, Any]:
        content, date = item.history[n - 1]
        inner = self.store.path_of(item)
        props = {"CheckInComment": "", "Created": iso(date), "ID": 512 * n, "IsCurrentVersion": False,
                 "Length": str(len(content)), "Size": len(content), "Url": f"_vti_history/{512 * n}/{d.name}/{inner}",
                 "VersionLabel": f"{n}.0"}
        path = self.rest_path(req, d, item)
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/GetFileByServerRelativePath(decodedurl='{path}')" \
              f"/Versions({512 * n})"
        return self._rest_entity(props, "SP.FileVersion", uri, verbose)

    def rest_file_versions(self, req: Request, d: Drive, item: Item, segs: list[tuple[str, str | None]],
                           verbose: bool) -> Response:
        """``segs`` from ``Versions`` on (``Versions(512)/$value``, ``Versions/DeleteByID(vid=512)``, …)."""
        names = [n for n, _ in segs]
        if names == ["versions"] and not segs[0][1] and req.method == "GET":
            found = [self._rest_version(req, d, item, n, verbose) for n in range(1, len(item.history) + 1)]
            flt = req.query.get("$filter", "").strip()
            if flt:  # ``get_by_label``: ``VersionLabel eq '1.0'``; also ``ID eq 512``
                m = re.fullmatch(r"(VersionLabel|ID)\s+eq\s+'?([^']*)'?", flt)
                if m is None:
                    raise RestError(400, BAD)
                found = [v for v in found if str(v[m.group(1)]) == m.group(2)]
            return self._rest_json(self._rest_collection(found, verbose), verbose)
        if req.method == "POST" and len(names) == 2 and names[1] in OPS:
            self._rest_drive(req, d.site_id, d.name, "write")
            body = req.json() if req.body else {}
            a = {**args(segs[1][1]), **{k.lower(): str(v) for k, v in (body if isinstance(body, dict) else {}).items()}}
            if names[1] == "deleteall":
                item.history.clear()
                item.history_fields.clear()
            else:
                n = self._version_number(item, a.get("vid") or a.get("versionlabel") or a.get("", ""))
                if names[1] == "restorebylabel":
                    self.store.add(d.id, item.parent_id or "", item.name, item.history[n - 1][0])
                else:  # SharePoint keeps the other versions' labels [unc]; here the later ones move down one
                    del item.history[n - 1]
                    del item.history_fields[n - 1:n]
            self.store.touch(item, write=False)
            return Response(200, b"")
        by_call = names[1:2] == ["getbyid"]
        key = segs[1][1] if by_call else segs[0][1]
        if not key:
            raise RestError(400, BAD)
        n = self._version_number(item, args(key).get("", ""))
        rest = names[2:] if by_call else names[1:]
        if not rest and req.method == "GET":
            return self._rest_json(self._rest_version(req, d, item, n, verbose), verbose)
        if not rest and self._rest_deleting(req):  # FileVersion.delete_object(): as DeleteByID
            self._rest_drive(req, d.site_id, d.name, "write")
            del item.history[n - 1]
            del item.history_fields[n - 1:n]
            self.store.touch(item, write=False)
            return Response(200, b"")
        if (rest == ["$value"] and req.method == "GET") or (rest == ["openbinarystream"] and req.method == "POST"):
            return Response(200, item.history[n - 1][0], "application/octet-stream")
        raise RestError(400, BAD)

    @staticmethod
    def _version_number(item: Item, key: str) -> int:
        """The major number of version ``key`` (an ID, 512 n, or a label ``n.0``) among the earlier ones."""
        key = key.strip().strip("'")
        if (whole := ascii_int(key)) is not None and whole % 512 == 0:
            n = whole // 512
        elif key.endswith(".0") and ascii_int(key[:-2]) is not None:
            n = ascii_int(key[:-2])
        else:
            n = 0
        if not 1 <= n <= len(item.history):
            raise RestError(404, NO_VERSION)
        return n

    def rest_item_versions(self, req: Request, d: Drive, item: Item, verbose: bool) -> Response:
        fields = self._rest_item(req, d, item, False)
        now = {"VersionId": 512 * (len(item.history) + 1), "VersionLabel": item.label, "IsCurrentVersion": True,
               "Created": iso(item.modified), **{k: fields.get(k) for k in ("FileLeafRef", "FileRef", *sorted(
                   d.columns))}}
        out = [now] + [{"VersionId": 512 * n, "VersionLabel": f"{n}.0", "IsCurrentVersion": False,
                        "Created": iso(item.history[n - 1][1]), "FileLeafRef": item.name, "FileRef": fields["FileRef"]}
                       for n in range(len(item.history), 0, -1)]
        base = f"{self._rest_web_url(req)[0]}/_api/Web/Lists/GetByTitle('{d.name}')/Items({item.list_item_id})"
        entities = [self._rest_entity(v, "SP.ListItemVersion", f"{base}/Versions({v['VersionId']})", verbose)
                    for v in out]
        return self._rest_json(self._rest_collection(entities, verbose), verbose)
