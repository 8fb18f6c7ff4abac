"""Service Catalog cart: /api/sn_sc[/v1]/servicecatalog/items/{sys_id}/add_to_cart and /cart, over the
sc_cart and sc_cart_item tables the Table API serves (one "DEFAULT" cart per user, made on first use).

- POST /items/{sys_id}/add_to_cart {"sysparm_quantity" (1 when absent), "variables",
  "sysparm_requested_for"}: 200 with the cart.
- GET /cart: the caller's cart in the documented shape: {cart_id, subtotal_price ("$1,598.00"),
  subtotal_recurring_frequency, subtotal_recurring_price, total_title, show_subtotal_price, subtotal_title,
  "none": {the same totals, frequency_label, items: [{cart_item_id, catalog_item_id, item_name, quantity,
  price (the unit price), subtotal_price (price x quantity), subtotal, variables, ...}]}} (every item has
  the recurring frequency "none": the sandbox's catalog has no recurring prices).
- PUT (or POST, the older form) /cart/{cart_item_id} {"sysparm_quantity", "variables"}: 200 with the cart;
  DELETE /cart/{cart_item_id}: 204. Another user's or an unknown cart item: 400.
- DELETE /cart/{cart_id}/empty: 204 (the cart's items removed; another user's or an unknown cart: 400).
- POST /cart/submit_order and POST /cart/checkout (one-step checkout, the default): the cart's items become
  one sc_request with a sc_req_item and a sc_task per item (`catalog_api.place_order`), the cart empties;
  200 {"request_number", "request_id", "table"}. An empty cart: 400.
The variables of a cart item are kept beside it (an instance keeps them in sc_item_option records) and are
lost with a restart. [unc: error wordings.]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow.app import json_object
from sandbox.servicenow.catalog_api import catalog_item, money, order_line, place_order
from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

BASE = r"/api/sn_sc(?:/v1)?/servicecatalog"
SID = r"(?P<sys_id>[0-9a-f]{32})"
CART_SCHEMAS = {s.name: s for s in (
    TableSchema("sc_cart", (
        Field("sys_id"), Field("name"), Field("user", "reference", "sys_user"),
        Field("requested_for", "reference", "sys_user"), Field("delivery_address"), Field("special_instructions"),
        *SYS_FIELDS), None, "name", defaults={"name": "DEFAULT", "sys_domain": "global"}),
    TableSchema("sc_cart_item", (
        Field("sys_id"), Field("cart", "reference", "sc_cart"), Field("cat_item", "reference", "sc_cat_item"),
        Field("quantity", "integer"), Field("active", "boolean"), *SYS_FIELDS), None, "sys_id",
        defaults={"quantity": "1", "active": "true", "sys_domain": "global"}),
)}
EMPTY_CART = ("Cart is empty", "There are no items in the cart to check out")
INVALID_CART_ITEM = ("Invalid cart item", "The cart item does not exist or does not belong to the user's cart")


class CartAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        """cart item sys_id -> its variables."""
        return self.store.scratch("cart_variables")

    def register(self, router: Router) -> None:
        router.add("POST", BASE + r"/items/" + SID + "/add_to_cart", self.add)
        router.add("GET", BASE + r"/cart", self.get)
        router.add("POST", BASE + r"/cart/(?P<action>submit_order|checkout)", self.submit)
        router.add("PUT", BASE + r"/cart/" + SID, self.edit)
        router.add("POST", BASE + r"/cart/" + SID, self.edit)
        router.add("DELETE", BASE + r"/cart/" + SID, self.remove)
        router.add("DELETE", BASE + r"/cart/" + SID + "/empty", self.empty)

    # --- helpers ---------------------------------------------------------------------------------
    def _cart(self, user: str) -> dict[str, str]:
        """The caller's cart, made on first use."""
        me, carts = self.store.user_sys_id(user), self.store.tables["sc_cart"]
        get_user, get_name = carts.getter("user"), carts.getter("name")
        row = next((r for r in carts.alive_rows() if get_user(r) == me and get_name(r) == "DEFAULT"), None)
        if row is None:
            _, row = self.store.insert("sc_cart", {"user": me, "requested_for": me}, user)
        return carts.record(row)

    def _lines(self, cart: str) -> list[int]:
        items = self.store.tables["sc_cart_item"]
        get = items.getter("cart")
        return [r for r in items.alive_rows() if get(r) == cart]

    def _view(self, cart: dict[str, str]) -> dict[str, Any]:
        """The documented cart: totals, and the items grouped by recurring frequency ("none" here)."""
        items, cat = self.store.tables["sc_cart_item"], self.store.tables["sc_cat_item"]
        out, total = [], 0.0
        for r in self._lines(cart["sys_id"]):
            line = items.record(r)
            found = self.store.locate("sc_cat_item", line["cat_item"])
            item = cat.record(found[1]) if found else {"name": "", "price": "0", "short_description": ""}
            unit, quantity = float(item["price"] or 0), int(line["quantity"] or 1)
            total += unit * quantity
            out.append({
                "cart_item_id": line["sys_id"], "sys_id": line["sys_id"], "catalog_item_id": line["cat_item"],
                "item_id": line["cat_item"], "item_name": item["name"], "name": item["name"],
                "short_description": item["short_description"], "sys_class_name": "sc_cat_item",
                "quantity": line["quantity"], "price": money(str(unit)), "localized_price": money(str(unit)),
                "subtotal_price": money(str(unit * quantity)), "subtotal": unit * quantity,
                "recurring_price": money("0"), "localized_recurring_price": money("0"),
                "recurring_subtotal_price": money("0"), "recurring_subtotal": 0, "recurring_frequency": None,
                "variables": dict(self.variables.get(line["sys_id"], {})), "delivery_time": "",
                "show_price": True, "show_quantity": True, "show_recurring_price": False, "picture": "",
                "order_guide": "", "created_by": line["sys_created_by"], "created_on": line["sys_created_on"],
                "updated_by": line["sys_updated_by"], "updated_on": line["sys_updated_on"]})
        totals = {"subtotal_price": money(str(total)), "subtotal_recurring_frequency": "",
                  "subtotal_recurring_price": money("0"), "total_title": "Total"}
        return {"cart_id": cart["sys_id"], **totals,
                "none": {**totals, "frequency_label": None, "items": out, "show_subtotal_price": "true",
                         "subtotal_title": "Subtotal"},
                "show_subtotal_price": "true", "subtotal_title": "Subtotal"}

    def _own_line(self, user: str, sys_id: str) -> int:
        found = self.store.locate("sc_cart_item", sys_id)
        if found is None or found[0].record(found[1])["cart"] != self._cart(user)["sys_id"]:
            raise HTTPError(400, *INVALID_CART_ITEM)
        return found[1]

    # --- handlers --------------------------------------------------------------------------------
    def add(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        body = json_object(req, empty=True)
        quantity, variables = order_line(body)
        with self.store.lock:
            item = catalog_item(self.store, req.params["sys_id"])
            cart = self._cart(user)
            who = str(body.get("sysparm_requested_for") or "")
            if who:
                if self.store.locate("sys_user", who) is None:
                    raise HTTPError(400, "Invalid requested for", f"No user with sys_id {who}")
                found = self.store.locate("sc_cart", cart["sys_id"])
                self.store.update(*found, {"requested_for": who}, user)  # type: ignore[misc]
            table, row = self.store.insert("sc_cart_item", {"cart": cart["sys_id"], "cat_item": item["sys_id"],
                                                            "quantity": str(quantity)}, user)
            self.variables[table.record(row)["sys_id"]] = variables
            return json_response({"result": self._view(cart)})

    def get(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            return json_response({"result": self._view(self._cart(user))})

    def edit(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        body = json_object(req, empty=True)
        quantity, variables = order_line(body)
        with self.store.lock:
            row = self._own_line(user, req.params["sys_id"])
            self.store.update(self.store.tables["sc_cart_item"], row, {"quantity": str(quantity)}, user)
            if variables:
                self.variables.setdefault(req.params["sys_id"], {}).update(variables)
            return json_response({"result": self._view(self._cart(user))}, 201 if req.method == "POST" else 200)

    def remove(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            row = self._own_line(user, req.params["sys_id"])
            self.store.delete(self.store.tables["sc_cart_item"], row, user)
            self.variables.pop(req.params["sys_id"], None)
        return Response(204)

    def _empty(self, cart: str, user: str) -> None:
        items = self.store.tables["sc_cart_item"]
        for r in self._lines(cart):
            self.variables.pop(items.record(r)["sys_id"], None)
            self.store.delete(items, r, user)

    def empty(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            cart = self._cart(user)
            if req.params["sys_id"] != cart["sys_id"]:
                raise HTTPError(400, "Invalid cart", f"{req.params['sys_id']} is not the user's cart")
            self._empty(cart["sys_id"], user)
        return Response(204)

    def submit(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            cart = self._cart(user)
            items = self.store.tables["sc_cart_item"]
            lines = [items.record(r) for r in self._lines(cart["sys_id"])]
            if not lines:
                raise HTTPError(400, *EMPTY_CART)
            order = [(catalog_item(self.store, x["cat_item"]), int(x["quantity"] or 1),
                      self.variables.get(x["sys_id"], {})) for x in lines]
            request = place_order(self.store, order, cart["requested_for"] or cart["user"], user)
            self._empty(cart["sys_id"], user)
        return json_response({"result": {"request_number": request["number"], "request_id": request["sys_id"],
                                         "table": "sc_request"}})
