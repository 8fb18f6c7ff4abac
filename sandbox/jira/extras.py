"""Per-issue seeded extras, derived on demand from (seed, issue id): comments, changelog, attachment.

Deriving them lazily keeps a 200,000-issue site cheap to build. Ids are reserved per issue so they
never collide with ids the store hands out for new objects (those start at `FIRST_NEW_ID`).
A seeded issue's changelog walks its status from "To Do" to the current status and always ends with
an entry at the issue's `updated` time.
"""

from __future__ import annotations

import random

from sandbox.jira import catalog as C
from sandbox.jira.model import Attachment, Comment, History, Issue

FIRST_NEW_ID = 50_000_000
_COMMENTS = ["Picked this up, will update by end of week.", "Evidence uploaded to the audit folder.",
             "Blocked on access to the production account; escalated to the platform team.",
             "Reviewed with the control owner, looks good.", "Re-opened: the screenshot is missing the timestamp.",
             "Linked the change record. Waiting for CAB approval.", "Done in staging, production rollout tomorrow."]
_PATH = {C.TODO_STATUS: [], "3": ["3"], "10001": ["3", "10001"], C.DONE_STATUS: ["3", "10001", C.DONE_STATUS]}


def _rng(seed: int, issue_id: int, salt: int) -> random.Random:
    return random.Random(seed * 1_000_003 + issue_id * 7 + salt)


def comments(seed: int, issue: Issue, people: list[str]) -> list[Comment]:
    rng = _rng(seed, issue.id, 1)
    count = rng.choice((0, 0, 1, 1, 2, 3, 4))
    out = []
    span = max(1, issue.updated - issue.created)
    times = sorted(issue.created + int(rng.random() * span) for _ in range(count))
    base = 100_000 + (issue.id - 10000) * 5
    for j, t in enumerate(times):
        author = rng.choice(people)
        out.append(Comment(base + j, issue.id, author, rng.choice(_COMMENTS), t, t, author))
    return out


def changelog(seed: int, issue: Issue, people: list[str]) -> list[History]:
    rng = _rng(seed, issue.id, 2)
    base = 2_000_000 + (issue.id - 10000) * 8
    steps = _PATH.get(issue.status_id, [])
    span = max(1, issue.updated - issue.created)
    times = sorted(issue.created + int(rng.random() * span) for _ in steps)
    out = []
    prev = C.TODO_STATUS
    for j, (target, t) in enumerate(zip(steps, times, strict=True)):
        out.append(History(base + j, rng.choice(people), t, [_status_item(prev, target)]))
        prev = target
    if issue.status_id == C.DONE_STATUS and issue.resolution_id:
        out[-1].items.append({"field": "resolution", "fieldtype": "jira", "fieldId": "resolution", "from": None,
                              "fromString": None, "to": issue.resolution_id,
                              "toString": C.RESOLUTIONS[issue.resolution_id][0]})
    if out:
        out[-1].created = issue.updated
    elif issue.updated > issue.created:
        out.append(History(base + 7, rng.choice(people), issue.updated, [
            {"field": "Rank", "fieldtype": "custom", "fieldId": C.RANK, "from": "", "fromString": "",
             "to": "", "toString": "Ranked higher"}]))
    return out


def _status_item(old: str, new: str) -> dict[str, object]:
    return {"field": "status", "fieldtype": "jira", "fieldId": "status", "from": old,
            "fromString": C.STATUSES[old][0], "to": new, "toString": C.STATUSES[new][0]}


def attachments(seed: int, issue: Issue, people: list[str]) -> list[Attachment]:
    rng = _rng(seed, issue.id, 3)
    if rng.random() >= 0.06:
        return []
    rows = [f"{issue.key},{c},{'pass' if rng.random() < 0.8 else 'fail'},{rng.randrange(10**6)}"
            for c in rng.sample(C.CONTROLS, 4)]
    data = ("issue,control,result,sample\n" + "\n".join(rows) + "\n").encode()
    t = issue.created + int(rng.random() * max(1, issue.updated - issue.created))
    return [Attachment(issue.id, issue.id, f"evidence-{issue.key}.csv", "text/csv", t,
                       rng.choice(people), data)]


def attachment_owner(attachment_id: int) -> int | None:
    """Issue id of a seeded attachment id (None if the id is not in the seeded range)."""
    return attachment_id if 10000 <= attachment_id < FIRST_NEW_ID else None
