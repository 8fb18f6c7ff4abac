"""Records -> Jira REST shapes (v2 strings / v3 ADF), following the official OpenAPI schemas.

`Renderer(store, base_url, version)` renders for one request: `base_url` is the site root the client
used (site URL or `.../ex/jira/{cloudId}`), so `self` links point back where the client came from.
Timestamps are "yyyy-MM-ddTHH:mm:ss.SSS+0000". Agile issue beans also carry sprint/closedSprints/
flagged/epic. `malformed(issue_id)` (the malformed-records fault) picks a corruption per issue.
`viewer` (the caller's accountId): a user whose profile visibility hides the e-mail address
(`User.email_visible` False) is rendered without `emailAddress`, except to that user, as Jira Cloud does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.jira import catalog as C
from sandbox.jira import custom_values, estimates
from sandbox.jira.adf import as_version
from sandbox.jira.model import Attachment, Comment, History, Issue, Sprint
from sandbox.jira.rendered import TIME_FIELDS, rendered_fields, schemas
from sandbox.jira.timefmt import format_duration, jira_ts, sprint_ts

ALL_FIELDS = ["summary", "description", "environment", "status", "issuetype", "project", "priority", "assignee",
              "reporter", "creator", "labels", "parent", "created", "updated", "lastViewed", "resolution",
              "resolutiondate", "statuscategorychangedate", "duedate", "comment", "attachment", "issuelinks",
              "subtasks", "components", "fixVersions", "versions", "watches", "votes", "timetracking", "worklog",
              *(f[0] for f in C.TIME_FIELDS), "security", C.STORY_POINTS, C.SPRINT, C.RANK]
EMBEDDED_HISTORIES = 100  # expand=changelog on an issue or a search page
NAVIGABLE = [f for f in ALL_FIELDS if f not in ("comment", "worklog")]  # [unc] exact *navigable set
_NAVIGABLE_SET = frozenset(NAVIGABLE)
AGILE_FIELDS = ("sprint", "closedSprints", "flagged", "epic")
ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def select_fields(raw: list[str] | None, default: list[str]) -> list[str]:
    """Resolve a `fields` parameter (comma lists, *all, *navigable, -exclusions) to field ids in order."""
    tokens = [t.strip() for item in (raw or []) for t in str(item).split(",") if t.strip()] or list(default)
    if all(t.startswith("-") for t in tokens):
        tokens = ["*navigable", *tokens]
    chosen: list[str] = []
    for t in tokens:
        if t in ("*all", "*navigable"):
            chosen += [f for f in (ALL_FIELDS if t == "*all" else NAVIGABLE) if f not in chosen]
        elif not t.startswith("-") and t not in chosen:
            chosen.append(t)
    excluded = {t[1:] for t in tokens if t.startswith("-")}
    return [f for f in chosen if f not in excluded]


def agile_selection(raw: list[str] | None) -> tuple[str, ...]:
    """The Agile fields (sprint, closedSprints, flagged, epic) a `fields` parameter gives an Agile issue bean:
    all of them by default, with `*all` / `*navigable` [unc] or when only exclusions are listed; otherwise only
    those named. `-sprint` style exclusions always drop."""
    tokens = [t.strip() for item in (raw or []) for t in str(item).split(",") if t.strip()]
    named = [t for t in tokens if not t.startswith("-")]
    wide = not named or "*all" in named or "*navigable" in named
    return tuple(f for f in AGILE_FIELDS if (wide or f in named) and f"-{f}" not in tokens)


class Renderer:
    def __init__(self, store: Any, base_url: str, version: str = "3",
                 malformed: Callable[[int], int | None] | None = None, viewer: str | None = None) -> None:
        self.store, self.base, self.version = store, base_url.rstrip("/"), version if version in ("2", "3") else "3"
        self.viewer = viewer  # the caller's accountId: the one user who always sees their own e-mail address
        self.api = f"{self.base}/rest/api/{self.version}"
        self.malformed = malformed or (lambda _id: None)

    # --- small objects -----------------------------------------------------------------------
    def avatars(self, kind: str, ident: str) -> dict[str, str]:
        return {f"{s}x{s}": f"{self.base}/secure/{kind}avatar?size={s}&id={ident}" for s in (48, 24, 16, 32)}

    def user(self, account_id: str | None, full: bool = False) -> dict[str, Any] | None:
        u = self.store.users.get(account_id) if account_id else None
        if u is None:
            return None
        out = {"self": f"{self.api}/user?accountId={u.account_id}", "accountId": u.account_id,
               "emailAddress": u.email, "avatarUrls": self.avatars("user", u.account_id),
               "displayName": u.display_name, "active": u.active, "timeZone": u.time_zone,
               "accountType": u.account_type}
        if not u.email_visible and u.account_id != self.viewer:  # profile visibility: the field is left out
            del out["emailAddress"]
        if full:
            out.update(locale="en_US", groups={"size": 1, "items": []}, applicationRoles={"size": 1, "items": []},
                       expand="groups,applicationRoles")
        return out

    def category(self, key: str) -> dict[str, Any]:
        cid, ckey, name, color = C.CATEGORIES[key]
        return {"self": f"{self.api}/statuscategory/{cid}", "id": cid, "key": ckey, "colorName": color, "name": name}

    def status(self, sid: str) -> dict[str, Any]:
        name, cat, desc = C.STATUSES[sid]
        return {"self": f"{self.api}/status/{sid}", "description": desc, "iconUrl": f"{self.base}/images/icons/"
                f"statuses/generic.png", "name": name, "id": sid, "statusCategory": self.category(cat)}

    def issuetype(self, tid: str) -> dict[str, Any]:
        name, level, subtask, desc = self.store.issue_types[tid]
        return {"self": f"{self.api}/issuetype/{tid}", "id": tid, "description": desc,
                "iconUrl": f"{self.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{tid}",
                "name": name, "subtask": subtask, "avatarId": 10300 + int(tid) % 100, "hierarchyLevel": level}

    def priority(self, pid: str | None) -> dict[str, Any] | None:
        if pid is None:
            return None
        return {"self": f"{self.api}/priority/{pid}", "iconUrl": f"{self.base}/images/icons/priorities/"
                f"{C.PRIORITIES[pid].lower()}.svg", "name": C.PRIORITIES[pid], "id": pid}

    def resolution(self, rid: str | None) -> dict[str, Any] | None:
        if rid is None:
            return None
        name, desc = C.RESOLUTIONS[rid]
        return {"self": f"{self.api}/resolution/{rid}", "id": rid, "description": desc, "name": name}

    def project_ref(self, key: str) -> dict[str, Any]:
        p = self.store.projects[key]
        kind = self.store.work.get("project_meta", {}).get(key, {}).get("projectTypeKey", "software")
        return {"self": f"{self.api}/project/{p.id}", "id": p.id, "key": p.key, "name": p.name,
                "projectTypeKey": kind, "simplified": p.simplified, "avatarUrls": self.avatars("project", p.id)}

    def sprint_field(self, s: Sprint) -> dict[str, Any]:
        out = {"id": s.id, "name": s.name, "state": s.state, "boardId": s.board_id, "goal": s.goal,
               "startDate": sprint_ts(s.start), "endDate": sprint_ts(s.end), "completeDate": sprint_ts(s.complete)}
        return {k: v for k, v in out.items() if v is not None}

    def sprint(self, s: Sprint) -> dict[str, Any]:
        out = {"id": s.id, "self": f"{self.base}/rest/agile/1.0/sprint/{s.id}", "state": s.state, "name": s.name,
               "startDate": sprint_ts(s.start), "endDate": sprint_ts(s.end), "completeDate": sprint_ts(s.complete),
               "createdDate": sprint_ts(s.created), "originBoardId": s.board_id, "goal": s.goal}
        return {k: v for k, v in out.items() if v is not None}

    def comment(self, c: Comment) -> dict[str, Any]:
        out = {"self": f"{self.api}/issue/{c.issue_id}/comment/{c.id}", "id": str(c.id),
               "author": self.user(c.author), "body": as_version(c.body, self.version),
               "updateAuthor": self.user(c.update_author), "created": jira_ts(c.created),
               "updated": jira_ts(c.updated), "jsdPublic": True}
        if c.visibility:
            out["visibility"] = c.visibility
        return out

    def attachment(self, a: Attachment, meta: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {"self": f"{self.api}/attachment/{a.id}", "id": a.id if meta else str(a.id),
                               "filename": a.filename, "author": self.user(a.author), "created": jira_ts(a.created),
                               "size": len(a.data), "mimeType": a.mime_type,
                               "content": f"{self.api}/attachment/content/{a.id}"}
        if a.mime_type.startswith("image/"):  # images only (`routes_media`)
            out["thumbnail"] = f"{self.api}/attachment/thumbnail/{a.id}"
        if meta:
            out["properties"] = {}
        return out

    def worklog(self, issue: Issue, w: dict[str, Any]) -> dict[str, Any]:
        out = {"self": f"{self.api}/issue/{issue.id}/worklog/{w['id']}", "author": self.user(w["author"]),
               "updateAuthor": self.user(w["update_author"]), "created": jira_ts(w["created"]),
               "updated": jira_ts(w["updated"]), "started": jira_ts(w["started"]),
               "timeSpent": format_duration(w["seconds"]), "timeSpentSeconds": w["seconds"], "id": str(w["id"]),
               "issueId": str(issue.id)}
        if w["comment"] is not None:
            out["comment"] = as_version(w["comment"], self.version)
        if w.get("visibility"):
            out["visibility"] = w["visibility"]
        return out

    def worklog_field(self, issue: Issue) -> dict[str, Any]:
        """The issue's `worklog` field: the first 20 worklogs and the total (as Jira embeds them)."""
        from sandbox.jira.routes_roles import sees  # restricted worklogs only for their group / role

        logs = [w for w in self.store.work["worklogs"].get(issue.id, ())
                if sees(self, self.viewer, issue.project, w.get("visibility"))]
        return {"startAt": 0, "maxResults": 20, "total": len(logs),
                "worklogs": [self.worklog(issue, w) for w in logs[:20]]}

    def timetracking(self, issue: Issue) -> dict[str, Any]:
        return estimates.timetracking(issue, sum(w["seconds"] for w in self.store.work["worklogs"].get(issue.id, ())))

    def watches(self, issue: Issue) -> dict[str, Any]:
        people = self.store.work["watchers"].get(issue.id)
        if people is None:
            people = [issue.reporter] if issue.reporter else []
        return {"self": f"{self.api}/issue/{issue.key}/watchers", "watchCount": len(people),
                "isWatching": (self.viewer or self.store.me.account_id) in people}  # the caller's own

    def components(self, ids: tuple[int, ...]) -> list[dict[str, Any]]:
        """The issue's `components` field: `{"self","id","name"[,"description"]}` per component."""
        out = []
        for ident in ids:
            comp = self.store.work["components"].get(ident)
            if comp is not None:
                bean = {"self": f"{self.api}/component/{ident}", "id": str(ident), "name": comp["name"]}
                if comp.get("description"):
                    bean["description"] = comp["description"]
                out.append(bean)
        return out

    def versions(self, ids: tuple[int, ...]) -> list[dict[str, Any]]:
        """The issue's `fixVersions`/`versions` field: version beans without the project id."""
        out = []
        for ident in ids:
            v = self.store.work["versions"].get(ident)
            if v is not None:
                bean = {"self": f"{self.api}/version/{ident}", "id": str(ident), "name": v["name"],
                        "archived": bool(v.get("archived")), "released": bool(v.get("released"))}
                for name in ("description", "releaseDate"):
                    if v.get(name):
                        bean[name] = v[name]
                out.append(bean)
        return out

    def votes(self, issue: Issue) -> dict[str, Any]:
        people = self.store.work.get("votes", {}).get(issue.id, ())
        return {"self": f"{self.api}/issue/{issue.key}/votes", "votes": len(people),
                "hasVoted": (self.viewer or self.store.me.account_id) in people}  # the caller's own

    def history(self, h: History) -> dict[str, Any]:
        out = {"id": str(h.id), "author": self.user(h.author), "created": jira_ts(h.created), "items": h.items}
        if h.metadata:
            out["historyMetadata"] = h.metadata
        return out

    def issue_ref(self, issue: Issue) -> dict[str, Any]:
        return {"id": str(issue.id), "key": issue.key, "self": f"{self.api}/issue/{issue.id}",
                "fields": {"summary": issue.summary, "status": self.status(issue.status_id),
                           "priority": self.priority(issue.priority_id), "issuetype": self.issuetype(issue.type_id)}}

    def link(self, lk: Any, issue_id: int) -> dict[str, Any] | None:
        name, inward, outward = self.store.link_types[lk.type_id]
        other_id, side = (lk.outward_id, "outwardIssue") if lk.inward_id == issue_id else (lk.inward_id, "inwardIssue")
        other = self.store.issues.get(other_id)
        if other is None:
            return None
        return {"id": str(lk.id), "self": f"{self.api}/issueLink/{lk.id}",
                "type": {"id": lk.type_id, "name": name, "inward": inward, "outward": outward,
                         "self": f"{self.api}/issueLinkType/{lk.type_id}"}, side: self.issue_ref(other)}

    # --- the issue bean ----------------------------------------------------------------------------
    def field_value(self, issue: Issue, f: str) -> Any:
        s = self.store
        simple: dict[str, Callable[[], Any]] = {
            "summary": lambda: issue.summary, "description": lambda: as_version(issue.description, self.version),
            "environment": lambda: as_version(issue.environment, self.version),
            "status": lambda: self.status(issue.status_id),
            "issuetype": lambda: self.issuetype(issue.type_id), "project": lambda: self.project_ref(issue.project),
            "priority": lambda: self.priority(issue.priority_id), "assignee": lambda: self.user(issue.assignee),
            "reporter": lambda: self.user(issue.reporter), "creator": lambda: self.user(issue.creator),
            "labels": lambda: list(issue.labels), "created": lambda: jira_ts(issue.created),
            "updated": lambda: jira_ts(issue.updated), "lastViewed": lambda: None,
            "resolution": lambda: self.resolution(issue.resolution_id),
            "resolutiondate": lambda: jira_ts(issue.resolved),
            "statuscategorychangedate": lambda: jira_ts(issue.status_changed), "duedate": lambda: issue.duedate,
            "components": lambda: self.components(issue.components),
            "fixVersions": lambda: self.versions(issue.fix_versions),
            "versions": lambda: self.versions(issue.versions),
            "watches": lambda: self.watches(issue),
            "votes": lambda: self.votes(issue),
            "timetracking": lambda: self.timetracking(issue), "worklog": lambda: self.worklog_field(issue),
            C.STORY_POINTS: lambda: issue.points, C.RANK: lambda: issue.rank,
            C.SPRINT: lambda: [self.sprint_field(s.sprints[x]) for x in issue.sprints] or None,
        }
        if f in simple:
            return simple[f]()
        if f in TIME_FIELDS or f == "security":  # worklogs and estimates; no security levels are kept
            return estimates.value(issue, f, sum(w["seconds"] for w in s.work["worklogs"].get(issue.id, ())))
        if f == "comment":
            from sandbox.jira.routes_roles import sees  # restricted comments only for their group / role

            comments = [c for c in s.comments_of(issue) if sees(self, self.viewer, issue.project, c.visibility)]
            return {"comments": [self.comment(c) for c in comments], "self": f"{self.api}/issue/{issue.id}/comment",
                    "maxResults": len(comments), "total": len(comments), "startAt": 0}
        if f == "attachment":
            return [self.attachment(a) for a in s.attachments_of(issue)]
        if f == "issuelinks":
            return [x for x in (self.link(lk, issue.id) for lk in s.links_of(issue.id)) if x]
        if f == "subtasks":
            kids = [s.issues[k] for k in sorted(s.children.get(issue.id, ())) if k in s.issues]
            return [self.issue_ref(k) for k in kids if k.type_id == C.SUBTASK]
        raise KeyError(f)

    def issue(self, issue: Issue, fields: list[str], expand: str = "",
              agile: bool | tuple[str, ...] = False) -> dict[str, Any]:
        """`agile`: True for every Agile field, or the tuple of those to add (see `agile_selection`)."""
        out: dict[str, Any] = {"expand": ISSUE_EXPAND, "id": str(issue.id), "self": f"{self.api}/issue/{issue.id}",
                               "key": issue.key}
        versioned = "versionedRepresentations" in expand.split(",")
        if versioned:  # Jira: "the fields parameter is ignored", every field comes back versioned instead
            fields = ALL_FIELDS
        values: dict[str, Any] = {}
        for f in fields:
            if f == "parent":
                parent = self.store.issues.get(issue.parent_id) if issue.parent_id else None
                if parent is not None:
                    values["parent"] = self.issue_ref(parent)
            elif f in ALL_FIELDS:
                values[f] = self.field_value(issue, f)
            elif custom_values.created(self.store, f) is not None:
                values[f] = custom_values.render(self, f, dict(issue.custom).get(f))
        if len(fields) >= len(NAVIGABLE) and _NAVIGABLE_SET.issubset(fields):  # *all / *navigable: made fields too
            for f in custom_values.created_ids(self.store):
                values.setdefault(f, custom_values.render(self, f, dict(issue.custom).get(f)))
        wanted = AGILE_FIELDS if agile is True else (agile or ())
        if wanted:
            sprints = [self.store.sprints[x] for x in issue.sprints]
            current = next((x for x in reversed(sprints) if x.state != "closed"), None)
            parent = self.store.issues.get(issue.parent_id) if issue.parent_id else None
            made = {"sprint": lambda: self.sprint(current) if current else None,
                    "closedSprints": lambda: [self.sprint(x) for x in sprints if x.state == "closed"],
                    "flagged": lambda: False,
                    "epic": lambda: self.epic(parent) if parent is not None and parent.type_id == C.EPIC else None}
            for f in AGILE_FIELDS:
                if f in wanted:
                    values[f] = made[f]()
        if versioned:  # {"summary": {"1": ...}}: one representation per field here [unc: v2+ of rich fields]
            out["versionedRepresentations"] = {f: {"1": v} for f, v in values.items()}
        else:
            out["fields"] = values
        if "changelog" in expand.split(","):
            # Jira Cloud embeds only the 100 most recent histories; `total` counts them all, and the rest are read
            # from GET /issue/{key}/changelog. Kept oldest first, startAt 0 [unc: the order and startAt of a cut list]
            hist = self.store.history_of(issue)
            shown = hist[-EMBEDDED_HISTORIES:]
            out["changelog"] = {"startAt": 0, "maxResults": len(shown), "total": len(hist),
                                "histories": [self.history(h) for h in shown]}
        if "names" in expand.split(","):
            out["names"] = field_names(list(values), self.store)
        if "renderedFields" in expand.split(","):
            out["renderedFields"] = rendered_fields(issue, values)
        if "schema" in expand.split(","):
            out["schema"] = schemas(list(values))
        variant = self.malformed(issue.id)
        if variant is not None:
            corrupt(out, variant)
        return out

    def epic(self, e: Issue) -> dict[str, Any]:
        meta = self.store.work.get("epic_meta", {}).get(e.id, {})  # set by POST /epic/{id} (`routes_agile_epic`)
        return {"id": e.id, "key": e.key, "self": f"{self.base}/rest/agile/1.0/epic/{e.id}",
                "name": meta.get("name", e.summary), "summary": e.summary,
                "color": {"key": meta.get("color", f"color_{e.id % 9 + 1}")},
                "done": meta.get("done", C.STATUSES[e.status_id][1] == "done")}


def field_names(ids: list[str], store: Any = None) -> dict[str, str]:
    """Display names of field ids (API-made custom fields too when `store` is given)."""
    names = {f[0]: f[1] for f in C.system_fields() + C.custom_fields()}
    for fid in custom_values.created_ids(store) if store is not None else []:
        names[fid] = (custom_values.created(store, fid) or {}).get("name", fid)
    return {i: names.get(i, i) for i in ids}


def corrupt(bean: dict[str, Any], variant: int) -> None:
    """The malformed-records fault: schema-breaking values a robust connector must survive."""
    fields = bean.setdefault("fields", {})
    if variant == 0:
        fields["updated"] = "2026-13-45T25:61:00.000+0000"
    elif variant == 1:
        fields["summary"] = None
        fields["status"] = None
    elif variant == 2:
        fields[C.STORY_POINTS] = "five"
    else:
        bean["id"] = None
