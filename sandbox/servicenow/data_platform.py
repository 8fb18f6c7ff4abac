"""Platform records PySNC's own test suite (test/test_snc_*.py and test/asyncio/, run by its authors
against a developer instance) reads, added after every other draw so no seeded record moves:

- `syslog`, the system log: 750 entries over the data window, in time order, each table-level source
  a platform component [unc: the count and mix; an instance's log holds far more]. PySNC's test_batching
  pages through more than 600 of them.
- `sys_group_has_role`, the roles a group gives its members: every group holds `itil` (what its members'
  inherited itil grants already name as granted_by, `data_access`), and four base groups also hold an
  admin-like role [unc: which group holds which role is the sandbox's guess]: Service Desk `itil_admin`,
  IT Securities and Identity and Access `security_admin`, Application Development `catalog_admin`. Their
  members get those roles as inherited grants (inherited=true, granted_by the group), as the platform
  gives a group's roles to its members. PySNC's RLQUERY tests (`RLQUERYsys_group_has_role.group,>0,m2m^
  role.nameLIKEadmin^ENDRLQUERY`) expect more than 2 and fewer than 8 such groups.

Rows draw from their own RNG streams ("syslog") or have MD5 sys_ids of what they describe.
"""

from __future__ import annotations

import hashlib

from sandbox.servicenow.data import Dataset, Gen, to_rows
from sandbox.servicenow.schema import SCHEMAS

SYSLOG_SIZE = 750
SINCE = "2020-01-01 00:00:00"  # [unc] when the base groups were given their roles
GROUP_ROLES = {"Service Desk": "itil_admin", "IT Securities": "security_admin",
               "Identity and Access": "security_admin", "Application Development": "catalog_admin"}
LOG_LINES = (  # (level, source, message) [unc: typical lines, not copied from an instance]
    ("0", "Scheduler", "Scheduled job 'Clean Expired Sessions' completed"),
    ("0", "REST API", "Table API request served"),
    ("0", "Workflow", "Workflow context finished"),
    ("1", "SLA", "SLA definition matched no schedule; using 24x7"),
    ("0", "Email", "Inbound email processed"),
    ("1", "Business Rule", "Slow business rule: more than 100 ms"),
    ("2", "Script", "Script error: undefined reference in a client script"),
    ("0", "Discovery", "CI reconciled by identification engine"),
    ("-1", "Import", "Transform map row skipped: no coalesce match"),
    ("0", "Security", "User session started"),
)


def _id(*parts: str) -> str:
    return hashlib.md5(":".join(parts).encode()).hexdigest()  # an identifier, not a secret


def _column(ds: Dataset, table: str, field: str) -> list[str]:
    i = SCHEMAS[table].names.index(field)
    return [t[i] for t in ds.rows[table]]


def syslog(g: Gen) -> list[tuple[str, ...]]:
    rng = g.rng("syslog")
    n = SYSLOG_SIZE
    lines = rng.choices(LOG_LINES, (30, 25, 10, 8, 10, 5, 3, 4, 3, 12), k=n)
    at = g.fmts(sorted(g.times(rng, n)))
    return to_rows("syslog", {
        "sys_id": g.sys_ids(rng, n), "level": [x[0] for x in lines], "source": [x[1] for x in lines],
        "message": [x[2] for x in lines], "sys_class_name": "syslog", "sys_domain": "global",
        "sys_created_on": at, "sys_updated_on": at, "sys_created_by": "system", "sys_updated_by": "system",
        "sys_mod_count": "0"}, n)


def group_roles(ds: Dataset) -> None:
    """sys_group_has_role rows, and the inherited user grants of the admin-like ones."""
    role_of = dict(zip(_column(ds, "sys_user_role", "name"), _column(ds, "sys_user_role", "sys_id"), strict=True))
    group_ids = _column(ds, "sys_user_group", "sys_id")
    named = dict(zip(  # the base groups come first at every size (`data.groups`), so these names exist
_column(ds, "sys_user_group", "name"), group_ids, strict=True))
    held = [(g, "itil") for g in group_ids]
    held += [(named[name], role) for name, role in GROUP_ROLES.items() if name in named and role in role_of]
    base = {"sys_class_name": "sys_group_has_role", "sys_domain": "global", "sys_created_on": SINCE,
            "sys_updated_on": SINCE, "sys_created_by": "admin", "sys_updated_by": "admin", "sys_mod_count": "0",
            "inherits": "true"}
    n = len(held)
    ds.rows["sys_group_has_role"] = to_rows("sys_group_has_role", {
        **base, "sys_id": [_id("sys_group_has_role", g, r) for g, r in held],
        "group": [g for g, _ in held], "role": [role_of[r] for _, r in held]}, n)
    members = list(zip(_column(ds, "sys_user_grmember", "user"), _column(ds, "sys_user_grmember", "group"),
                       strict=True))
    grants = [(user, group, role) for group, role in held[len(group_ids):] for user, g in members if g == group]
    k = len(grants)
    ds.rows["sys_user_has_role"] += to_rows("sys_user_has_role", {
        **base, "sys_class_name": "sys_user_has_role", "state": "active", "inherited": "true",
        "sys_id": [_id("sys_user_has_role", u, g, r) for u, g, r in grants], "user": [u for u, _, _ in grants],
        "role": [role_of[r] for _, _, r in grants], "granted_by": [g for _, g, _ in grants]}, k)


def add_platform_tables(g: Gen, ds: Dataset) -> None:
    ds.rows["syslog"] = syslog(g)
    group_roles(ds)
