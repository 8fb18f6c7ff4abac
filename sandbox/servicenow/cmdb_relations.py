"""The CMDB Instance API's relations (cmdb_rel_ci) and the shape of its CI record.

As documented (ServiceNow's "CMDB Instance API" page, Australia): `POST .../{class}` and
`POST .../{class}/{sys_id}/relation` take `inbound_relations` / `outbound_relations`, lists of
`{"target": <cmdb_ci sys_id>, "type": <cmdb_rel_type sys_id>}`; an outbound relation makes the CI the parent
and the target the child, an inbound one the other way round. `DELETE .../{class}/{sys_id}/relation/{rel_sys_id}`
removes one of the CI's relations. The relation POST answers 201 with the CI record and the DELETE 204 with no
body, as ansible-collections/servicenow.itsm's `configuration_item_relations` module expects of an instance
(its client refuses any other status) [obs]. Each write records its `source` as the CI's `discovery_source` and
stamps `last_discovered` (the documented samples: a PUT's `discovery_source` attribute gives way to `source`).

A relation's `target.link` is the CI's record through the `cmdb_ci` class
(`/api/now/cmdb/instance/cmdb_ci/<sys_id>`), and the attributes' reference fields carry `display_value`,
`link` and `value`, as every sample of the page shows.

A create goes through identification, as the instance's Identification and Reconciliation Engine does for
this API (the page's "dependent identification rule" note): for a hardware class (`cmdb_ci_hardware` and the
classes extending it) the base system's Hardware rule finds an existing hardware CI by `serial_number`, else by
`name`, and the POST updates that CI instead of adding a duplicate (201 with the CI). A CI found under another
class takes the class of the request, as the base system reclassifies during identification
(`glide.class.upgrade/downgrade/switch.enabled` default to true: ServiceNow's "Configure CI reclassification during
IRE processing"). Names match without regard to case (`casefold`) [unc: the database's collation]. Other classes
are inserted as asked [unc: their rules are not played].
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError
from sandbox.servicenow.ci_classes import family
from sandbox.servicenow.render import Mode, render_rows

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store
    from sandbox.servicenow.tables import Table

SIDES = (("outbound_relations", "parent", "child"), ("inbound_relations", "child", "parent"))


def attributes(store: Store, table: Table, row: int, base: str) -> dict[str, Any]:
    """The CI's fields as raw values, a reference as {"display_value", "link", "value"} ("" when empty)."""
    raw = json.loads(render_rows(table, [row], Mode("false"), base, store)[0])
    both = json.loads(render_rows(table, [row], Mode("all"), base, store)[0])
    return {k: ({"display_value": both[k].get("display_value", ""), "link": v["link"], "value": v["value"]}
                if isinstance(v, dict) and "link" in v and isinstance(both.get(k), dict) else v)
            for k, v in raw.items()}


HARDWARE = family("cmdb_ci_hardware")


def identify(store: Store, cls: str, values: dict[str, Any]) -> tuple[Table, int] | None:
    """The hardware CI a create of class `cls` with `values` identifies (serial_number first, then name)."""
    if cls not in HARDWARE:
        return None
    base = store.tables["cmdb_ci"]
    classes, rows = base.getter("sys_class_name"), base.alive_rows()
    for key in ("serial_number", "name"):
        wanted = str(values.get(key) or "").strip()
        if wanted:
            got = base.getter(key)
            hit = next((r for r in rows
                        if classes(r) in HARDWARE and got(r).strip().casefold() == wanted.casefold()), None)
            if hit is not None:
                return base, hit
    return None


def listed(store: Store, ci: str, side: str, base: str) -> list[dict[str, Any]]:
    """The CI's relations where it is `side` ("parent": outbound, "child": inbound)."""
    rels = store.tables["cmdb_rel_ci"]
    this, kind = rels.getter(side), rels.getter("type")
    other = rels.getter("child" if side == "parent" else "parent")
    out = []
    for r in rels.alive_rows():
        if this(r) != ci:
            continue
        out.append({"sys_id": rels.getter("sys_id")(r), "type": {
            "display_value": store.display_of("cmdb_rel_type", kind(r)),
            "link": f"{base}/api/now/table/cmdb_rel_type/{kind(r)}", "value": kind(r)}, "target": {
            "display_value": store.display_of("cmdb_ci", other(r)),
            "link": f"{base}/api/now/cmdb/instance/cmdb_ci/{other(r)}", "value": other(r)}})
    return out


def requested(store: Store, body: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(side of the CI, target, type) for each relation the body asks for; 400 before anything is written
    when one is malformed or names a CI or relation type that does not exist [unc: the instance's wording]."""
    wanted = []
    for key, side, _ in SIDES:
        entries = body.get(key) or []
        if not isinstance(entries, list):
            raise HTTPError(400, "Exception while reading request", f"{key} must be a list")
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("target"), str) \
                    or not isinstance(entry.get("type"), str):
                raise HTTPError(400, "Exception while reading request",
                                f"each of {key} needs a 'target' and a 'type' sys_id")
            target, kind = store.locate("cmdb_ci", entry["target"]), store.locate("cmdb_rel_type", entry["type"])
            if target is None:
                raise HTTPError(400, "Invalid relation", f"No configuration item with sys_id {entry['target']}")
            if kind is None:
                raise HTTPError(400, "Invalid relation", f"No relationship type with sys_id {entry['type']}")
            # stored by the records' own ids, whatever case the request used (ids are looked up without regard to it)
            wanted.append((side, target[0].record(target[1])["sys_id"], kind[0].record(kind[1])["sys_id"]))
    return wanted


def add(store: Store, ci: str, wanted: list[tuple[str, str, str]], user: str) -> None:
    """Insert the relations (an identical one already there is kept, not repeated [unc])."""
    rels = store.tables["cmdb_rel_ci"]
    parents, children, types = rels.getter("parent"), rels.getter("child"), rels.getter("type")
    have = {(parents(r), children(r), types(r)) for r in rels.alive_rows()}
    for side, target, kind in wanted:
        parent, child = (ci, target) if side == "parent" else (target, ci)
        if (parent, child, kind) not in have:
            store.insert("cmdb_rel_ci", {"parent": parent, "child": child, "type": kind}, user)
            have.add((parent, child, kind))


def remove(store: Store, ci: str, rel_sys_id: str, user: str) -> None:
    """Delete one of the CI's relations (as parent or child); 404 when the CI has no such relation."""
    found = store.locate("cmdb_rel_ci", rel_sys_id)
    if found is not None:
        rec = found[0].record(found[1])
        if ci in (rec["parent"], rec["child"]):
            store.delete(found[0], found[1], user)
            return
    raise HTTPError(404, "No Record found", "Relation doesn't exist or ACL restricts the record retrieval")
