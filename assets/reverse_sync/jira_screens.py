"""Fields a Jira project's create or edit screen does not take, for the remediation issues' writes.

Jira refuses a create or edit that sets a field its screen does not show (not on the project and issue type's
create/edit screen, or hidden by the field configuration) with 400 ``{"errorMessages": [], "errors": {"duedate":
"Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."}}``, and nothing is written. A
Jira admin hiding the due date (or the priority, the description, the assignee) would otherwise leave every record
of that project in dead letters for ever.

So when a write is refused with errors naming only fields we sent, the screen is read: createmeta
(``GET /issue/createmeta/{project}/issuetypes/{typeId}``) for a create, editmeta (``GET /issue/{id}/editmeta``)
for an edit. The refused fields the screen does not list and that Project X can do without (description,
priority, due date, assignee) are dropped, logged once a run per project and issue type with the reason, and the
write is sent again without them; the rest of the run leaves them out of that project's writes from the start.
The record is linked as synced, so a value left out is written with the record's next change in Project X, not
when the field comes back on the screen [unc: a later round may re-push such records].
Only the ``errors`` keys are read: the messages are in the integration account's language.

Project X cannot do without the labels (``projectx:<id>`` is how every later push finds the issue) or the
summary: a screen without them is the record's dead letter (422) saying which field to put back on which screen.
A refusal for a field the screen does list (a value Jira does not take) is left as it was.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from assets.reverse_sync.jira_shapes import obj
from pipelines.common.http import VendorError
from pipelines.jira.settings import API

log = logging.getLogger("assets.reverse_sync.jira")

OPTIONAL = frozenset({"description", "priority", "duedate", "assignee"})  # an issue of ours is whole without them
NEEDED = frozenset({"labels", "summary"})


def refused_fields(response: Any) -> set[str]:
    """The field ids a 400 ErrorCollection names in ``errors`` (no ``errorMessages``), else an empty set."""
    if response is None or getattr(response, "status_code", None) != 400:
        return set()
    try:
        body = response.json()
    except ValueError:
        return set()
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict) or body.get("errorMessages"):
        return set()
    return {str(k) for k in errors}


class Screens:
    """The create/edit screens of one push (``JiraIssueWriter``): what they do not take, per project and type."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.left_out: dict[tuple[str, str, str], set[str]] = {}  # (create|edit, project, type) -> fields
        self.created: dict[tuple[str, str], set[str] | None] = {}  # createmeta's fields per (project, type)
        self.lock = threading.Lock()  # records are written from several threads at once

    def known(self, kind: str, project: str, issuetype: str) -> set[str]:
        with self.lock:
            return set(self.left_out.get((kind, project, issuetype.lower()), ()))

    def create_meta(self, project: str, issuetype: str) -> set[str] | None:
        """`create_fields`, read once a run per project and issue type."""
        key = (project, issuetype.lower())
        with self.lock:
            if key in self.created:
                return self.created[key]
        found = self.create_fields(project, issuetype)
        with self.lock:
            self.created[key] = found
        return found

    def create_fields(self, project: str, issuetype: str) -> set[str] | None:
        """The field ids createmeta lists for ``project`` and the issue type named ``issuetype``; None when the
        type is not found there."""
        listed = obj(self.client.get(f"{API}/issue/createmeta/{project}/issuetypes", maxResults=200))
        types = listed.get("issueTypes") if isinstance(listed.get("issueTypes"), list) else []
        tid = next((str(t["id"]) for t in types if isinstance(t, dict) and t.get("id") is not None and
                    str(t.get("name") or "").lower() == issuetype.lower()), None)
        if tid is None:
            return None
        out: set[str] = set()
        start = 0
        while True:  # paged; bounded by `total` and a page cap (a site has at most a few hundred fields)
            page = obj(self.client.get(f"{API}/issue/createmeta/{project}/issuetypes/{tid}", startAt=start,
                                       maxResults=200))
            fields = page.get("fields") if isinstance(page.get("fields"), list) else []
            out |= {str(f.get("fieldId") or f.get("key")) for f in fields if isinstance(f, dict)}
            start += len(fields)
            total = page.get("total")
            if not fields or not isinstance(total, int) or start >= total or start >= 5000:
                return out

    def refusal(self, kind: str, project: str, issuetype: str, sent: set[str], status: int | None, answer: Any,
                internal_id: str, vendor_id: str | None = None) -> set[str]:
        """The fields to leave out of a write Jira refused (``status``, its ``answer``) for being off the screen:
        the screen is read only for a 400 naming fields we sent; an empty set means the refusal stands."""
        refused = refused_fields(answer) if status == 400 else set()
        if not refused or not refused <= sent:
            return set()
        listed = self.create_meta(project, issuetype) if kind == "create" else self.edit_fields(str(vendor_id))
        return self.drop(kind, project, issuetype, sent, refused, listed, internal_id)

    def edit(self, send: Any, vendor_id: str, internal_id: str, desired: dict[str, Any], body: dict[str, Any],
             changes: list[Any]) -> list[Any]:
        """PUT the edit (``send``: the writer's audited write); refused for fields this project's edit screen does
        not take, sent again without them. Returns the changes really made, for the change comment."""
        answers: list[Any] = []
        project, itype = str(desired.get("project")), str(desired.get("issuetype"))
        if not body["fields"] and not body.get("update"):
            return []
        try:
            send("PUT", f"{API}/issue/{vendor_id}", json=body, hooks={"response": [
                lambda r, *a, **k: answers.append(r)]})
            return changes
        except VendorError as exc:
            sent = set(body["fields"]) | set(body.get("update") or {})
            off = self.refusal("edit", project, itype, sent, exc.status, answers[-1] if answers else None,
                               internal_id, vendor_id)
            if not off:
                raise
        body = {"fields": {k: v for k, v in body["fields"].items() if k not in off},
                **({"update": body["update"]} if body.get("update") and "labels" not in off else {})}
        if body["fields"] or body.get("update"):
            send("PUT", f"{API}/issue/{vendor_id}", json=body)
        return [c for c in changes if c.field not in off]

    def edit_fields(self, vendor_id: str) -> set[str]:
        meta = obj(self.client.get(f"{API}/issue/{vendor_id}/editmeta"))
        return {str(k) for k in obj(meta.get("fields"))}

    def drop(self, kind: str, project: str, issuetype: str, sent: set[str], refused: set[str], listed: set[str] | None,
             internal_id: str) -> set[str]:
        """The refused fields to leave out of this write (and the rest of the run's for ``project``/``issuetype``);
        an empty set when the refusal is not about the screen. Raises the record's 422 for a needed field."""
        if not refused or not refused <= sent or listed is None:
            return set()
        off = refused - listed
        if not off:
            return set()  # the screen takes them: a value Jira does not take, left as it was
        if off & NEEDED:
            where = "create" if kind == "create" else "edit"
            raise VendorError(
                f"the Jira issue for {internal_id[:80]!r} was not {'created' if kind == 'create' else 'updated'}: "
                f"the {where} screen of project {project} (issue type {issuetype}) does not take "
                f"{', '.join(sorted(off & NEEDED))} (not on the screen, or hidden by the field configuration), and "
                "Project X finds its issues by the label projectx:<id>. Put the field back on that screen in "
                "Jira's project settings", 422)
        if not off <= OPTIONAL:
            return set()
        with self.lock:
            key = (kind, project, issuetype.lower())
            first = key not in self.left_out or not off <= self.left_out[key]
            self.left_out.setdefault(key, set()).update(off)
        if first:
            log.warning("Jira: the %s screen of project %s (issue type %s) does not take %s (not on the screen, or "
                        "hidden by the field configuration): Project X %s without them (logged once a run). Put them "
                        "back on that screen in Jira; the values left out are written with each record's next "
                        "change",
                        kind, project, issuetype, ", ".join(sorted(off)),
                        "creates issues" if kind == "create" else "updates issues")
        return off


def edit_note(edits: list[Any]) -> str:
    """The comment saying what Project X changed on an issue (one ``field before -> after`` per edit)."""
    return "Project X updated this issue: " + "; ".join(f"{c.field} {_short(c.before)} -> {_short(c.after)}"
                                                        for c in edits)


def _short(value: Any) -> str:
    text = "(none)" if value in (None, "") else str(value)
    return text if len(text) <= 60 else text[:57] + "..."
