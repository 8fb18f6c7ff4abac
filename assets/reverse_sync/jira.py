"""Two-way sync of remediation tasks with Jira issues (``outbound.jira_remediation_issues``).

Out: each task is an issue in its program's project (seed ``program_jira_projects``) with summary,
ADF description, labels ``projectx``, ``control:<id>`` and ``projectx:<task id>`` (our id: a rerun
after a crash finds the issue by it), priority, due date and, at creation, the control owner as
assignee when Jira knows that e-mail (looked up: a user showing it, or the only user found by it whose
e-mail Jira hides; never a guess between candidates, see ``JiraIssueWriter.account``; one the create screen
did not take is set by the next push whose editmeta takes it, ``JiraIssueWriter.owed``). Status moves
only by workflow transitions (read from the issue, never set directly): Done when the control passes
again, back to To Do when it fails again, each move with a comment saying why (posted on its own when
the workflow's transition has no screen: :mod:`assets.reverse_sync.jira_moves`). A Project X-side change
to an existing issue also adds a comment saying what changed. An issue that takes no edit at all (empty
editmeta) is held with a doubling backoff, not refused on every push: :mod:`assets.reverse_sync.jira_frozen`.

Back: Jira-side status, assignee, comments and resolution return through the Jira ingestion
(``marts.tasks`` via ``int_tasks__control_remediations``). Field owners and the conflict rule are
in :mod:`assets.reverse_sync.policy`. Echoes: the issue's changelog says who changed what; changes
by the integration account itself are never treated as Jira-side edits.
"""


import logging
import threading
from typing import Any

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MaterializeResult, asset, asset_check

from assets.reverse_sync import jira_frozen, jira_notes
from assets.reverse_sync.assetkit import ReverseSyncConfig, no_dead_letters, paused_by_flag, run_sync
from assets.reverse_sync.engine import DONE, OPEN, Snapshot, Step, default_steps
from assets.reverse_sync.jira_lookups import Lookups, _shape
from assets.reverse_sync.jira_moves import Moves
from assets.reverse_sync.jira_screens import Screens, edit_note
from assets.reverse_sync.jira_shapes import (
    adf_text,
    changed_fields,
    foreign_fields,
    names,
    obj,
    refused_for_only,
    text_or_none,
)
from assets.reverse_sync.jira_text import SUMMARY_LIMIT, TEXT_LIMIT, adf, clip, label_problem, managed_labels, one_line
from assets.reverse_sync.policy import PROJECTX, SHARED, VENDOR, Change, Field
from assets.reverse_sync.writes import Writes
from pipelines.common.http import VendorError
from pipelines.jira.helpers import JiraClient
from resources.evidence.limits import env_int
from resources.jira import JiraResource
from resources.scale_out import op_tags, pool
from resources.warehouse import WarehouseResource

log = logging.getLogger(__name__)

OUTBOUND = AssetKey(["outbound", "jira_remediation_issues"])
KEY = AssetKey(["reverse_sync", "jira_remediation_issues"])
API = "rest/api/3"
READ_FIELDS = ["summary", "description", "priority", "duedate", "labels", "status", "updated", "project",
               "issuetype", "assignee"]
EDITABLE = {"summary", "description", "priority", "duedate"}
CHANGELOG_FIELDS = {"summary": "summary", "description": "description", "priority": "priority",
                    "duedate": "duedate", "labels": "labels", "status": "status", "resolution": "status"}



class JiraIssueWriter(Lookups):
    vendor = "jira"
    vendor_object = "issue"
    reads = True
    policy = {"summary": Field(PROJECTX), "description": Field(PROJECTX), "priority": Field(PROJECTX),
              "labels": Field(PROJECTX), "duedate": Field(SHARED, wins=PROJECTX),
              "status": Field(SHARED, wins=VENDOR), "project": Field(VENDOR), "issuetype": Field(VENDOR)}

    # what an account-wide write refusal (refusal.py: 401s, or 403s with no reason) asks of the admin [unc: the
    # spec names no Jira permission list for the integration account; these are the ones its writes use]
    refusal_fix = ("give the Jira integration account back its Jira product access and, in the projects' permission "
                   "scheme, Browse Projects, Create Issues, Edit Issues, Transition Issues and Add Comments")

    @staticmethod
    def refusal_scope(desired: dict[str, Any]) -> str:
        """A permission refusal (``jira_frozen``) is about one project: its stop defers that project's records."""
        return f"project {desired.get('project')}"

    def __init__(self, client: JiraClient, owners: dict[str, str] | None = None):
        self.client = client
        self.session = client.session
        self.owners = owners or {}  # internal id -> owner e-mail, for the assignee at creation
        self._me: str | None = None
        self._accounts: dict[str, str | None] = {}
        self.lock = threading.Lock()  # records are written from several threads at once
        self._by_search: set[str] = set()  # owners whose account Jira found by their hidden e-mail (`account`)
        self.moves = Moves(self)  # close/reopen transitions and their comments (a workflow may have no screen)
        self.screens = Screens(client)  # fields a project's create/edit screen does not take
        self.notes: dict[str, str | None] = {}  # issue id -> its change comment, as the edit really went
        # issue id -> (its assignee's account id, whether someone other than us ever changed it), as read (`owed`)
        self.assignees: dict[str, tuple[str | None, bool]] = {}
        self.edit_retry = jira_frozen.hold_seconds()  # an issue that takes no edit waits this long (`jira_frozen`)
        # read when the push starts, so a bad value stops it before any vendor call (0: no wait)
        self.search_lag = env_int("PROJECTX_JIRA_SEARCH_LAG_SECONDS", 900, unit="a number of seconds",
                                  example="900", minimum=0) or 0

    def desired(self, row: dict[str, Any]) -> dict[str, Any]:
        self.owners[str(row["remediation_task_id"])] = row.get("assignee_email") or ""
        due = row.get("due_date")
        return {"project": row["jira_project_key"], "issuetype": row.get("issue_type") or "Task",
                "summary": clip(one_line(row["summary"]), SUMMARY_LIMIT),
                "description": clip(row["description"] or "", TEXT_LIMIT),
                "priority": row.get("priority") or "Medium", "labels": managed_labels(row["labels"]),
                "duedate": due.isoformat()[:10] if hasattr(due, "isoformat") else due}

    def _snapshot(self, bean: dict[str, Any], since: str | None = None) -> Snapshot:
        """The issue as the engine compares it. A part of the wrong shape (a hostile description, a status
        that is no object) reads as absent rather than stopping the push (``jira_shapes``)."""
        if not isinstance(bean, dict) or bean.get("id") in (None, ""):
            raise VendorError(f"Jira answered an issue with {_shape(bean, 'id')} where an issue object with an "
                              "'id' belongs; check JIRA_BASE_URL points at the Jira Cloud site", 422)
        f = obj(bean.get("fields"))
        category = obj(obj(f.get("status")).get("statusCategory")).get("key")
        fields = {"project": text_or_none(obj(f.get("project")).get("key")), "issuetype": names(f.get("issuetype")),
                  "summary": text_or_none(f.get("summary")), "description": adf_text(f.get("description")),
                  "priority": names(f.get("priority")), "labels": managed_labels(f.get("labels")),
                  "duedate": text_or_none(f.get("duedate")), "status": DONE if category == "done" else OPEN}
        foreign = own = None
        if isinstance(bean.get("changelog"), dict):  # who changed what since the last sync (all, if never read)
            foreign, own = changed_fields(bean["changelog"], since, self.me(), CHANGELOG_FIELDS)
        return Snapshot(str(bean["id"]), text_or_none(bean.get("key")), fields, text_or_none(f.get("updated")),
                        foreign, own)

    def me(self) -> str:
        """The integration account's id: its changelog entries are echoes of our own writes."""
        if self._me is None:
            self._me = str(self.client.get(f"{API}/myself").get("accountId"))
        return self._me

    def prefetch(self, internal_ids: list[str]) -> dict[str, Snapshot]:
        wanted, found = set(internal_ids), {}
        for page in self.client.search("labels = projectx ORDER BY created ASC, id ASC", READ_FIELDS):
            for bean in page:
                labels = obj(obj(bean).get("fields")).get("labels")
                ours = [x[len("projectx:"):] for x in labels if isinstance(x, str) and x.startswith("projectx:")] \
                    if isinstance(labels, list) else []
                for internal_id in ours:
                    if internal_id in wanted:
                        found.setdefault(internal_id, self._snapshot(bean))
        return found

    def find_one(self, internal_id: str) -> Snapshot | None:
        """The issue carrying our id's label (the oldest), searched by that label alone: after a 404 (engine)."""
        from assets.reverse_sync.jira_text import jql_string

        label = f"projectx:{internal_id}"
        for page in self.client.search(f"labels = {jql_string(label)} ORDER BY created ASC, id ASC", READ_FIELDS):
            for bean in page:
                labels = obj(obj(bean).get("fields")).get("labels")
                if isinstance(labels, list) and label in labels:
                    return self._snapshot(bean)
        return None

    def read(self, vendor_id: str, since: str | None) -> Snapshot | None:
        from pipelines.common.http import VendorError

        try:
            # editmeta in the same answer: the fields this issue's edit screen takes now (`jira_screens.seen`)
            bean = self.client.get(f"{API}/issue/{vendor_id}", fields=",".join(READ_FIELDS),
                                   expand="changelog,editmeta")
        except VendorError as exc:
            if exc.status == 404:
                return None
            raise
        self.screens.seen(str(vendor_id), obj(bean).get("editmeta"))
        bean = self.client.complete(bean)
        snap = self._snapshot(bean, since)
        changelog = bean.get("changelog")
        touched = "assignee" in foreign_fields(changelog, None, self.me(), {}) if isinstance(changelog, dict) else True
        with self.lock:
            self.assignees[snap.vendor_id] = (text_or_none(obj(obj(bean.get("fields")).get("assignee"))
                                                           .get("accountId")), touched)
        return snap

    def hold(self, internal_id: str, vendor_id: str, desired: dict[str, Any], writes: Writes) -> None:
        """Raise the record's ``deferred: not_editable:`` error, before any request, while the hold of an issue
        that took no edit runs (``jira_frozen``; called by the engine before the read of a linked record)."""
        jira_frozen.check(writes, vendor_id, internal_id, str(desired.get("project")), self.edit_retry)

    def owed(self, internal_id: str, fields: list[str], snap: Snapshot) -> list[Change]:
        """What a create went without and a later edit may still set (the engine's ``OWED``): the owner as the
        assignee when the create screen did not take it. Only while the issue is unassigned and nobody else has
        ever changed its assignee (Jira owns the assignee once someone has), and only for an owner Jira knows
        (``account``); else nothing, and it is not owed any more."""
        if "assignee" not in fields:
            return []
        with self.lock:
            assignee, touched = self.assignees.get(snap.vendor_id, (None, True))
        account = None if assignee is not None or touched else self.account(self.owners.get(internal_id))
        return [Change("assignee", None, account)] if account else []

    def assigned_meanwhile(self, vendor_id: str) -> bool:
        """Whether the issue has an assignee now (read again right before the owed assignee's PUT): a person
        may have assigned it since the plan's read, and Jira owns the assignee once someone has set it."""
        fields = obj(obj(self.client.get(f"{API}/issue/{vendor_id}", fields="assignee")).get("fields"))
        return text_or_none(obj(fields.get("assignee")).get("accountId")) is not None

    def steps(self, changes: list[Change], creating: bool) -> list[Step]:
        out = default_steps(changes, creating)
        if any(op == "transition" for op, _ in out):  # a reopen first: a Closed issue may take no edit till then
            out = [s for s in out if s[0] == "transition"] + [s for s in out if s[0] != "transition"]
        edits = [c for op, cs in out if op == "update" for c in cs if c.field != "assignee"]  # set silently
        if edits:
            out.append(("comment", [Change("comment", None, edit_note(edits))]))
        return out

    def apply(self, step: Step, internal_id: str, vendor_id: str | None, desired: dict[str, Any],
              writes: Writes) -> tuple[str, str | None]:
        operation, changes = step
        send = lambda method, path, **kw: writes.send(self.session, method, path, operation=operation,  # noqa: E731
                                                      object_id=str(vendor_id or internal_id),
                                                      internal_id=internal_id, **kw)
        if operation == "create":
            unusable = label_problem(internal_id)
            if unusable:  # refused before any request: the issue could never be found again by our id
                raise VendorError(unusable, 422)
            self.not_maybe_created(internal_id, writes)
            fields: dict[str, Any] = {
                "project": {"key": desired["project"]}, "issuetype": {"name": desired["issuetype"]},
                "summary": desired["summary"], "description": adf(desired["description"]),
                "labels": desired["labels"].split(","), "priority": {"name": desired["priority"]},
                "duedate": desired["duedate"]}
            owner = self.owners.get(internal_id)
            account = self.account(owner)
            if account:  # the e-mail stays out of the log (personal data)
                fields["assignee"] = {"accountId": account}
                if owner in self._by_search:
                    log.info("Jira issue for %s is assigned to account %s: the only Jira user the search for its "
                             "owner's e-mail finds, active, whose e-mail Jira hides (Atlassian profile "
                             "visibility)", internal_id, account)
            elif owner:  # visible, not silent; the e-mail stays out of the log (personal data)
                log.warning("Jira issue for %s is created unassigned: no Jira user shows its owner's e-mail and "
                            "the search for it finds no single active user with a hidden e-mail (unknown to "
                            "Jira, inactive, or several candidates: never a guess)", internal_id)
            off = self.screens.known("create", desired["project"], desired["issuetype"]) & set(fields)
            self.screens.left(internal_id, "create", desired["project"], desired["issuetype"], off)
            made = self.create(internal_id, {k: v for k, v in fields.items() if k not in off}, writes)
            self.screens.audit(writes, "create", made[0], internal_id)  # fields left out (`jira_screens`)
            return made
        if operation == "update":
            body: dict[str, Any] = {"fields": {}}
            off = self.screens.off_edit(str(vendor_id), {c.field for c in changes})
            self.screens.left(internal_id, "edit", str(desired.get("project")), str(desired.get("issuetype")), off)
            changes = [c for c in changes if c.field not in off]  # fields this issue's edit screen leaves out
            for c in changes:
                if c.field == "labels":
                    old, new = set((c.before or "").split(",")) - {""}, set(c.after.split(",")) - {""}
                    body["update"] = {"labels": [{"add": x} for x in sorted(new - old)] +
                                      [{"remove": x} for x in sorted(old - new)]}
                elif c.field == "assignee":  # owed since the create (`owed`): the account id found then
                    body["fields"]["assignee"] = {"accountId": c.after}
                elif c.field in EDITABLE:
                    value = c.after
                    body["fields"][c.field] = (adf(value) if c.field == "description" else
                                               {"name": value} if c.field == "priority" else value)
            if "assignee" in body["fields"] and self.assigned_meanwhile(str(vendor_id)):
                del body["fields"]["assignee"]  # a person assigned it since our read: Jira's now, never overwritten
                changes = [c for c in changes if c.field != "assignee"]
            meant = [c for c in changes if c.field != "assignee"]
            if meant:  # kept before the PUT: a push killed after Jira made the edit still posts it (`jira_notes`)
                jira_notes.owe(writes, str(vendor_id), internal_id, meant, made=False)
            try:
                done = self.screens.edit(send, str(vendor_id), internal_id, desired, body, changes)
            except VendorError as exc:  # an issue that takes no edit at all is held (`jira_frozen`)
                if meant and exc.status is not None and 400 <= exc.status < 500:
                    jira_notes.paid(writes, str(vendor_id))  # refused: nothing changed, nothing to say
                if jira_frozen.per_issue(exc) and self.screens.no_edit(str(vendor_id)):
                    raise jira_frozen.refused(exc, str(vendor_id), internal_id, str(desired.get("project")),
                                              self.edit_retry, writes) from None
                raise
            noted = [c for c in done if c.field != "assignee"]
            self.notes[str(vendor_id)] = edit_note(noted) if noted else None
            if noted:
                jira_notes.owe(writes, str(vendor_id), internal_id, noted, made=True)
            elif meant:
                jira_notes.paid(writes, str(vendor_id))
            if done:  # a PUT went out without the fields left out (nothing sent: no vendor write to audit)
                self.screens.audit(writes, "update", str(vendor_id), internal_id)
        elif operation == "comment" and changes[0].field == jira_notes.FIELD:  # an earlier edit's (`jira_notes`)
            jira_notes.post_owed(self, writes, str(vendor_id), internal_id, str(changes[0].after))
        elif operation == "comment":
            text = self.notes.pop(str(vendor_id), changes[0].after)  # what the edit really changed (`edit`)
            if text is None:
                return str(vendor_id), None
            self.comment(writes, str(vendor_id), internal_id, text)
            jira_notes.paid(writes, str(vendor_id))
        elif operation in ("close", "transition"):  # with the comment, or before it without a screen: jira_moves
            note = ("Closed by Project X: the control passes again." if operation == "close"
                    else "Reopened by Project X: the control fails again.")
            self.moves.move(writes, operation, str(vendor_id), internal_id, str(desired.get("project") or ""),
                            "done" if operation == "close" else "new", note, adf(note))
            self.screens.moved(str(vendor_id))  # the editmeta read before the move no longer says what it takes
        return str(vendor_id), None

    with_owed = staticmethod(jira_notes.with_owed)  # a change comment an earlier push owes, posted first

    def comment(self, writes: Writes, vendor_id: str, internal_id: str, text: str) -> None:
        writes.once(self.session, "POST", f"{API}/issue/{vendor_id}/comment", json={"body": adf(text)},
                    parse=lambda response: str(response.json()["id"]),
                    find=lambda: self.find_comment(vendor_id, text), what="new comment's id",
                    operation="comment", object_id=vendor_id, internal_id=internal_id)

    def left_out(self, internal_id: str) -> dict[str, str]:
        """The fields this run's writes of the record went without (a screen does not take them), each with why."""
        with self.screens.lock:
            return dict(self.screens.dropped.get(internal_id) or {})

    def create(self, internal_id: str, fields: dict[str, Any], writes: Writes) -> tuple[str, str | None]:
        """POST the issue, once (``Writes.once``). Refused for its assignee alone (400 naming only ``assignee``: an
        owner Jira lists yet will not assign, such as a user without Jira access), it is created unassigned, as
        for an owner Jira does not know, and said in the log; a 400 is a refusal, so nothing was made and the
        second POST cannot duplicate an issue. Without that the record waited in dead letters for ever."""
        def parse(response: Any) -> tuple[str, str | None]:
            created = response.json()
            if not created.get("id"):
                raise KeyError("id")
            return str(created["id"]), created.get("key")

        answers: list[Any] = []
        try:
            return writes.once(self.session, "POST", f"{API}/issue", json={"fields": fields}, parse=parse,
                               find=lambda: self.find_issue(internal_id), what="new issue's id", operation="create",
                               object_id=internal_id, internal_id=internal_id,
                               # JQL search is eventually consistent: not finding the issue proves nothing
                               resend_when_unseen=False, verify=lambda result: f"projectx:{internal_id}" in (
                                   (self.client.get(f"{API}/issue/{result[0]}", fields="labels").get("fields")
                                    or {}).get("labels") or []),
                               hooks={"response": [lambda r, *a, **k: answers.append(r)]})
        except VendorError as exc:
            project, itype = (fields.get("project") or {}).get("key"), (fields.get("issuetype") or {}).get("name")
            off = self.screens.refusal("create", str(project), str(itype), set(fields), exc.status,
                                       answers[-1] if answers else None, internal_id)
            if off:  # fields the create screen does not take (`jira_screens`): created without them
                return self.create(internal_id, {k: v for k, v in fields.items() if k not in off}, writes)
            if "assignee" not in fields or not refused_for_only(exc.status, answers[-1] if answers else None,
                                                                "assignee"):
                raise
        owner = self.owners.get(internal_id)
        with self.lock:
            self._accounts[owner or ""] = None  # not offered again this run: the owner's other issues go unassigned
        log.warning("Jira refused account %s as the assignee of the issue for %s (not assignable in project %s: no "
                    "Jira access, or deactivated): created unassigned", fields["assignee"].get("accountId"),
                    internal_id, (fields.get("project") or {}).get("key"))
        return self.create(internal_id, {k: v for k, v in fields.items() if k != "assignee"}, writes)

    def not_maybe_created(self, internal_id: str, writes: Writes) -> None:
        """Raise (status 409: about this record, not Jira's health) while an earlier create of this record may
        have made an issue the search does not show yet: a create answered with another issue's id, a 5xx or
        no answer, or sent by a push killed before its answer was recorded (``reverse_sync.pending_creates``),
        less than ``PROJECTX_JIRA_SEARCH_LAG_SECONDS`` ago (default 900). JQL search is eventually
        consistent (seconds to minutes), so an empty search then proves nothing and a second create could make
        a second issue; the record waits in dead letters, adopted once the search shows its issue, created
        when it still does not after that time [unc: Atlassian documents no bound on the lag]."""
        lag = self.search_lag  # 0: a create of unknown outcome is looked up, then sent again at once
        sent = writes.unsettled_create(internal_id, lag) if lag > 0 else None
        if sent is not None:
            raise VendorError(
                f"deferred: a create of the Jira issue for {internal_id} was sent at {sent:%Y-%m-%d %H:%M:%S} UTC "
                "and its outcome is unknown (answered with another issue's id, a 5xx or no answer, or the push "
                "stopped before its answer was recorded), and Jira's "
                f"search does not show an issue labelled projectx:{internal_id} yet (it lags): not created again, "
                "so no second issue is made. The next push adopts the issue once the search shows it, or creates "
                f"it if still absent {lag:.0f} s after that create (PROJECTX_JIRA_SEARCH_LAG_SECONDS)", 409)

@asset(
    key=KEY, deps=[OUTBOUND], group_name="reverse_sync", kinds={"jira", "python"},
    pool=pool("reverse_sync", "jira"), op_tags=op_tags("reverse_sync"),
    description=(
        "Remediation tasks routed to Jira, as issues kept in two-way sync (conflict policy: "
        "assets/reverse_sync/policy.py). reverse_sync.external_links maps each remediation_task_id to "
        "its issue; failed writes wait in reverse_sync.dead_letters; config dry_run plans without writing."
    ),
)
def jira_remediation_push(context: AssetExecutionContext, config: ReverseSyncConfig, jira: JiraResource,
                          warehouse: WarehouseResource) -> MaterializeResult:
    paused = paused_by_flag(context, "jira")
    if paused is not None:
        return paused
    client = jira.client()
    try:
        return run_sync(context, warehouse, JiraIssueWriter(client), table="jira_remediation_issues",
                        key="remediation_task_id", config=config)
    finally:
        client.close()


@asset_check(asset=KEY, description="No Jira remediation issue is waiting in the dead-letter table.")
def jira_remediation_no_dead_letters(warehouse: WarehouseResource) -> AssetCheckResult:
    return no_dead_letters(warehouse, "jira")
