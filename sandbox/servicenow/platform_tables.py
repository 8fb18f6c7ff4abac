"""Tables of an instance PySNC's own test suite names that the rest of the sandbox does not serve:

- `alm_asset` (Asset): one asset per seeded hardware CI (servers, computers, network gear), its `ci`,
  `asset_tag`, `serial_number`, `install_status` (the asset's own choice list: 1 In use, 6 In stock, ...),
  `assigned_to`, `managed_by`, `owned_by`, `location` and `company` references (the CI's, dot-walkable)
  and `display_name` (its display field: "<asset tag> - <CI name>"). [unc: an instance's assets belong to
  alm_hardware / alm_license subclasses and carry a model and model category; the sandbox has no model
  tables, so those stay out]
- `bsm_chart` (BSM Chart, the Business Service Map's saved charts): served, described, empty
  [unc: its fields beyond name/title/type/description are not known here]. PySNC's test_or_query counts the
  sys_db_object rows `name=alm_asset^ORname=bsm_chart` (2).
- `sys_script` (Business Rule): the base system's fields (collection, when, order, action_insert/update/
  delete/query, abort_action, add_message, message, filter_condition, condition, advanced, script, ...),
  a few out-of-box rules (inert: the sandbox's own rules module emulates what they do), admin-only like
  sys_properties (`acl.ADMIN_TABLES`). `template` is the Actions tab's "Set field values" (a
  `field=value^...^EQ` template). A rule an admin adds runs (`business_rules`): PySNC's
  test_multi_update_with_failures adds a before insert/update rule with abort_action and a
  filter_condition and expects the matching updates of a batch to fail.

Rows derive from the seeded CIs or are fixed (MD5 sys_ids, a 2020 date): no draw, no seeded row moves.
"""

from __future__ import annotations

import hashlib

from sandbox.servicenow.schema import SCHEMAS, SYS_FIELDS, Field, TableSchema

SINCE = "2020-01-01 00:00:00"
HARDWARE = frozenset({"cmdb_ci_server", "cmdb_ci_linux_server", "cmdb_ci_win_server", "cmdb_ci_computer",
                      "cmdb_ci_netgear", "cmdb_ci_hardware"})
ASSET_STATUS = {"1": "In use", "2": "On order", "3": "In maintenance", "6": "In stock", "7": "Retired",
                "8": "Missing", "9": "In transit", "10": "Consumed", "11": "Build"}
_FROM_CI_STATUS = {"1": "1", "2": "2", "3": "3", "6": "6", "7": "7", "100": "8"}  # CI install status -> asset's
WHEN = {"before": "before", "after": "after", "async": "async", "display": "display"}


def _f(name: str, kind: str = "string", ref: str | None = None, choices: dict[str, str] | None = None) -> Field:
    return Field(name, kind, ref, choices)


def _id(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode()).hexdigest()  # an identifier, not a secret


PLATFORM_SCHEMAS = {s.name: s for s in (
    TableSchema("alm_asset", (
        _f("sys_id"), _f("display_name"), _f("asset_tag"), _f("serial_number"), _f("ci", "reference", "cmdb_ci"),
        _f("install_status", "integer", choices=ASSET_STATUS), _f("substatus"), _f("quantity", "integer"),
        _f("cost"), _f("assigned_to", "reference", "sys_user"), _f("managed_by", "reference", "sys_user"),
        _f("owned_by", "reference", "sys_user"), _f("assigned", "datetime"),
        _f("location", "reference", "cmn_location"),
        _f("company", "reference", "core_company"), _f("department", "reference", "cmn_department"),
        _f("comments"), *SYS_FIELDS), None, "display_name", None,
        {"install_status": "1", "quantity": "1", "cost": "0", "sys_domain": "global"}),
    TableSchema("bsm_chart", (
        _f("sys_id"), _f("name"), _f("title"), _f("type"), _f("description"), *SYS_FIELDS), None, "name", None,
        {"sys_domain": "global"}),
    TableSchema("sys_script", (
        _f("sys_id"), _f("name"), _f("collection"), _f("active", "boolean"), _f("when", choices=WHEN),
        _f("order", "integer"), _f("priority", "integer"), _f("action_insert", "boolean"),
        _f("action_update", "boolean"), _f("action_delete", "boolean"), _f("action_query", "boolean"),
        _f("abort_action", "boolean"), _f("add_message", "boolean"), _f("message"), _f("filter_condition"),
        _f("condition"), _f("template"), _f("role_conditions"), _f("advanced", "boolean"), _f("script"),
        _f("description"),
        _f("client_callable", "boolean"), *SYS_FIELDS), None, "name", None,
        {"active": "true", "when": "before", "order": "100", "priority": "100", "action_insert": "false",
         "action_update": "false", "action_delete": "false", "action_query": "false", "abort_action": "false",
         "add_message": "false", "advanced": "false", "client_callable": "false", "sys_domain": "global"}),
)}

# (name, table, when, order, insert, update, delete, query) of a few base-system rules [unc: a subset;
# names as the base system's, their scripts not copied]
_RULES = (
    ("incident query", "incident", "before", "100", "false", "false", "false", "true"),
    ("user query", "sys_user", "before", "100", "false", "false", "false", "true"),
    ("mark closed", "task", "before", "100", "true", "true", "false", "false"),
    ("incident autoclose", "incident", "before", "100", "false", "true", "false", "false"),
    ("Problem Resolved", "problem", "before", "100", "false", "true", "false", "false"),
)


def _row(table: str, values: dict[str, str]) -> tuple[str, ...]:
    schema = PLATFORM_SCHEMAS[table]
    base = {**schema.defaults, "sys_class_name": table, "sys_created_on": SINCE, "sys_updated_on": SINCE,
            "sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0"}
    return tuple({**base, **values}.get(f, "") for f in schema.names)


def platform_rows(cis: list[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Fresh row lists (a store owns and mutates its lists) from the seeded cmdb_ci rows."""
    names = SCHEMAS["cmdb_ci"].names
    at = {n: names.index(n) for n in ("sys_id", "name", "serial_number", "asset_tag", "install_status",
                                      "assigned_to", "managed_by", "owned_by", "location", "manufacturer",
                                      "sys_class_name", "sys_created_on")}
    assets = []
    for i, ci in enumerate(c for c in cis if c[at["sys_class_name"]] in HARDWARE):
        tag = ci[at["asset_tag"]] or f"P{1000000 + i}"
        assets.append(_row("alm_asset", {
            "sys_id": _id("alm_asset", ci[at["sys_id"]]), "display_name": f"{tag} - {ci[at['name']]}",
            "asset_tag": tag, "serial_number": ci[at["serial_number"]], "ci": ci[at["sys_id"]],
            "install_status": _FROM_CI_STATUS.get(ci[at["install_status"]], "1"),
            "assigned_to": ci[at["assigned_to"]], "managed_by": ci[at["managed_by"]], "owned_by": ci[at["owned_by"]],
            "location": ci[at["location"]], "company": ci[at["manufacturer"]],
            "sys_created_on": ci[at["sys_created_on"]] or SINCE, "sys_updated_on": ci[at["sys_created_on"]] or SINCE}))
    rules = [_row("sys_script", {
        "sys_id": _id("sys_script", name), "name": name, "collection": table, "when": when, "order": order,
        "action_insert": ins, "action_update": upd, "action_delete": dele, "action_query": qry, "advanced": "true",
        "script": "(function executeRule(current, previous /*null when async*/) {\n})(current, previous);"})
        for name, table, when, order, ins, upd, dele, qry in _RULES]
    return {"alm_asset": assets, "bsm_chart": [], "sys_script": rules}
