"""Field configuration items: which fields are required (or hidden) on every project's screens.

The site has one field configuration, the system "Default Field Configuration" (id 10000, `routes_scheme_reads`),
used by every project (no field configuration schemes). Its items are served as the spec describes:

- GET `/fieldconfiguration/{id}/fields?startAt&maxResults` (Administer Jira): paged FieldConfigurationItem
  `{"id","description"?,"isHidden","isRequired","renderer"?}` for the orderable fields (system fields an issue
  can be created or edited with, Jira Software's story points/sprint, API-made custom fields).
- PUT `/fieldconfiguration/{id}/fields` `{"fieldConfigurationItems": [...]}` (Administer Jira): 204; the given
  properties override the stored ones. Hiding a field drops its required flag (the spec: "hiding ... deletes
  the required, description and renderer type values"). An unknown configuration is a 404, an unknown field or
  one Jira locks (summary, issue type, project) a 400, and so is an item asking for a field both hidden and
  required (Jira lets no required field be hidden) [unc: wordings].

A required field is enforced as Jira does: `POST /issue` without it (or with an empty value) is a 400
`{"errors": {"<fieldId>": "<Field name> is required."}}`, an edit that empties it the same, and createmeta /
editmeta show `required: true` (`routes_meta`). Fields with a default (priority, reporter) are never missing on
a create [unc]. A hidden field is on no screen: createmeta/editmeta leave it out and create/edit refuse it
(`field_screens`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import is_id

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox
    from sandbox.jira.store import JiraStore

CONFIG_ID = 10000  # routes_scheme_reads.FIELD_CONFIGURATION
LOCKED = {"summary", "issuetype", "project"}  # always required, never configurable [unc]
_NOT_ORDERABLE = {"status", "creator", "created", "updated", "resolutiondate", "statuscategorychangedate",
                  "statusCategory", "lastViewed", "comment", "subtasks", "votes", "watches", "worklog",
                  "timespent", "aggregatetimespent", "progress", "aggregateprogress", "workratio", "thumbnail",
                  "security", "issuekey", "timeestimate", "timeoriginalestimate",
                  "aggregatetimeestimate", "aggregatetimeoriginalestimate", C.RANK}
DEFAULTED = {"priority", "reporter"}  # a create without them takes the default


def _items(store: JiraStore) -> dict[str, dict[str, Any]]:
    return store.work.setdefault("field_config", {})  # field id -> stored FieldConfigurationItem overrides


def orderable(sb: JiraSandbox) -> dict[str, str]:
    """Field id -> name for the fields a field configuration holds."""
    from sandbox.jira.routes_field_admin import created_fields

    fields = C.system_fields() + C.custom_fields() + created_fields(sb)
    return {f[0]: f[1] for f in fields if f[0] not in _NOT_ORDERABLE}


def required(store: JiraStore) -> set[str]:
    return {fid for fid, item in list(_items(store).items()) if item.get("isRequired")}


def hidden(store: JiraStore) -> set[str]:
    """Fields the configuration hides: no screen shows them, so create and edit refuse them (`field_screens`)."""
    return {fid for fid, item in list(_items(store).items()) if item.get("isHidden")}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {} or (isinstance(value, str)
                                                                        and not value.strip())


def missing(sb: JiraSandbox, fields: dict[str, Any], update: dict[str, Any], issue: Any) -> dict[str, str]:
    """The field errors for required fields a create leaves out (or an edit empties)."""
    names = orderable(sb)
    out: dict[str, str] = {}
    for fid in sorted(required(sb.store)):
        if fid not in names:
            continue
        given = fid in fields or fid in (update or {})
        if issue is None and fid in DEFAULTED and not given:
            continue
        if issue is not None and not given:
            continue  # an edit that does not touch it
        value = fields.get(fid) if fid in fields else _from_ops((update or {}).get(fid), issue is None)
        if not given or _empty(value):
            out[fid] = f"{names[fid]} is required."
    return out


def _from_ops(ops: Any, creating: bool) -> Any:
    """What `update` operations leave (roughly): a `set` value, or something for an `add` [unc]."""
    value: Any = None
    for op in ops if isinstance(ops, list) else [ops]:
        if isinstance(op, dict) and "set" in op:
            value = op["set"]
        elif isinstance(op, dict) and ("add" in op or "edit" in op):
            value = [op.get("add", op.get("edit"))]
        elif isinstance(op, dict) and "remove" in op and not creating:
            value = "kept"  # removing one value of an edited issue: the rest is not known here [unc]
    return value


def register(sb: JiraSandbox) -> None:
    def config_of(c: Call) -> None:
        raw = c.p["id"]
        if not is_id(raw) or int(raw) != CONFIG_ID:
            raise fail(404, f"The field configuration {raw} does not exist.")  # [unc] wording

    def item(fid: str) -> dict[str, Any]:
        stored = _items(sb.store).get(fid, {})
        out: dict[str, Any] = {"id": fid, "isHidden": bool(stored.get("isHidden")),
                               "isRequired": fid in LOCKED or bool(stored.get("isRequired"))}
        for extra in ("description", "renderer"):
            if stored.get(extra) is not None:
                out[extra] = stored[extra]
        return out

    def list_items(c: Call) -> Response:
        config_of(c)
        values = [item(fid) for fid in orderable(sb)]
        return json_response(paged(values, c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)))

    def update_items(c: Call) -> Response:
        config_of(c)
        given = shaped(c.obj().get("fieldConfigurationItems"), "array")
        if given is None:
            raise fail(400, None, {"fieldConfigurationItems": "must not be null"})  # [unc] wording
        names = orderable(sb)
        for entry in given:
            shaped(entry, "object")
            fid = entry.get("id")
            if not isinstance(fid, str) or fid not in names:
                raise fail(400, f"The field '{fid}' does not exist in the field configuration.")  # [unc]
            if fid in LOCKED:
                raise fail(400, f"The field '{fid}' is locked and cannot be changed.")  # [unc]
            for flag in ("isHidden", "isRequired"):
                if flag in entry and not isinstance(entry[flag], bool):
                    raise fail(400, None, {flag: "must be a boolean"})  # [unc]
            if entry.get("isHidden") is True and entry.get("isRequired") is True:
                # Jira lets no field be both required and hidden (its UI offers no Hide on a required field)
                raise fail(400, f"The field '{fid}' cannot be both required and hidden.")  # [unc] wording
        with sb.store.lock:
            for entry in given:
                stored = _items(sb.store).setdefault(entry["id"], {})
                for key in ("isHidden", "isRequired", "description", "renderer"):
                    if key in entry:
                        stored[key] = entry[key]
                if stored.get("isHidden"):  # hiding deletes the other values (the spec)
                    for key in ("isRequired", "description", "renderer"):
                        stored.pop(key, None)
        return Response(status=204)

    path = r"/fieldconfiguration/(?P<id>[^/]+)/fields"
    sb.route("GET", path, admin_only(sb, list_items))
    sb.route("PUT", path, admin_only(sb, update_items), "write")
