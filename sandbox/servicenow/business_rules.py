"""Business rules (sys_script) that an admin adds, run on the Table API's writes.

What runs: an active `before` rule of the written table or one of its ancestors (`task` for its
children, `cmdb_ci` and the CI classes between for a CI) whose action matches the write (action_insert,
action_update, action_delete) and whose `filter_condition` (an encoded query, "" for every record) matches
the record as it is about to be saved. The sandbox runs a rule's Actions tab only: with `abort_action` the
write is refused, as the instance answers it: 403 `{"error": {"message": "Operation Failed", "detail":
"Operation against file '<table>' was aborted by Business Rule '<name>^<sys_id>'. Business Rule
Stack:<name>"}}`; with `add_message` the rule's `message` is the error's message. A rule's script and its
script `condition` are not run (the sandbox's own `rules` module stands for the base system's scripted
rules). [unc: the message of a rule with add_message; the order of several aborting rules follows
`order`, then name]

PySNC's test_multi_update_with_failures adds such a rule (`short_descriptionLIKEEICAR^ORdescriptionLIKEEICAR
^EQ` on problem) and expects the matching updates of a Batch API request to fail and the others to save.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError
from sandbox.servicenow.ci_classes import CI_PARENTS
from sandbox.servicenow.engine import QueryEngine
from sandbox.servicenow.query import parse
from sandbox.servicenow.schema import SCHEMAS
from sandbox.servicenow.tables import Table

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store

RULES = "sys_script"


def _lineage(table: Table, rec: dict[str, str]) -> set[str]:
    names = {table.name}
    for start in (rec.get("sys_class_name") or table.name, table.name):
        name: str | None = start
        while name:
            names.add(name)
            schema = SCHEMAS.get(name)
            name = CI_PARENTS.get(name) or (schema.parent if schema is not None else None)
    return names


def _matches(store: Store, table: Table, rec: dict[str, str], condition: str) -> bool:
    if not condition.strip():
        return True
    one = Table(table.schema, [tuple(rec.get(f, "") for f in table.fields)], store)
    return bool(QueryEngine(max_entries=1).run(one, parse(condition, store.clock.now())))


def check(store: Store, table: Table, rec: dict[str, str], action: str) -> None:
    """Refuse the write (HTTPError 403) when an aborting before rule matches; `action` is insert, update or
    delete."""
    rules = store.tables.get(RULES)
    if rules is None or table is rules or not len(rules):
        return
    lineage = _lineage(table, rec)
    candidates = []
    for row in rules.alive_rows():
        r = rules.record(row)
        if (r["active"] == "true" and r["when"] == "before" and r["abort_action"] == "true"
                and r[f"action_{action}"] == "true" and r["collection"] in lineage):
            candidates.append(r)
    for r in sorted(candidates, key=lambda r: (int(r["order"] or 0) if r["order"].lstrip("-").isdigit() else 0,
                                               r["name"])):
        if _matches(store, table, rec, r["filter_condition"]):
            message = r["message"] if r["add_message"] == "true" and r["message"] else "Operation Failed"
            raise HTTPError(403, message, f"Operation against file '{table.name}' was aborted by Business Rule "
                                          f"'{r['name']}^{r['sys_id']}'. Business Rule Stack:{r['name']}")
