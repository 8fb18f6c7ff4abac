"""Microsoft Search in Graph, ``POST /v1.0/search/query`` (msgraph-sdk's ``client.search.query.post``,
office365's ``client.search.query(…)``), over the files and folders of the libraries the app was granted,
with the KQL that SharePoint's own search takes (``rest_search.py``).

- ``{"requests": [{"entityTypes": ["driveItem"|"listItem"], "query": {"queryString"}, "from", "size",
  "region"}]}``; the answer is ``{"value": [{"searchTerms", "hitsContainers": [{"hits": [{"hitId", "rank",
  "summary", "resource": {"@odata.type": "#microsoft.graph.driveItem", …}}], "total",
  "moreResultsAvailable"}]}]}``.
- App-only (every caller here): a request without ``region`` is 400 "Region is required when request with
  application permission" [unc: the exact text]; no ``entityTypes``, an empty query string or ``size`` above
  500 are 400 BadRequest; other entity types (site, list, drive, message…) answer no hits here [unc].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response, json_response
from sandbox.core.numbers import json_int
from sandbox.sharepoint.errors import bad_request, json_body
from sandbox.sharepoint.rest_search import TOKEN, _eval, _parse

TYPES = {"driveitem": "driveItem", "listitem": "listItem"}


class GraphSearch:
    """Mixed into ``GraphSandbox`` (uses ``_search_doc`` of ``RestSearch`` and ``_item_resource``)."""

    def graph_search(self, req: Request) -> Response:
        body = json_body(req)
        requests = body.get("requests") if isinstance(body, dict) else None
        if not isinstance(requests, list) or not requests:
            raise bad_request("Requests must contain at least one request.")
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#Collection(microsoft.graph."
                                                "searchResponse)", "value": [self._search_one(req, r)
                                                                             for r in requests]})

    def _search_one(self, req: Request, ask: Any) -> dict[str, Any]:
        ask = ask if isinstance(ask, dict) else {}
        kinds = [str(k) for k in ask.get("entityTypes") or []]
        text = str((ask.get("query") or {}).get("queryString") or "").strip()
        if not kinds:
            raise bad_request("EntityTypes must be specified.")
        if not text:
            raise bad_request("Query string cannot be empty.")
        if not ask.get("region"):
            raise bad_request("Region is required when request with application permission.")
        start, size = (json_int(ask.get(k) or d, cap=2**31, signed=True) for k, d in (("from", 0), ("size", 25)))
        if start is None or size is None:  # 1e999, NaN, 1.5, '²' [unc: Graph's message]
            raise bad_request("The value of 'from' and 'size' must be integers.")
        if size > 500 or size < 0 or start < 0:
            raise bad_request("Size must be between 0 and 500.")
        wanted = [TYPES[k.lower()] for k in kinds if k.lower() in TYPES]
        tree = _parse(TOKEN.findall(text))
        found = []
        for d in self.store.drives.values():
            if req.principal not in d.grants:
                continue
            for item in list(self.store.items.values()):
                if item.drive_id == d.id and item.parent_id is not None:
                    score = _eval(tree, self._search_doc(req, d, item))
                    if score > 0:
                        found.append((score, item, d))
        found.sort(key=lambda f: (-f[0], self.store.path_of(f[1]).lower()))
        containers = []
        for kind in wanted:
            page = found[start:start + size]
            hits = [{"hitId": item.id if kind == "driveItem" else str(item.list_item_id), "rank": start + n + 1,
                     "summary": "", "resource": self._search_resource(req, kind, item, d)}
                    for n, (_, item, d) in enumerate(page)]
            containers.append({"hits": hits, "total": len(found), "moreResultsAvailable": start + size < len(found)})
        return {"searchTerms": [t.strip('"').rstrip("*").lower() for t in TOKEN.findall(text)
                                if ":" not in t and t not in ("AND", "OR", "NOT", "(", ")", "-")],
                "hitsContainers": containers}

    def _search_resource(self, req: Request, kind: str, item, d) -> dict[str, Any]:
        if kind == "driveItem":
            shown = self._item_resource(item, d, req)
            return {"@odata.type": "#microsoft.graph.driveItem", **{k: v for k, v in shown.items() if k in (
                "id", "name", "webUrl", "size", "createdDateTime", "lastModifiedDateTime", "createdBy",
                "lastModifiedBy", "parentReference", "file", "folder", "fileSystemInfo")}}
        return {"@odata.type": "#microsoft.graph.listItem", "id": str(item.list_item_id),
                "webUrl": self.web_url(item, d, req), "createdDateTime": item.created,
                "lastModifiedDateTime": item.modified, "parentReference": {"siteId": d.site_id},
                "sharepointIds": {"listItemId": str(item.list_item_id)}}
