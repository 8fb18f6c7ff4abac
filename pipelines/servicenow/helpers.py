"""ServiceNow Table API access: paged reads (sequential by ``Link``, or concurrent by offset), writes.

Sync reads order by ``sys_id``, not by update time: a record updated while we page keeps its place,
so nothing shifts between pages (ordering by ``sys_updated_on`` moves it to the end and skips its
neighbour). Deletes during paging can still shift rows; the reconciliation sweep repairs that.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from pipelines.common.http import RetryPolicy, VendorSession
from pipelines.servicenow.auth import ServiceNowOAuth
from pipelines.servicenow.settings import CONFIG_HINT, DEFAULT_PAGE_SIZE, TABLE_PATH

log = logging.getLogger(__name__)


class ServiceNowClient:
    """Thin client over the Table API; every call goes through :class:`VendorSession`."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify: bool | str = True,
        policy: RetryPolicy | None = None,
    ):
        if not base_url:
            raise ValueError("SERVICENOW_BASE_URL is not set: point it at the instance (or the sandbox)")
        self.auth = ServiceNowOAuth(base_url, client_id, client_secret, username, password, verify=verify,
                                    backoff_seconds=(policy or RetryPolicy()).backoff_base_seconds)
        self.session = VendorSession(
            "ServiceNow", base_url, self.auth, policy=policy, verify=verify, config_hint=CONFIG_HINT
        )
        self.server_time: datetime | None = None

    @staticmethod
    def _params(query: str, page_size: int, offset: int, fields: list[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "sysparm_query": query,
            "sysparm_limit": page_size,
            "sysparm_offset": offset,
            "sysparm_display_value": "false",
            "sysparm_exclude_reference_link": "true",
        }
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        return params

    def _page(self, table: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int | None]:
        response = self.session.request("GET", TABLE_PATH.format(table=table), params=params)
        if self.server_time is None and response.headers.get("Date"):
            self.server_time = parsedate_to_datetime(response.headers["Date"]).replace(tzinfo=None)
        total = response.headers.get("X-Total-Count")
        return orjson.loads(response.content).get("result", []), (int(total) if total else None)

    def read_concurrently(
        self, table: str, query: str, *, page_size: int = DEFAULT_PAGE_SIZE, concurrency: int = 4,
        fields: list[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every page of ``query`` (which should end in ``^ORDERBYsys_id``).

        The first page tells the total; the rest are fetched by offset, ``concurrency`` at a time
        (vendors cap concurrent requests per user). ``server_time`` is set from the first
        response's ``Date`` header: the sync's "as of" time for the cursor.
        """
        self.server_time = None
        first, total = self._page(table, self._params(query, page_size, 0, fields))
        if first:
            yield first
        if total is None:  # no count: page sequentially until an empty page
            offset = page_size
            while True:
                rows, _ = self._page(table, self._params(query, page_size, offset, fields))
                if not rows:
                    return
                yield rows
                offset += page_size
        offsets = iter(range(page_size, total, page_size))
        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sn-page") as pool:
            window: collections.deque = collections.deque()
            for offset in offsets:
                window.append(pool.submit(self._page, table, self._params(query, page_size, offset, fields)))
                if len(window) >= concurrency:
                    rows, _ = window.popleft().result()
                    if rows:
                        yield rows
            while window:
                rows, _ = window.popleft().result()
                if rows:
                    yield rows

    def iter_pages(
        self,
        table: str,
        query: str = "",
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        fields: list[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the result pages of a query in order.

        Follows ``rel="next"`` while the server sends a ``Link`` header; without one, advances the
        offset until ``X-Total-Count``. A short page is *not* the end: ServiceNow applies the limit
        before ACL filtering, so pages may come back short while rows remain.
        """
        params: dict[str, Any] | None = {
            "sysparm_query": query,
            "sysparm_limit": page_size,
            "sysparm_offset": 0,
            "sysparm_display_value": "false",
            "sysparm_exclude_reference_link": "true",
        }
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        url = TABLE_PATH.format(table=table)
        offset = 0
        while True:
            response = self.session.request("GET", url, params=params)
            rows = response.json().get("result", [])
            if rows:
                yield rows
            next_link = response.links.get("next")
            if next_link:
                url, params = next_link["url"], None
                continue
            if "Link" in response.headers:
                return  # a Link header without rel="next": that was the last page
            total = response.headers.get("X-Total-Count")
            offset += page_size
            if total is None or offset >= int(total):
                return
            params = {**(params or {}), "sysparm_offset": offset}

    def get(self, table: str, sys_id: str) -> dict[str, Any]:
        return self.session.get_json(f"{TABLE_PATH.format(table=table)}/{sys_id}")["result"]

    def find(self, table: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Records matching an encoded query (one page)."""
        pages = self.iter_pages(table, query, page_size=limit)
        return next(pages, [])

    def create(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(
            "POST", TABLE_PATH.format(table=table), json=record,
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]

    def update(self, table: str, sys_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(
            "PATCH", f"{TABLE_PATH.format(table=table)}/{sys_id}", json=changes,
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]

    def close(self) -> None:
        self.session.close()
