"""ServiceNow Table API access: paging that follows ``Link``/``X-Total-Count``, reads and writes."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

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
        self.auth = ServiceNowOAuth(base_url, client_id, client_secret, username, password, verify=verify)
        self.session = VendorSession(
            "ServiceNow", base_url, self.auth, policy=policy, verify=verify, config_hint=CONFIG_HINT
        )

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
