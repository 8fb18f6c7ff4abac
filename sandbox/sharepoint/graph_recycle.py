"""Deleting drive items through Graph, for ``GraphSandbox``: the recycle bin and ``permanentDelete``.

- ``DELETE /drives/{id}/items/{id}`` (or by path) moves the item, a folder with all under it, to the site's
  recycle bin, as Graph documents ("moves the items to the recycle bin instead of permanently deleting"):
  ``204``; ``delta`` reports it deleted, and SharePoint REST's ``web/RecycleBin`` lists it and can ``Restore()``
  it with its ids (``rest_recycle.py``, the same bin office365's ``recycle()`` fills).
- ``POST …/permanentDelete`` (no body) deletes it for good, not into the bin: ``204``. ``If-Match`` with a
  stale eTag is 412 for both, as for other writes.
- A drive's root cannot be deleted (either way): 400 invalidRequest [unc: Graph's code and text]; it took the
  whole library before.
"""

from __future__ import annotations

from sandbox.core.http import Request, Response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Drive, Item


class GraphRecycle:
    """Mixed into ``GraphSandbox`` (uses ``store`` and ``to_bin`` from ``RestRecycle``)."""

    def graph_delete(self, drive: Drive, item: Item, req: Request, permanent: bool = False) -> Response:
        if item.parent_id is None:
            raise GraphError(400, "invalidRequest", "The root folder of a drive cannot be deleted.")
        if permanent:
            self.store.delete(item)
            return Response(204, b"")
        inner = self.store.path_of(item)
        self.to_bin(drive, item, f"/sites/{self.store.sites[drive.site_id]}/{drive.name}/{inner}")
        return Response(204, b"")
