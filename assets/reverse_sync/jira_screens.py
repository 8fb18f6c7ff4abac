"""Fields a Jira project's create or edit screen does not take, for the remediation issues' writes.

Jira refuses a create or edit that sets a field its screen does not show (not on the project and issue type's
create/edit screen, or hidden by the field configuration) with 400 ``{"errorMessages": [], "errors": {"duedate":
"Field 'duedate' cannot be set. It is not on the appropriate screen, or unknown."}}``, and nothing is written. A
Jira admin hiding the due date (or the priority, the description, the assignee) would otherwise leave every record
of that project in dead letters for ever.

So when a write is refused with errors naming only fields we sent, the screen is read: createmeta
(``GET /issue/createmeta/{project}/issuetypes/{typeId}``, its ``fields`` or ``results``) for a create, editmeta
(``GET /issue/{id}/editmeta``) for an edit. The refused fields the screen does not list and that Project X can do
without (description, priority, due date, assignee) are dropped, logged once a run per project and issue type
with the reason, audited per record (a ``push`` row with status ``left_out`` naming the fields and why), and the
write is sent again without them. The rest of the run leaves them out from the start: a create's for that project
and issue type, an edit's for that issue only (editmeta describes one issue as it is: a Closed issue in a status
with ``jira.issue.editable = false`` has an empty one, a moved issue is in another project).
A listing that cannot be read (the read fails, an answer of the wrong shape, no fields, no ``summary``) is
unknown: the refusal stands, as Jira answered it (the record's dead letter), never "the screen takes nothing".
The engine links the record without the fields left out (``Screens.dropped``, read through
``JiraIssueWriter.left_out``; ``runloop._without``): each push plans it again (a read, no write while the screen
still does not take them) and the first push after the field is back on the screen writes it.
Only the ``errors`` keys are read: the messages are in the integration account's language.

Project X cannot do without the labels (``projectx:<id>`` is how every later push finds the issue) or the
summary: a screen without them is the record's dead letter (422) saying which field to put back on which screen.
A refusal for a field the screen does list (a value Jira does not take) is left as it was.
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from typing import Any

from assets.reverse_sync.jira_shapes import obj, refused_for_only
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
    """The create/edit screens of one push (``JiraIssueWriter``): what they do not take. A create screen's answer
    is kept per project and issue type (createmeta describes exactly that); an edit's per issue, since editmeta
    describes that one issue as it is now (its status: a Closed issue's is empty; its project, if moved)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # ("create", project, type) or ("edit", issue id) -> fields that screen does not take
        self.left_out: dict[tuple[str, ...], set[str]] = {}
        self.created: dict[tuple[str, str], set[str] | None] = {}  # createmeta's fields per (project, type)
        self.warned: dict[tuple[str, str, str], set[str]] = {}  # fields warned of per (kind, project, type)
        self.dropped: dict[str, dict[str, str]] = {}  # internal id -> {field: why it was left out}, this run
        self.editable: dict[str, set[str] | None] = {}  # issue id -> its editmeta's fields, as read this run
        self.empty: set[str] = set()  # issues whose editmeta, as read this run, listed no field (`jira_frozen`)
        self.lock = threading.Lock()  # records are written from several threads at once

    def known(self, kind: str, *where: str) -> set[str]:
        """What this run found the screen does not take: ``known("create", project, type)`` or
        ``known("edit", issue id)``."""
        key = (kind, where[0], where[1].lower()) if kind == "create" else (kind, *where)
        with self.lock:
            return set(self.left_out.get(key, ()))

    def seen(self, vendor_id: str, editmeta: Any) -> None:
        """Keep the editmeta an issue read carried (``expand=editmeta``), for `off_edit`."""
        with self.lock:
            self.editable[vendor_id] = _listing(editmeta)
            self._emptied(vendor_id, editmeta)

    def _emptied(self, vendor_id: str, editmeta: Any) -> None:
        """Note whether ``editmeta`` lists no field at all (an object whose ``fields`` is ``{}``): the issue takes
        no edit (``jira_frozen``). Any other shape is no evidence either way. Called under ``lock``."""
        if isinstance(editmeta, dict) and editmeta.get("fields") == {}:
            self.empty.add(vendor_id)
        else:
            self.empty.discard(vendor_id)

    def moved(self, vendor_id: str) -> None:
        """Forget the issue's editmeta after a workflow transition: it described the status the issue left."""
        with self.lock:
            self.editable.pop(vendor_id, None)
            self.empty.discard(vendor_id)

    def no_edit(self, vendor_id: str) -> bool:
        """Whether the issue's editmeta, as last read this run, listed no field."""
        with self.lock:
            return vendor_id in self.empty

    def off_edit(self, vendor_id: str, changed: set[str]) -> set[str]:
        """The changed fields to leave out of this issue's edit from the start: those an edit of it was refused
        for this run, and the optional ones its editmeta (read with the issue) does not list, so no refused PUT
        is sent for a field still off the screen, and the field is written once the screen takes it again. An
        editmeta that is unknown (not read, empty, no ``summary``) leaves nothing out: the PUT's answer decides."""
        with self.lock:
            listed = self.editable.get(vendor_id)
        gone = (changed & OPTIONAL) - listed if listed is not None else set()
        return (self.known("edit", vendor_id) | gone) & changed

    def create_meta(self, project: str, issuetype: str) -> set[str] | None:
        """`create_fields`, read once a run per project and issue type; None (the refusal stands) when the read
        fails (a bad project key's 404, a 401/403), so the record's dead letter is Jira's refusal of the create."""
        key = (project, issuetype.lower())
        with self.lock:
            if key in self.created:
                return self.created[key]
        try:
            found = self.create_fields(project, issuetype)
        except VendorError as exc:
            log.warning("Jira: the create screen of project %s (issue type %s) could not be read (HTTP %s): the "
                        "refused creates stand as Jira answered them", project, issuetype, exc.status)
            found = None
        with self.lock:
            self.created[key] = found
        return found

    def create_fields(self, project: str, issuetype: str) -> set[str] | None:
        """The field ids createmeta lists for ``project`` and the issue type named ``issuetype``; None when the
        type is not found there or the listing is unreadable: a page that is no object or holds neither
        ``fields`` nor ``results`` (``PageOfCreateMetaIssueTypeWithField`` has both), or a listing without
        ``summary`` (every create screen holds it). None keeps the original refusal: a value Jira does not take
        (priority "Urgent") is not taken for a field off the screen."""
        listed = self.client.get(f"{API}/issue/createmeta/{project}/issuetypes", maxResults=200)
        if not isinstance(listed, dict):
            return None
        types = next((v for v in (listed.get("issueTypes"), listed.get("createMetaIssueType"))
                      if isinstance(v, list)), [])
        tid = next((str(t["id"]) for t in types if isinstance(t, dict) and t.get("id") is not None and
                    str(t.get("name") or "").lower() == issuetype.lower()), None)
        if tid is None:
            return None
        out: set[str] = set()
        start = 0
        while True:  # paged; bounded by `total` and a page cap (a site has at most a few hundred fields)
            page = self.client.get(f"{API}/issue/createmeta/{project}/issuetypes/{tid}", startAt=start,
                                   maxResults=200)
            fields = next((v for v in (obj(page).get("fields"), obj(page).get("results")) if isinstance(v, list)),
                          None)
            if fields is None:
                return None
            out |= {str(f.get("fieldId") or f.get("key")) for f in fields
                    if isinstance(f, dict) and (f.get("fieldId") or f.get("key"))}
            start += len(fields)
            total = page.get("total")
            if not fields or not isinstance(total, int) or start >= total or start >= 5000:
                return out if "summary" in out else None

    def refusal(self, kind: str, project: str, issuetype: str, sent: set[str], status: int | None, answer: Any,
                internal_id: str, vendor_id: str | None = None) -> set[str]:
        """The fields to leave out of a write Jira refused (``status``, its ``answer``) for being off the screen:
        the screen is read only for a 400 naming fields we sent; an empty set means the refusal stands."""
        refused = refused_fields(answer) if status == 400 else set()
        if not refused or not refused <= sent:
            return set()
        if kind == "edit" and self.no_edit(str(vendor_id)):
            return set()  # its editmeta, read with it, listed nothing: no screen to read again (`jira_frozen`)
        listed = self.create_meta(project, issuetype) if kind == "create" else self.edit_fields(str(vendor_id))
        return self.drop(kind, project, issuetype, sent, refused, listed, internal_id, vendor_id)

    def edit(self, send: Any, vendor_id: str, internal_id: str, desired: dict[str, Any], body: dict[str, Any],
             changes: list[Any]) -> list[Any]:
        """PUT the edit (``send``: the writer's audited write); refused for fields this issue's edit screen does
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
            answer = answers[-1] if answers else None
            off = self.refusal("edit", project, itype, sent, exc.status, answer, internal_id, vendor_id)
            # an issue that takes no edit refuses every field it is sent: not the owner's fault (`jira_frozen`)
            if not off and "assignee" in sent and refused_for_only(exc.status, answer, "assignee") \
                    and not self.no_edit(vendor_id):
                off = {"assignee"}  # on the screen, yet refused: an owner Jira will not assign. Given up, not retried
                log.warning("Jira refused account %s as the assignee of issue %s (for %s; not assignable in project "
                            "%s: no Jira access, or deactivated): the issue stays unassigned",
                            body["fields"]["assignee"].get("accountId"), vendor_id, internal_id, project)
            if not off:
                raise
        body = {"fields": {k: v for k, v in body["fields"].items() if k not in off},
                **({"update": body["update"]} if body.get("update") and "labels" not in off else {})}
        if body["fields"] or body.get("update"):
            send("PUT", f"{API}/issue/{vendor_id}", json=body)
        return [c for c in changes if c.field not in off]

    def edit_fields(self, vendor_id: str) -> set[str] | None:
        """The field ids the issue's editmeta lists; None (unknown: the refusal stands) when the read fails, or
        the answer is no object, or lists nothing or no ``summary``: Jira answers an empty editmeta for an issue
        in a status that is not editable (``jira.issue.editable = false``, a classic workflow's Closed), which
        says nothing about the project's screen."""
        try:
            meta = self.client.get(f"{API}/issue/{vendor_id}/editmeta")
        except VendorError as exc:
            log.warning("Jira: the edit screen of issue %s could not be read (HTTP %s): the refused edit stands",
                        vendor_id, exc.status)
            return None
        with self.lock:
            self._emptied(vendor_id, meta)
        return _listing(meta)

    def drop(self, kind: str, project: str, issuetype: str, sent: set[str], refused: set[str], listed: set[str] | None,
             internal_id: str, vendor_id: str | None = None) -> set[str]:
        """The refused fields to leave out of this write (and the rest of the run's for this project and issue
        type at create, this issue at edit); an empty set when the refusal is not about the screen (or the screen
        is unknown: ``listed`` None). Raises the record's 422 for a needed field."""
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
            key = ("create", project, issuetype.lower()) if kind == "create" else ("edit", str(vendor_id))
            self.left_out.setdefault(key, set()).update(off)
        self.left(internal_id, kind, project, issuetype, off)
        return off

    def left(self, internal_id: str, kind: str, project: str, issuetype: str, fields: set[str]) -> None:
        """Note ``fields`` as left out of this record's write (for its audit row and `dropped`), logged once a
        run per project and issue type (a warning) and per record (info)."""
        if not fields:
            return
        why = (f"not on the {kind} screen of project {project} (issue type {issuetype}), or hidden by the field "
               "configuration")
        with self.lock:
            self.dropped.setdefault(internal_id, {}).update({f: why for f in fields})
            said = (kind, project, issuetype.lower())
            first = not fields <= self.warned.get(said, set())
            self.warned.setdefault(said, set()).update(fields)
        if first:
            log.warning("Jira: the %s screen of project %s (issue type %s) does not take %s (not on the screen, or "
                        "hidden by the field configuration): Project X %s without them (logged once a run). Put them "
                        "back on that screen in Jira; the values left out are written by the first push after "
                        "that",
                        kind, project, issuetype, ", ".join(sorted(fields)),
                        "creates issues" if kind == "create" else "updates issues")
        log.info("Jira issue for %s %s without %s: %s", internal_id, "created" if kind == "create" else "updated",
                 ", ".join(sorted(fields)), why)

    def audit(self, writes: Any, operation: str, object_id: str, internal_id: str) -> None:
        """One audit row (``push``, status ``left_out``) per record whose write went without fields the screen
        does not take, naming them and why: the drop is on record per issue, not only in a once-a-run warning."""
        with self.lock:
            gone = dict(self.dropped.get(internal_id) or {})
        if not gone:
            return
        from resources.audit import record_event

        detail = {"internal_id": internal_id, "left_out": sorted(gone),
                  "error": "; ".join(f"{f}: {why}" for f, why in sorted(gone.items()))[:300]}
        with writes.committed():
            record_event(writes.conn, action="push", system=writes.vendor, correlation_id=writes.correlation_id,
                         operation=operation, object_id=object_id, status="left_out", run_id=writes.run_id,
                         detail=detail)


def _listing(editmeta: Any) -> set[str] | None:
    """The field ids an editmeta lists; None (unknown) when it is no object, lists none, or lists no ``summary``:
    Jira answers an empty editmeta for an issue in a status that is not editable, which says nothing about the
    project's edit screen."""
    fields = obj(editmeta).get("fields")
    listed = {str(k) for k in fields} if isinstance(fields, dict) else set()
    return listed if "summary" in listed else None


def edit_note(edits: list[Any]) -> str:
    """The comment saying what Project X changed on an issue (one ``field before -> after`` per edit)."""
    return "Project X updated this issue: " + "; ".join(f"{c.field} {_short(c.before)} -> {_short(c.after)}"
                                                        for c in edits)


def _short(value: Any) -> str:
    """A value quoted in the note: cut to 60 characters, control characters shown as ``<U+XXXX>`` (line breaks,
    tabs and U+2028/U+2029 as a space). A value a person typed in Jira may hold a lone UTF-16 surrogate (JSON's
    ``\\ud800``, kept by Jira), which no warehouse stores (the note is kept in ``jira_owed_notes`` before the edit:
    the push crashed), a NUL (PostgreSQL refuses it) or a bidirectional override (the rest of the comment read right
    to left); the direction marks Hebrew and Arabic text holds are kept."""
    text = "(none)" if value in (None, "") else str(value)
    text = text if len(text) <= 60 else text[:57] + "..."
    return "".join(" " if ch in BREAKS else f"<U+{ord(ch):04X}>" if _hidden(ch) else ch for ch in text)


BREAKS = frozenset("\t\n\r\u2028\u2029")  # tabs, line breaks and the line/paragraph separators: a space
# The bidirectional embeddings, overrides and isolates (they turn the text after them around), not the direction
# marks U+200E, U+200F, U+061C that Hebrew and Arabic text holds (they turn nothing after them).
BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _hidden(ch: str) -> bool:
    """Control (NUL included) and surrogate code points, and the bidirectional embeddings, overrides and isolates
    (not the direction marks, nor the other format characters: a zero-width joiner belongs to an emoji)."""
    return ch in BIDI or unicodedata.category(ch) in ("Cc", "Cs")
