"""CMDB Meta API: GET /api/now[/v1]/cmdb/meta/{className}, a CMDB class's metadata, as documented.

`{"result": {"icon_url", "is_extendable", "parent", "children", "name", "icon", "attributes",
"relationship_rules", "label", "identification_rules"}}`: `parent` the class it extends ("" for cmdb_ci),
`children` the classes extending it directly, `is_extendable` a JSON boolean, and one attribute per field of
the class, each `{"is_inherited", "is_mandatory", "is_read_only", "default_value", "label", "type", "element",
"max_length", "is_display"}` (strings, but `default_value` null when there is none), labels and types as
sys_dictionary gives them (`meta_tables`). Every CI field is cmdb_ci's in the sandbox (`ci_classes`), so a
subclass's attributes are all inherited. The hardware classes carry the base system's "Hardware Rule"
(serial number, then name); the other classes an empty object [unc: their base-system rules are not copied].
`relationship_rules` is [] and `icon` "" [unc: the suggested-relationship table and the icon records are not
emulated]. A class that is not a CMDB class answers 404 (the documented "not found") [unc: the wording]; a
caller without a role (self-service) 403, as the API asks for the itil role.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl
from sandbox.servicenow.app import check_accept
from sandbox.servicenow.ci_classes import CI_PARENTS, family
from sandbox.servicenow.meta_tables import TYPES, _label, class_label

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

BASE = r"/api/now(?:/v1)?/cmdb/meta/(?P<cls>[^/]+)"
_HARDWARE_RULE = {
    "related_rules": [], "applies_to": "cmdb_ci_hardware", "name": "Hardware Rule",
    "description": "Identifier for hardware.", "active": True, "is_independent": True,
    "identifiers": [
        {"condition": None, "exact_count_match": False, "referenced_field": None, "active": True,
         "attributes": attributes, "allow_fallback": False, "table": None, "order": order,
         "allow_null_attribute": False}
        for attributes, order in (("serial_number", 200), ("name", 300))]}


class CmdbMetaAPI:
    """Route handler bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        router.add("GET", BASE, self.meta)

    def meta(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        name = req.params["cls"]
        if name != "cmdb_ci" and name not in CI_PARENTS:
            raise HTTPError(404, "Invalid class", f"{name} is not a CMDB class")
        with self.store.lock:
            if acl.self_service(self.store, user) is not None:
                raise HTTPError(403, "User Not Authorized", "The CMDB Meta API needs the itil role")
            schema = self.store.tables["cmdb_ci"].schema
        attributes = [{
            "is_inherited": "false" if name == "cmdb_ci" else "true", "is_mandatory": "false",
            "is_read_only": "true" if f.name.startswith("sys_") else "false",
            "default_value": schema.defaults.get(f.name) or None, "label": _label(f.name),
            "type": "GUID" if f.name == "sys_id" else TYPES.get(f.kind, "string"), "element": f.name,
            "max_length": "32" if f.kind == "reference" or f.name == "sys_id" else
                          "255" if f.kind == "string" else "40",
            "is_display": "true" if f.name == schema.display else "false"} for f in schema.fields]
        result: dict[str, Any] = {
            "icon_url": "images/app.ngbsm/generic.svg", "is_extendable": True, "parent": CI_PARENTS.get(name, ""),
            "children": sorted(c for c, parent in CI_PARENTS.items() if parent == name), "name": name, "icon": "",
            "attributes": attributes, "relationship_rules": [], "label": class_label(name),
            "identification_rules": _HARDWARE_RULE if name in family("cmdb_ci_hardware") else {}}
        return json_response({"result": result})
