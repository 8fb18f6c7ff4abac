"""Generated access records every instance has: roles (sys_user_role), group memberships
(sys_user_grmember) and role grants (sys_user_has_role), what an access review reads; and the approvals
(sysapproval_approver) of changes and requests, what a change-control review reads.

Grain: the base system's roles below; each user belongs to 1-3 groups (inactive users too: leavers
keep access until someone removes it, the finding an access review looks for); every member of a
group holds `itil` through it (inherited, granted_by the group); about 3% of users hold `admin`
directly and 2% `security_admin` (elevated). The integration user holds `rest_api_explorer` and
`itil`. A change whose approval was requested has one approver (two for a normal change) in the
change's approval state (a rejected change: the first approver rejected); a request has one, approved.
Each table draws from its own RNG, so the other tables' rows are unchanged for a seed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sandbox.servicenow.data import Dataset, Gen, sys_columns, to_rows
from sandbox.servicenow.schema import SCHEMAS

ROLES = (
    ("admin", "System administrator: every permission", "false"),
    ("security_admin", "Elevated privilege for security administration", "true"),
    ("itil", "Fulfiller: works incidents, problems and changes", "false"),
    ("itil_admin", "Administers ITIL applications", "false"),
    ("catalog_admin", "Administers the service catalog", "false"),
    ("approver_user", "Approves requests and changes", "false"),
    ("snc_internal", "Internal user of the instance", "false"),
    ("rest_api_explorer", "Uses the REST API Explorer", "false"),
    ("cmdb_read", "Reads the CMDB", "false"),
    ("asset", "Manages assets", "false"),
)


def _column(ds: Dataset, table: str, field: str) -> list[str]:
    i = SCHEMAS[table].names.index(field)
    return [t[i] for t in ds.rows[table]]


def add_access_tables(g: Gen, ds: Dataset, people: list[str]) -> None:
    rng = g.rng("sys_user_role")
    n = len(ROLES)
    role_ids = g.sys_ids(rng, n)
    ds.rows["sys_user_role"] = to_rows("sys_user_role", {
        "sys_id": role_ids, "name": [r[0] for r in ROLES], "description": [r[1] for r in ROLES],
        "elevated_privilege": [r[2] for r in ROLES], "assignable_by": "", "suffix": [r[0] for r in ROLES],
        **sys_columns(g, rng, "sys_user_role", [g.start - 365 * 86400] * n, ["admin"]),
    }, n)
    role = dict(zip((r[0] for r in ROLES), role_ids, strict=True))
    users, groups = _column(ds, "sys_user", "sys_id"), _column(ds, "sys_user_group", "sys_id")
    logins = _column(ds, "sys_user", "user_name")
    mrng = g.rng("sys_user_grmember")
    members = [(user, group) for user in users
               for group in mrng.sample(groups, min(len(groups), 1 + int(mrng.random() * 3)))]
    m = len(members)
    joined = [g.start + int(mrng.random() * (g.end - g.start - 1)) for _ in range(m)]
    ds.rows["sys_user_grmember"] = to_rows("sys_user_grmember", {
        "sys_id": g.sys_ids(mrng, m), "user": [x[0] for x in members], "group": [x[1] for x in members],
        **sys_columns(g, mrng, "sys_user_grmember", joined, people),
    }, m)
    hrng = g.rng("sys_user_has_role")
    grants = [(u, role["itil"], "true", grp) for u, grp in members]
    for user, login in zip(users, logins, strict=True):
        if login == logins[-1]:  # the integration user (generated last)
            grants += [(user, role["rest_api_explorer"], "false", ""), (user, role["itil"], "false", "")]
            continue
        r = hrng.random()
        if r < 0.03:
            grants.append((user, role["admin"], "false", ""))
        elif r < 0.05:
            grants.append((user, role["security_admin"], "false", ""))
        grants.append((user, role["snc_internal"], "false", ""))
    k = len(grants)
    ds.rows["sys_user_has_role"] = to_rows("sys_user_has_role", {
        "sys_id": g.sys_ids(hrng, k), "user": [x[0] for x in grants], "role": [x[1] for x in grants],
        "inherited": [x[2] for x in grants], "granted_by": [x[3] for x in grants], "state": "active",
        **sys_columns(g, hrng, "sys_user_has_role", g.times(hrng, k), people),
    }, k)
    ds.rows["sysapproval_approver"] = approvals(g, ds, people)


def _epoch(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp())


def approvals(g: Gen, ds: Dataset, people: list[str]) -> list[tuple[str, ...]]:
    rng = g.rng("sysapproval_approver")
    users = [u for u, a in zip(_column(ds, "sys_user", "sys_id"), _column(ds, "sys_user", "active"), strict=True)
             if a == "true"]
    cols: dict[str, list[str]] = {f: [] for f in ("sysapproval", "source_table", "approver", "state")}
    opened: list[int] = []
    for table in ("change_request", "sc_request"):
        kinds = _column(ds, table, "type") if table == "change_request" else None
        for i, (sid, approval, at) in enumerate(zip(_column(ds, table, "sys_id"), _column(ds, table, "approval"),
                                                    _column(ds, table, "opened_at"), strict=True)):
            if approval not in ("approved", "rejected", "requested"):
                continue
            k = 2 if kinds is not None and kinds[i] == "normal" else 1
            for n, approver in enumerate(rng.sample(users, k)):
                state = "approved" if approval == "rejected" and n else approval
                for key, value in (("sysapproval", sid), ("source_table", table), ("approver", approver),
                                   ("state", state)):
                    cols[key].append(value)
                opened.append(min(_epoch(at) + int(rng.random() * 86400), g.end - 1))
    n = len(opened)
    return to_rows("sysapproval_approver", {**cols, "sys_id": g.sys_ids(rng, n), "document_id": cols["sysapproval"],
                                            **sys_columns(g, rng, "sysapproval_approver", opened, people)}, n)
