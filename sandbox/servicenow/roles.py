"""`sys_user.roles`: the names of the roles a user holds (sys_user_has_role), as a field queries can use.

The platform's documented example `assigned_to.roles=itil` ("incidents assigned to someone with the itil
role") tests membership: `roles=itil` matches a user holding itil among others; `!=`, IN and NOT IN
likewise; other operators see the comma-separated names. Read as a value (sysparm_fields=roles) it is
that list, sorted. The field is computed, so it cannot be written.

`sys_user.user_password` (a one-way password field) is listed in every full sys_user record with the
display value `********` (PySNC's test_attrs reads `get_display_value('user_password') == '********'` from a
developer instance [obs]) and an empty value [unc: an instance may send an admin the stored hash]. Passwords
themselves live with the logins (`acl.Logins`), which is where a written user_password goes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

FIELD = "roles"
TABLE = "sys_user"
PASSWORD = "user_password"
PASSWORD_MASK = "********"


def is_virtual(table: Any, name: str) -> bool:
    return table.name == TABLE and name == FIELD and FIELD not in table.pos


def is_password(table: Any, name: str) -> bool:
    return table.name == TABLE and name == PASSWORD and PASSWORD not in table.pos


def extra_fields(table: Any) -> tuple[str, ...]:
    """Computed fields a full record of `table` lists after its stored ones."""
    return (PASSWORD,) if table.name == TABLE and PASSWORD not in table.pos else ()


def names_by_user(store: Any) -> dict[str, str]:
    """user sys_id -> "role_a,role_b" (cached per version of the two tables it reads)."""
    grants, roles = store.tables["sys_user_has_role"], store.tables["sys_user_role"]
    cached = getattr(store, "_user_roles", None)
    if cached is not None and cached[0] is grants and cached[1] is roles and cached[2] == (
            grants.version, roles.version):
        return cached[3]
    name_of = {t[0]: t[roles.pos["name"]] for t in roles.rows if t is not None}
    held: dict[str, set[str]] = {}
    user, role = grants.pos["user"], grants.pos["role"]
    for t in grants.rows:
        if t is not None and t[role] in name_of:
            held.setdefault(t[user], set()).add(name_of[t[role]])
    out = {u: ",".join(sorted(names)) for u, names in held.items()}
    store._user_roles = (grants, roles, (grants.version, roles.version), out)
    return out


def getter(table: Any) -> Callable[[int], str]:
    store, sid, data = table.store, table.pos["sys_id"], table.rows
    return lambda r: names_by_user(store).get(data[r][sid], "")


def membership(op: str, value: str, get: Callable[[int], str]) -> Callable[[int], bool] | None:
    """The test for `roles<op><value>` when op compares membership, else None."""
    wanted = {v.strip() for v in value.split(",")} if op in ("IN", "NOT IN") else {value}
    if op not in ("=", "!=", "IN", "NOT IN"):
        return None
    inside = op in ("=", "IN")
    return lambda r: bool(wanted & set(get(r).split(","))) is inside
