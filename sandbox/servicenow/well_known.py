"""Records with the sys_ids every instance (or every developer instance) has, which PySNC's own test
suite and the ServiceNow documentation's examples name literally.

- `admin` (System Administrator), sys_id 6816f79cc0a8016401c5a33be04be441: an out-of-box record of
  every instance (the docs' Table API examples and PySNC's tests `gr.get('6816f79cc0a8016401c5a33be04be441')`
  and read `user_name == 'admin'`, `email == 'admin@example.com'`). It has the admin role. No password
  is known for it, so it cannot sign in to the sandbox (as on an instance whose admin password is unknown).
- the demo data's Finance department (a581ab703710200044e0bfc8bcbe5de8), admin's department, headed by
  Natasha Ingram (46c5bf6ca9fe1981010713e3ac7d3384, natasha.ingram@example.com): what PySNC's
  test_dotwalk_with_element walks (`department.dept_head.email`). [obs: PySNC test/test_snc_api_fields.py
  against a developer instance with demo data; other fields of these records are the sandbox's guesses, unc]

- `problem.admin` (Problem Administrator), sys_id 26fbff173b331300ad3cc9bb34efc4bd: a demo-data user PySNC's
  test_crud assigns a problem to (`user.get('26fbff173b331300ad3cc9bb34efc4bd')  # problem.admin`) [obs: PySNC
  test/test_snc_api_write.py; its name, email and (absent) roles here are guesses, unc].

- the `admin` role's sys_id 2831a114c611228501d4ea6c309d626d, the same on every instance (PySNC's
  test_join_query_2 joins sys_user_has_role on `role=2831a114c611228501d4ea6c309d626d` [obs]): the seeded
  admin role takes it after the draws, with the grants that name it (the other roles keep drawn ids).

- the demo data's many admins: PySNC's test_join_query_2 expects more than 10 and fewer than 25 users
  holding the admin role (`# demo data has a lot of admins`). Ten demo users (`DEMO_ADMINS`, IT
  department, title System Administrator) hold it beside admin and the seeded admins. [unc: which demo
  users hold admin on a developer instance, their sys_ids (MD5s here) and other fields are guesses; the
  names are the demo data's]

They are added after the seeded data is drawn (just before the integration user, which stays last), so
no seeded record moves; the Finance department keeps its name and the other departments their MD5 ids.
"""

from __future__ import annotations

import hashlib

from sandbox.servicenow.schema import SCHEMAS

ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"
FINANCE_SYS_ID = "a581ab703710200044e0bfc8bcbe5de8"
FINANCE_HEAD_SYS_ID = "46c5bf6ca9fe1981010713e3ac7d3384"
PROBLEM_ADMIN_SYS_ID = "26fbff173b331300ad3cc9bb34efc4bd"
ADMIN_ROLE_SYS_ID = "2831a114c611228501d4ea6c309d626d"
SINCE = "2020-01-01 00:00:00"  # [unc] the records' age; reference_data's foundation rows share it

_USERS = (
    {"sys_id": ADMIN_SYS_ID, "user_name": "admin", "first_name": "System", "last_name": "Administrator",
     "name": "System Administrator", "email": "admin@example.com", "title": "System Administrator",
     "department": FINANCE_SYS_ID},
    {"sys_id": FINANCE_HEAD_SYS_ID, "user_name": "natasha.ingram", "first_name": "Natasha", "last_name": "Ingram",
     "name": "Natasha Ingram", "email": "natasha.ingram@example.com", "department": FINANCE_SYS_ID},
    {"sys_id": PROBLEM_ADMIN_SYS_ID, "user_name": "problem.admin", "first_name": "Problem",
     "last_name": "Administrator", "name": "Problem Administrator", "email": "problem.admin@example.com",
     "department": FINANCE_SYS_ID},  # [unc] its department: staff work in one (test_round24_pysnc_docs)
)
DEMO_ADMINS = (("Beth", "Anglin"), ("Don", "Goodliffe"), ("Bud", "Richman"), ("Ron", "Kettering"),
               ("Bow", "Ruggeri"), ("Luke", "Wilson"), ("Christen", "Mitchell"), ("Charlie", "Whitherspoon"),
               ("Howard", "Johnson"), ("Rick", "Berzle"))
IT_SYS_ID = hashlib.md5(b"cmn_department:IT").hexdigest()  # reference_data.ref_id, without the import cycle
_USERS += tuple(
    {"sys_id": hashlib.md5(f"sys_user:{first.lower()}.{last.lower()}".encode()).hexdigest(),  # an id, not a secret
     "user_name": f"{first.lower()}.{last.lower()}", "first_name": first, "last_name": last,
     "name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}@example.com",
     "title": "System Administrator", "department": IT_SYS_ID} for first, last in DEMO_ADMINS)
FIXED_HEADS = {FINANCE_SYS_ID: FINANCE_HEAD_SYS_ID}


def _row(table: str, values: dict[str, str]) -> tuple[str, ...]:
    base = {"active": "true", "locked_out": "false", "sys_class_name": table, "sys_created_on": SINCE,
            "sys_updated_on": SINCE, "sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0",
            "sys_domain": "global", "state": "active", "inherited": "false"}
    return tuple({**base, **values}.get(f, "") for f in SCHEMAS[table].names)


def add_well_known(rows: dict[str, list[tuple[str, ...]]]) -> None:
    """Insert the users before the integration user (the last sys_user row) and admin's role grant."""
    users = rows["sys_user"]
    users[-1:-1] = [_row("sys_user", u) for u in _USERS]
    roles = SCHEMAS["sys_user_role"].names
    drawn = next((r[0] for r in rows.get("sys_user_role", []) if r[roles.index("name")] == "admin"), "")
    admin_role = ADMIN_ROLE_SYS_ID if drawn else ""
    if drawn:
        rows["sys_user_role"] = [(admin_role, *r[1:]) if r[0] == drawn else r for r in rows["sys_user_role"]]
        at = SCHEMAS["sys_user_has_role"].names.index("role")
        rows["sys_user_has_role"] = [(*r[:at], admin_role, *r[at + 1:]) if r[at] == drawn else r
                                     for r in rows["sys_user_has_role"]]
    if admin_role:
        rows["sys_user_has_role"].append(_admin_grant(ADMIN_SYS_ID, admin_role))


def _admin_grant(user: str, role: str) -> tuple[str, ...]:
    grant = hashlib.md5(f"sys_user_has_role:{user}:admin".encode()).hexdigest()  # an id, not a secret
    return _row("sys_user_has_role", {"sys_id": grant, "user": user, "role": role})


def add_demo_admin_grants(rows: dict[str, list[tuple[str, ...]]]) -> None:
    """The demo admins' admin grants, after every other row of sys_user_has_role (round 25)."""
    roles = SCHEMAS["sys_user_role"].names
    if any(r[0] == ADMIN_ROLE_SYS_ID and r[roles.index("name")] == "admin" for r in rows.get("sys_user_role", [])):
        rows["sys_user_has_role"] += [_admin_grant(u["sys_id"], ADMIN_ROLE_SYS_ID)
                                      for u in _USERS if u.get("department") == IT_SYS_ID]
