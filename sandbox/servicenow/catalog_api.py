"""Service Catalog API: /api/sn_sc[/v1]/servicecatalog over the seeded sc_cat_item table, ordering into the
sc_request, sc_req_item and sc_task tables the Table API serves.

One catalog, "Service Catalog", under the sys_id and description an instance ships it with. The instance
keeps categories as sc_category records; here sc_cat_item.category is a title, so each distinct title is
a category whose sys_id derives from it (md5 of "sc_category:<title>"); sysparm_category takes that
sys_id or the title. GET /catalogs[/{sys_id}], /catalogs/{sys_id}/categories, /categories/{sys_id};
GET /items (active items by `order`; sysparm_text over name and short_description, sysparm_category,
sysparm_catalog, sysparm_limit default 10 [unc], sysparm_offset) and /items/{sys_id} (no variables:
the sandbox keeps none). An unknown catalog, category or item sys_id answers 400, as documented.
POST /items/{sys_id}/order_now {"sysparm_quantity", "sysparm_requested_for", "variables"} creates the
request, its requested item (the variables written to its description as "name: value" lines) and one
catalog task (what the default fulfilment flow creates [unc]), and answers {sys_id, number,
request_number, request_id, table, parent_id, parent_table}. Prices show as "$12.34" [unc].
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import json_int
from sandbox.servicenow.app import check_accept, int_param, json_object

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.store import Store

BASE = r"/api/sn_sc(?:/v1)?/servicecatalog"
SID = r"(?P<sys_id>[0-9a-f]{32})"
CATALOG = {"sys_id": "e0d08b13c3330100c8b837659bba8fb4", "title": "Service Catalog",
           "description": "Service Catalog - IT Now", "has_categories": True, "has_items": True,
           "desktop_image": ""}
# The documented answer to an unknown (or inaccessible) catalog, category or item sys_id is 400 [unc: wording].
INVALID = ("Invalid sys_id", "The record does not exist or the user has no access to it")


def category_id(title: str) -> str:
    return hashlib.md5(f"sc_category:{title}".encode()).hexdigest()


def money(raw: str) -> str:
    try:
        return f"${float(raw or 0):,.2f}"
    except ValueError:
        return raw


class ServiceCatalogAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        router.add("GET", BASE + r"/catalogs", self.catalogs)
        router.add("GET", BASE + r"/catalogs/" + SID, self.catalog)
        router.add("GET", BASE + r"/catalogs/" + SID + "/categories", self.catalog_categories)
        router.add("GET", BASE + r"/categories/" + SID, self.category)
        router.add("GET", BASE + r"/items", self.items)
        router.add("GET", BASE + r"/items/" + SID, self.item)
        router.add("POST", BASE + r"/items/" + SID + "/order_now", self.order_now)

    # --- helpers ---------------------------------------------------------------------------------
    def _read(self, req: Request) -> None:
        self.sb.auth.authenticate(req)
        check_accept(req)

    def _items(self) -> list[dict[str, str]]:
        table = self.store.tables["sc_cat_item"]
        rows = [table.record(r) for r in table.alive_rows()]
        return sorted((r for r in rows if r["active"] == "true"), key=lambda r: (int(r["order"] or 0), r["name"]))

    def _categories(self) -> list[dict[str, Any]]:
        titles = sorted({r["category"] for r in self._items() if r["category"]})
        return [{"sys_id": category_id(t), "title": t, "description": f"{t} requests", "full_description": "",
                 "icon": "", "header_icon": "", "homepage_image": "", "subcategories": [],
                 "count": sum(r["category"] == t for r in self._items())} for t in titles]

    def _summary(self, rec: dict[str, str]) -> dict[str, Any]:
        title = rec["category"]
        return {"sys_id": rec["sys_id"], "name": rec["name"], "short_description": rec["short_description"],
                "description": rec["short_description"], "sys_class_name": rec["sys_class_name"] or "sc_cat_item",
                "type": "catalog_item", "order": int(rec["order"] or 0), "price": money(rec["price"]),
                "localized_price": money(rec["price"]), "price_currency": "USD", "recurring_price": money("0"),
                "localized_recurring_price": money("0"), "recurring_price_currency": "USD",
                "recurring_frequency": None, "show_price": True,
                "show_quantity": True, "show_wishlist": True, "local_currency": "USD", "picture": "", "icon": "",
                "mandatory_attachment": False, "request_method": "", "visible_standalone": True,
                "content_type": "", "url": "", "kb_article": "",
                "category": {"sys_id": category_id(title), "title": title} if title else {},
                "catalogs": [{"sys_id": CATALOG["sys_id"], "title": CATALOG["title"], "active": True}]}

    def _item(self, sys_id: str) -> dict[str, str]:
        return catalog_item(self.store, sys_id)

    @staticmethod
    def _catalog_of(req: Request) -> None:
        if req.params["sys_id"] != CATALOG["sys_id"]:
            raise HTTPError(400, *INVALID)

    # --- reads -----------------------------------------------------------------------------------
    def catalogs(self, req: Request) -> Response:
        self._read(req)
        return json_response({"result": [CATALOG]})

    def catalog(self, req: Request) -> Response:
        self._read(req)
        self._catalog_of(req)
        with self.store.lock:
            cats = [{"sys_id": c["sys_id"], "title": c["title"]} for c in self._categories()]
        return json_response({"result": {**CATALOG, "categories": cats}})

    def catalog_categories(self, req: Request) -> Response:
        self._read(req)
        self._catalog_of(req)
        limit, offset = int_param(req.query, "sysparm_limit", 100), int_param(req.query, "sysparm_offset", 0)
        with self.store.lock:
            cats = self._categories()
        return json_response({"result": cats[offset:offset + limit]}, 200, [("X-Total-Count", str(len(cats)))])

    def category(self, req: Request) -> Response:
        self._read(req)
        with self.store.lock:
            cat = next((c for c in self._categories() if c["sys_id"] == req.params["sys_id"]), None)
        if cat is None:
            raise HTTPError(400, *INVALID)
        return json_response({"result": cat})

    def items(self, req: Request) -> Response:
        self._read(req)
        q = req.query
        limit, offset = int_param(q, "sysparm_limit", 10), int_param(q, "sysparm_offset", 0)
        if offset < 0 or limit < 0:
            raise HTTPError(400, "Invalid pagination parameters", "sysparm_offset/sysparm_limit must be >= 0")
        text, category = q.get("sysparm_text", "").strip().lower(), q.get("sysparm_category", "").strip()
        catalog = q.get("sysparm_catalog", "").strip()
        with self.store.lock:
            rows = self._items()
        if catalog and catalog != CATALOG["sys_id"]:
            rows = []
        if category:
            rows = [r for r in rows if category in (r["category"], category_id(r["category"]))]
        if text:
            rows = [r for r in rows if text in r["name"].lower() or text in r["short_description"].lower()]
        return json_response({"result": [self._summary(r) for r in rows[offset:offset + limit]]}, 200,
                             [("X-Total-Count", str(len(rows)))])

    def item(self, req: Request) -> Response:
        self._read(req)
        with self.store.lock:
            rec = self._item(req.params["sys_id"])
        out = self._summary(rec)
        out.update(variables=[], categories=[out["category"]] if out["category"] else [],
                   client_script={"onLoad": [], "onSubmit": [], "onChange": []}, ui_policy=[], data_lookup=[])
        return json_response({"result": out})

    # --- ordering --------------------------------------------------------------------------------
    def order_now(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        body = json_object(req, empty=True)
        quantity, variables = order_line(body)
        with self.store.lock:
            item = self._item(req.params["sys_id"])
            me = self.store.user_sys_id(user)
            who = str(body.get("sysparm_requested_for") or me)
            if self.store.locate("sys_user", who) is None:
                raise HTTPError(400, "Invalid requested for", f"No user with sys_id {who}")
            request = place_order(self.store, [(item, quantity, variables)], who, user)
        return json_response({"result": {
            "sys_id": request["sys_id"], "number": request["number"], "request_number": request["number"],
            "request_id": request["sys_id"], "table": "sc_request", "parent_id": None, "parent_table": "task",
            "redirect_portal_url": "", "redirect_url": "", "redirect_to": "generated_record"}})


def catalog_item(store: Store, sys_id: str) -> dict[str, str]:
    """The active sc_cat_item with this sys_id, or the documented 400."""
    found = store.locate("sc_cat_item", sys_id)
    if found is None or found[0].record(found[1])["active"] != "true":
        raise HTTPError(400, *INVALID)
    return found[0].record(found[1])


def order_line(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """sysparm_quantity (1 when absent) and variables of an order body, or the 400 for bad ones."""
    raw = body.get("sysparm_quantity")
    quantity = 1 if raw is None or raw == "" else json_int(raw, cap=2**31, signed=True)
    if quantity is None:  # not int(): 1e999 (inf to Python's json) raised OverflowError, a 500; 1.5 [unc]
        raise HTTPError(400, "Invalid quantity", f"{str(raw)[:100]!r} is not a number")
    if quantity < 1:
        raise HTTPError(400, "Invalid quantity", "sysparm_quantity must be at least 1")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise HTTPError(400, "Exception while reading request", "variables must be an object")
    return quantity, variables


def place_order(store: Store, lines: list[tuple[dict[str, str], int, dict[str, Any]]], who: str,
                user: str) -> dict[str, str]:
    """One sc_request for `who` holding a requested item (the variables written to its description as
    "name: value" lines) and one catalog task per (catalog item, quantity, variables) line; the request."""
    me = store.user_sys_id(user)
    total = sum(float(item["price"] or 0) * quantity for item, quantity, _ in lines)
    title = lines[0][0]["name"] if len(lines) == 1 else f"{lines[0][0]['name']} and {len(lines) - 1} more"
    _, req_row = store.insert("sc_request", {
        "short_description": title, "requested_for": who, "price": f"{total:.2f}", "request_state": "in_process",
        "approval": "approved", "stage": "requested", "opened_by": me}, user)
    request = store.tables["sc_request"].record(req_row)
    for item, quantity, variables in lines:
        _, ritm_row = store.insert("sc_req_item", {
            "short_description": item["name"], "request": request["sys_id"], "cat_item": item["sys_id"],
            "requested_for": who, "quantity": str(quantity), "price": item["price"] or "0",
            "description": "\n".join(f"{k}: {v}" for k, v in variables.items()), "approval": "approved",
            "parent": request["sys_id"], "opened_by": me}, user)
        ritm = store.tables["sc_req_item"].record(ritm_row)
        store.insert("sc_task", {"short_description": item["name"], "request": request["sys_id"],
                                 "request_item": ritm["sys_id"], "parent": ritm["sys_id"], "opened_by": me}, user)
    return request
