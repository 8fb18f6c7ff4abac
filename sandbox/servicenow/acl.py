"""Access control for users without roles, and the logins of users other than the integration user.

Logins: a sys_user written through the Table API with `user_password` (or made by
`ServiceNowSandbox.add_user`) can then sign in with that user_name and password (Basic, or the OAuth
password grant); the password itself is never stored in or answered from the table, and a reset of
the instance forgets it with the user. A login whose sys_user is locked out, inactive or deleted cannot
sign in at all (`login_barred`).

ACLs (a subset of the base system's, enough for the "user without roles" case): a user who holds no role
but snc_internal (sys_user_has_role, read live) is a self-service user. For such a user
- the Table API lists and reads only the records the ACLs let it read: the task records it opened, is
  the caller of or the requested_for of; sys_user, sys_user_group, sc_cat_item and its own sc_cart /
  sc_cart_item rows; the attachments of the records it may read and their additional comments
  (sys_journal_field rows of element comments, not work_notes); nothing of other tables. A list
  answers the rows it may read (X-Total-Count counts those), a single record it may not read answers
  404 "Record doesn't exist or ACL restricts the record retrieval", like a missing one;
- sys_properties and sys_script (`ADMIN_TABLES`) are every non-admin's "nothing": no rows, 404, writes 403, whatever
  other roles the caller holds (the integration user too); a JOIN, RLQUERY or SUBQUERY of another table's
  query that reaches them matches no rows, and one that reaches a table a self-service user may read only
  some rows of sees those rows only (`viewer`, `related`);
- it may insert incidents (self-service) and attach files to the records it may read, and nothing
  else; updates and deletes answer 403 {"error": {"message": "Operation Failed", "detail": "ACL
  Exception Update Failed due to security constraints"}, "status": "failure"} (Insert / Delete
  likewise).
Field ACLs (the base system's work_notes ACLs want itil): such a user reads `work_notes` as "" (`render`),
cannot query on it (`readable_query`: a condition on it is dropped like an invalid one, so it neither
filters the rows nor, under glide.invalid_query.returns_no_rows=true, lets any through; a keyword search
`123TEXTQUERY321=` does not look into it; an ORDERBY on it is ignored) and cannot write it
(`drop_unwritable`: an insert or update that sets it is saved without it, silently). The same holds
inside JOIN, RLQUERY and SUBQUERY, whose sys_journal_field rows are the comments only (`related_acl`).
[unc: since Washington DC, query_match / query_range ACLs fall back to the field's read ACL, so a caller
cannot filter on a field it cannot read (blind-query protection); whether the instance drops the condition
or answers no rows was not seen: dropped here, no rows under glide.invalid_query.returns_no_rows.
A write to a field whose write ACL fails is skipped without an error, as the form and the Table API do.]
A user with any other role (the integration user holds itil) passes every check, as before.
[unc: an instance's ACLs are configurable and far finer; the row filter stands for the self-service
read rules of the base system.]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError
from sandbox.servicenow import related_acl, roles
from sandbox.servicenow.query import Condition, Query
from sandbox.servicenow.query_ops import TEXT_QUERY
from sandbox.servicenow.render import RESTRICTED_FIELDS
from sandbox.servicenow.schema import TASK_CHILDREN

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store
    from sandbox.servicenow.tables import Table, TaskView

OPEN_TABLES = frozenset({"sys_user", "sys_user_group", "sc_cat_item"})
OWN_FIELDS = ("opened_by", "caller_id", "requested_for", "user")
SELF_SERVICE_INSERT = frozenset({"incident"})
# base ACLs: read and write need the admin role
ADMIN_TABLES = frozenset({"sys_properties", "sys_script", "sys_rate_limit_rules", "sys_rate_limit_violations"})
# what a restricted caller cannot query: the work notes, and the journal list that holds them too
UNQUERYABLE = frozenset({*RESTRICTED_FIELDS, "comments_and_work_notes"})


def is_admin(store: Store, user: str) -> bool:
    return "admin" in roles.names_by_user(store).get(store.user_sys_id(user), "").split(",")


def self_service(store: Store, user: str) -> str | None:
    """The caller's sys_user sys_id when it holds no role but snc_internal, else None."""
    if user == store.integration_user:
        return None
    me = store.user_sys_id(user)
    held = {r for r in roles.names_by_user(store).get(me, "").split(",") if r} - {"snc_internal"}
    return None if held else me


def nothing(r: int) -> bool:
    """The row test of a table the caller may read nothing of."""
    return False


def row_filter(store: Store, source: Table | TaskView, user: str) -> Callable[[int], bool] | None:
    """None when the caller may read every row of `source`, else the test of a row it may read (`nothing`
    when it may read none)."""
    if source.name in ADMIN_TABLES:
        return None if is_admin(store, user) else nothing
    me = self_service(store, user)
    if me is None or source.name in OPEN_TABLES:
        return None
    if source.name == "sys_attachment":  # an attachment is readable with the record it is attached to
        names, ids = source.getter("table_name"), source.getter("table_sys_id")

        def parent_visible(r: int) -> bool:
            found = store.locate(names(r), ids(r)) if names(r) in store.tables else None
            test = row_filter(store, found[0], user) if found else None
            return found is not None and (test is None or test(found[1]))

        return parent_visible
    if source.name == "sys_journal_field":  # the comments (not work notes) of the records it may read
        names, ids, element = source.getter("name"), source.getter("element_id"), source.getter("element")

        def comment_visible(r: int) -> bool:
            found = store.locate(names(r), ids(r)) if element(r) == "comments" and names(r) in store.tables else None
            test = row_filter(store, found[0], user) if found else None
            return found is not None and (test is None or test(found[1]))

        return comment_visible
    if source.name in ("task", *TASK_CHILDREN, "sc_cart", "sc_cart_item"):
        if source.name == "sc_cart_item":
            carts = store.tables["sc_cart"]
            mine = {carts.rows[r][0] for r in carts.alive_rows()  # type: ignore[index]
                    if carts.record(r)["user"] == me}
            cart = source.getter("cart")
            return lambda r: cart(r) in mine
        getters = [source.getter(f) for f in OWN_FIELDS if source.has_field(f)]
        return lambda r: any(g(r) == me for g in getters)
    return nothing


def viewer(store: Store, query: Query, user: str) -> Query:
    """`query` marked with its caller when that caller holds no admin role and the query reaches other
    tables (JOIN, RLQUERY, SUBQUERY): those then see only the rows `row_filter` lets it read (`related`).
    A caller with other roles (itil) is marked only when the query reaches an admin-only table, the only
    rows its ACLs deny, so its other related queries keep their narrower cache keys."""
    others = {j.other for j in query.joins} | {r.other for r in query.related}
    if not others or is_admin(store, user) or (self_service(store, user) is None and not others & ADMIN_TABLES):
        return query
    return replace(query, viewer=user)


def restricted(store: Store, user: str) -> bool:
    """Whether field ACLs deny the caller work notes (a self-service caller)."""
    return self_service(store, user) is not None


def readable_query(query: Query, hidden: bool) -> Query:
    """The query without its conditions (and ORDERBY) on fields the caller may not read (module doc)."""
    if not hidden:
        return query

    def unreadable(c: Condition) -> bool:
        return c.op not in ("JOIN", "TEXTQUERY") and c.field.rpartition(".")[2] in UNQUERYABLE

    dropped = [f"{c.field}{c.op}{c.value}" for b in query.blocks for t in b for c in t if unreadable(c)]
    blocks = tuple(tuple(term for term in (tuple(replace(c, field=f"{TEXT_QUERY}!{','.join(sorted(UNQUERYABLE))}")
                                                if c.op == "TEXTQUERY" else c for c in t if not unreadable(c))
                                          for t in b) if term) for b in query.blocks)
    order = tuple((f, d) for f, d in query.order if f.rpartition(".")[2] not in UNQUERYABLE)
    return related_acl.readable(replace(query, blocks=tuple(b for b in blocks if b) or ((),), order=order,
                                        ignored=(*query.ignored, *dropped)), UNQUERYABLE)


def drop_unwritable(store: Store, user: str, body: dict[str, Any]) -> dict[str, Any]:
    """The write body without the fields the caller may not write (work notes of a self-service caller)."""
    if not restricted(store, user):
        return body
    return {k: v for k, v in body.items() if k not in UNQUERYABLE}


def check_write(store: Store, table: str, operation: str, user: str) -> None:
    """403 when a self-service caller may not `operation` ("Insert", "Update", "Delete") on `table`, or
    a caller without admin on an admin-only table."""
    if table in ADMIN_TABLES and not is_admin(store, user):
        raise HTTPError(403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints")
    if self_service(store, user) is None or (operation == "Insert" and table in SELF_SERVICE_INSERT):
        return
    raise HTTPError(403, "Operation Failed", f"ACL Exception {operation} Failed due to security constraints")


class Logins:
    """user_name -> password of the users who may sign in besides the integration user. `barred(user_name)`
    says whether that user's account refuses every sign-in (`login_barred`)."""

    def __init__(self, passwords: Callable[[], dict[str, str]] | None = None,
                 barred: Callable[[str], bool] | None = None) -> None:
        own: dict[str, str] = {}
        self._passwords = passwords or (lambda: own)
        self.barred = barred or (lambda user_name: False)

    @property
    def passwords(self) -> dict[str, str]:
        return self._passwords()

    def check(self, user_name: str, password: str) -> bool:
        return bool(user_name) and self.passwords.get(user_name) == password and not self.barred(user_name)

    def take_password(self, store: Store, table: Table, body: dict[str, Any]) -> Callable[[int], None]:
        """Remove `user_password` from a sys_user write body; the returned callback, given the written
        row, makes that user's login."""
        if table.name != "sys_user" or "user_password" not in body:
            return lambda row: None
        password = str(body.pop("user_password") or "")

        def remember(row: int) -> None:
            name = table.record(row)["user_name"]
            if name and password:
                self.passwords[name] = password

        return remember


def login_barred(store: Store, user_name: str) -> bool:
    """Whether a login's account refuses to sign in, as an instance's does: its sys_user row is locked out
    (locked_out=true), not active (active=false) or gone. Basic, the password grant and the tokens issued
    before all stop working (401) [unc: that a live token dies with the account; the instance ends the
    user's sessions]."""
    with store.lock:
        sys_id = store.user_sys_id(user_name)
        found = store.locate("sys_user", sys_id) if sys_id else None
        if found is None:
            return True
        table, row = found
        values = table.rows[row]
        locked, active = values[table.pos["locked_out"]], values[table.pos["active"]]  # type: ignore[index]
    return _flag(locked) == "true" or _flag(active) == "false"


def _flag(value) -> str | None:
    """A boolean field's value as written by a table API call: JSON true/false, or "true"/"1" and "false"/"0" in any
    case (an instance takes each for the boolean), else None [unc: what an instance makes of other strings]."""
    text = str(value).strip().lower()
    return {"true": "true", "1": "true", "false": "false", "0": "false"}.get(text)
