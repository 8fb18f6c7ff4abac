"""System properties (sys_properties) and CI relationships (cmdb_rel_type, cmdb_rel_ci).

sys_properties holds a few of an instance's real properties (name, value, type, description). Its base
ACLs let only `admin` read or write it: for anyone else (the integration user holds itil) a list answers
200 with no rows and a record 404, a write 403 (`acl.ADMIN_TABLES`). [unc: newer releases may answer a
table-level read denial with 403]. `glide.servlet.uri` is the sandbox's own address once it serves.

cmdb_rel_type has the base system's common relationship types ("Depends on::Used by", "Runs on::Runs",
...); cmdb_rel_ci links seeded CIs (parent, child, type): each application runs on a server, each
database runs on a server and some applications depend on a database. Rows derive from the seeded CIs
(MD5 sys_ids of their content, a fixed 2020 date), so they neither depend on nor move the seed's random
stream. The CMDB Instance API reads its inbound/outbound relations from cmdb_rel_ci (`cmdb_api`).
Set to true (by an admin), glide.invalid_query.returns_no_rows makes Table API lists answer no rows for
a query with a condition they would otherwise ignore (`matches_nothing`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from sandbox.servicenow.query import Query
from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema

SINCE = "2020-01-01 00:00:00"
DEFAULT_URI = "https://sandbox.service-now.com/"
INVALID_QUERY_PROPERTY = "glide.invalid_query.returns_no_rows"


def _f(name: str, kind: str = "string", ref: str | None = None) -> Field:
    return Field(name, kind, ref)


PROPERTY_TYPES = {"string": "string", "integer": "integer", "boolean": "true | false", "choicelist": "choicelist",
                  "password2": "password2", "uploaded_image": "uploaded_image"}
SYSTEM_SCHEMAS = {s.name: s for s in (
    TableSchema("sys_properties", (
        _f("sys_id"), _f("name"), _f("value"), _f("type"), _f("description"), _f("suffix"), _f("choices"),
        _f("is_private", "boolean"), _f("ignore_cache", "boolean"), _f("read_roles"), _f("write_roles"),
        *SYS_FIELDS), None, "name", None,
        {"type": "string", "is_private": "false", "ignore_cache": "false", "sys_domain": "global"}),
    TableSchema("cmdb_rel_type", (
        _f("sys_id"), _f("name"), _f("parent_descriptor"), _f("child_descriptor"), *SYS_FIELDS),
        None, "name", None, {"sys_domain": "global"}),
    TableSchema("cmdb_rel_ci", (
        _f("sys_id"), _f("parent", "reference", "cmdb_ci"), _f("child", "reference", "cmdb_ci"),
        _f("type", "reference", "cmdb_rel_type"), _f("connection_strength"), _f("percent_outage", "integer"),
        _f("port"), *SYS_FIELDS), None, "sys_id", None, {"connection_strength": "always", "sys_domain": "global"}),
)}

PROPERTIES = (  # name, value, type, description
    ("glide.servlet.uri", DEFAULT_URI, "string", "URL of this instance (used in links of notifications)"),
    ("glide.installation.name", "Project X sandbox", "string", "Name of this installation"),
    ("glide.product.name", "ServiceNow", "string", "Product name shown in the banner"),
    ("glide.buildtag", "glide-xanadu-07-02-2024__patch4-12-10-2024", "string", "Build tag of the release"),
    ("glide.sys.date_format", "yyyy-MM-dd", "string", "System date format"),
    ("glide.sys.time_format", "HH:mm:ss", "string", "System time format"),
    ("glide.sys.default.tz", "UTC", "string", "System time zone for all users unless overridden"),
    (INVALID_QUERY_PROPERTY, "false", "boolean",
     "Return no rows for a query with an invalid condition instead of ignoring the condition"),
    ("glide.rest.query.max_results", "10000", "integer", "Default maximum rows a Table API list returns"),
    ("com.glide.attachment.max_size", "1024", "integer", "Maximum attachment size in megabytes"),
    ("glide.oauth.inbound.client.credential.grant_type.enabled", "true", "boolean",
     "Allow the OAuth client_credentials grant for inbound requests"),
)
REL_TYPES = (("Depends on::Used by", "Depends on", "Used by"), ("Runs on::Runs", "Runs on", "Runs"),
             ("Contains::Contained by", "Contains", "Contained by"), ("Hosted on::Hosts", "Hosted on", "Hosts"),
             ("Connects to::Connected by", "Connects to", "Connected by"))


def sys_id(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode()).hexdigest()  # an identifier, not a secret


def _row(table: str, values: dict[str, str]) -> tuple[str, ...]:
    schema = SYSTEM_SCHEMAS[table]
    base = {**schema.defaults, "sys_class_name": table, "sys_created_on": SINCE, "sys_updated_on": SINCE,
            "sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0"}
    return tuple({**base, **values}.get(f, "") for f in schema.names)


def system_rows(ci_names: list[str], cis: list[tuple[str, ...]], uri: str = DEFAULT_URI
                ) -> dict[str, list[tuple[str, ...]]]:
    """Fresh row lists of the three tables; `cis` are the seeded cmdb_ci rows (columns `ci_names`)."""
    props = [_row("sys_properties", {"sys_id": sys_id("sys_properties", name), "name": name,
                                     "value": uri if name == "glide.servlet.uri" else value,
                                     "type": kind, "description": text, "write_roles": "admin"})
             for name, value, kind, text in PROPERTIES]
    types = {name: sys_id("cmdb_rel_type", name) for name, _, _ in REL_TYPES}
    rel_types = [_row("cmdb_rel_type", {"sys_id": types[name], "name": name, "parent_descriptor": parent,
                                        "child_descriptor": child}) for name, parent, child in REL_TYPES]
    sid, cls = ci_names.index("sys_id"), ci_names.index("sys_class_name")
    of = {kind: [t[sid] for t in cis if t[cls] in kinds] for kind, kinds in (
        ("server", ("cmdb_ci_server", "cmdb_ci_linux_server", "cmdb_ci_win_server")),
        ("appl", ("cmdb_ci_appl",)), ("db", ("cmdb_ci_database",)))}
    links: list[tuple[str, str, str]] = []
    servers = of["server"]
    if servers:
        links += [(app, servers[i % len(servers)], "Runs on::Runs") for i, app in enumerate(of["appl"][:12])]
        links += [(db, servers[-1 - i % len(servers)], "Runs on::Runs") for i, db in enumerate(of["db"][:6])]
    if of["db"]:
        links += [(app, of["db"][i % len(of["db"])], "Depends on::Used by") for i, app in enumerate(of["appl"][:6])]
    rels = [_row("cmdb_rel_ci", {"sys_id": sys_id("cmdb_rel_ci", p, c, t), "parent": p, "child": c, "type": types[t]})
            for p, c, t in links]
    return {"sys_properties": props, "cmdb_rel_type": rel_types, "cmdb_rel_ci": rels}


def property_value(store: Any, name: str, default: str = "") -> str:
    """The value of the sys_properties row `name` (`default` when there is none)."""
    props = store.tables["sys_properties"]
    names, values = props.getter("name"), props.getter("value")
    return next((values(r) for r in props.alive_rows() if names(r) == name), default)


def matches_nothing(store: Any, source: Any, query: Query) -> bool:
    """glide.invalid_query.returns_no_rows=true: a query with a condition the instance cannot evaluate (an
    unknown operator, an unknown field) answers no rows instead of ignoring that condition, as the property
    is documented to do."""
    if property_value(store, INVALID_QUERY_PROPERTY, "false").strip().lower() != "true":
        return False
    fields = [c.field for block in query.blocks for term in block for c in term if c.op not in ("JOIN", "TEXTQUERY")]
    return bool(query.ignored) or not all(source.has_field(f) for f in fields)
