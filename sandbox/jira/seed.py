"""Deterministic seeded Jira site: users, projects, boards, sprints, issues, links.

`generate(seed, size, anchor_ms, user_time_zone)` builds `size` issues (10 .. 200,000+ in seconds) spread
over the 365 days before the anchor. Shape: ~4% epics with `parent` children, sprints per board
(closed/active/future), story points on most stories/tasks/bugs, statuses across the three
categories, `control:XX-N` labels on many SEC/GRC issues, and bursts of issues sharing the same
`updated` minute (half of them the very same millisecond, as a bulk edit leaves them).
Comments, changelogs and attachments are derived per issue on demand (see `extras`).
"""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass, field

from sandbox.jira import catalog as C
from sandbox.jira.model import Board, Issue, Link, Project, Sprint, User
from sandbox.jira.timefmt import date_only

DAY = 86_400_000
SPRINT_DAYS = 14


@dataclass
class Dataset:
    users: list[User]
    me: User
    projects: dict[str, Project]
    boards: dict[int, Board]
    sprints: dict[int, Sprint]
    issues: list[Issue]
    links: list[Link] = field(default_factory=list)


def account_id(seed: int, i: int) -> str:
    """24-hex account ids, like Atlassian's "5b10ac8d82e05b22cc7d4ef5"."""
    return hashlib.blake2b(f"acct:{seed}:{i}".encode(), digest_size=12).hexdigest()


def _users(seed: int, user_tz: str) -> list[User]:
    rng = random.Random(seed * 7 + 1)
    me = User(account_id(seed, 0), "Sandbox Admin", "sandbox.admin@example.com", user_tz)
    users = [me]
    for i in range(1, 25):
        first, last = C.FIRST[(i * 7) % len(C.FIRST)], C.LAST[(i * 11 + 3) % len(C.LAST)]
        email = f"{first.lower()}.{last.lower()}@example.com"
        n = 2
        while any(u.email == email for u in users):  # a namesake: Atlassian accounts never share an email
            email, n = f"{first.lower()}.{last.lower()}{n}@example.com", n + 1
        users.append(User(account_id(seed, i), f"{first} {last}", email, rng.choice(C.TIME_ZONES), active=i % 13 != 0))
    return users


def _sprints(board: Board, count: int, anchor: int, first_id: int) -> list[Sprint]:
    """`count` two-week sprints: closed ..., one active (around the anchor), two future."""
    active_start = anchor - 7 * DAY
    out = []
    for n in range(count):
        offset = n - (count - 3)  # -k .. 0 (active) .. +2
        start = active_start + offset * SPRINT_DAYS * DAY
        state = "closed" if offset < 0 else ("active" if offset == 0 else "future")
        sid = first_id + n
        out.append(Sprint(
            id=sid, board_id=board.id, name=f"{board.project} Sprint {n + 1}", state=state,
            start=start if state != "future" else None, end=start + SPRINT_DAYS * DAY if state != "future" else None,
            complete=start + SPRINT_DAYS * DAY + 3_600_000 if state == "closed" else None,
            created=start - 2 * DAY, goal=f"Sprint {n + 1} goal for {board.project}"))
    return out


def generate(seed: int, size: int, anchor_ms: int, user_tz: str) -> Dataset:
    rng = random.Random(seed)
    rnd = rng.random

    def choice(seq):  # faster than Random.choice, still seeded and deterministic
        return seq[int(rnd() * len(seq))]

    users = _users(seed, user_tz)
    projects = {k: Project(k, pid, name, desc, simple, users[1 + i].account_id)
                for i, (k, (pid, name, desc, simple)) in enumerate(C.PROJECTS.items())}
    keys = list(C.PROJECT_WEIGHTS)
    weights = list(C.PROJECT_WEIGHTS.values())
    assigned = [keys[i % len(keys)] for i in range(min(size, len(keys)))]
    assigned += rng.choices(keys, weights, k=max(0, size - len(keys)))
    created = sorted(anchor_ms - int(rnd() * 365 * DAY) - 60_000 for _ in range(size))

    boards: dict[int, Board] = {}
    sprints: dict[int, Sprint] = {}
    project_sprints: dict[str, list[Sprint]] = {}
    for b, key in enumerate(keys, start=1):
        board = boards.setdefault(b, Board(b, f"{key} board", "scrum", key))
        count = max(6, min(100, assigned.count(key) // 25 + 4))
        made = _sprints(board, count, anchor_ms, len(sprints) + 1)
        project_sprints[key] = made
        sprints.update((s.id, s) for s in made)
    starts = {k: [s.start if s.start is not None else anchor_ms + DAY * 365 for s in v]
              for k, v in project_sprints.items()}

    bursts = [anchor_ms - int(rnd() * 300 * DAY) // 60_000 * 60_000 for _ in range(max(4, size // 400))]
    people = [u.account_id for u in users]
    nums = dict.fromkeys(keys, 0)
    epics: dict[str, list[int]] = {k: [] for k in keys}
    issues: list[Issue] = []
    prio_table = ["1"] * 5 + ["2"] * 20 + ["3"] * 50 + ["4"] * 15 + ["5"] * 10
    work_types = (C.STORY, C.STORY, C.TASK, C.TASK, C.BUG)
    ctl = [f"control:{c}" for c in C.CONTROLS]
    control_combos = [(a,) for a in ctl] * 3 + [(a, b) for a in ctl for b in ctl if a < b]
    label_combos = [(a,) for a in C.LABELS] * 3 + [(a, b) for a in C.LABELS for b in C.LABELS if a < b]
    assignees = people[1:]
    points_table = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
    for i in range(size):
        proj = assigned[i]
        nums[proj] += 1
        iid = 10000 + i
        c = created[i]
        want_epic = not epics[proj] or rnd() < 0.04
        type_id = C.EPIC if want_epic else choice(work_types)
        age = anchor_ms - c
        if rnd() < 0.35 and (burst := choice(bursts)) > c:
            updated = burst if rnd() < 0.5 else burst + int(rnd() * 59_999)
        else:
            updated = c + int((1 - rnd() ** 2) * age)
        sprint_ids: tuple[int, ...] = ()
        state = "backlog"
        if type_id != C.EPIC and rnd() < 0.75:
            plist = project_sprints[proj]
            pos = max(0, bisect.bisect_right(starts[proj], c) - 1)
            if rnd() < 0.15 and pos + 1 < len(plist):
                pos += 1
            sprint = plist[pos]
            sprint_ids, state = (sprint.id,), sprint.state
            if state == "closed" and rnd() < 0.1 and pos + 1 < len(plist):
                sprint_ids, state = (sprint.id, plist[pos + 1].id), plist[pos + 1].state
        r = rnd()
        if state == "closed":
            status = C.DONE_STATUS
        elif state == "active":
            status = C.TODO_STATUS if r < 0.3 else "3" if r < 0.6 else "10001" if r < 0.75 else C.DONE_STATUS
        elif state == "future":
            status = C.TODO_STATUS
        else:
            done_p = 0.6 if age > 120 * DAY else 0.2
            status = C.DONE_STATUS if r < done_p else "3" if r < done_p + 0.1 else C.TODO_STATUS
        done = status == C.DONE_STATUS
        resolved = max(c, updated - int(rnd() * 7_200_000)) if done else None
        changed = resolved if done else (c if status == C.TODO_STATUS else c + (updated - c) // 2)
        controls = choice(control_combos) if rnd() < (0.45 if proj in ("SEC", "GRC") else 0.1) else ()
        labels = controls + choice(label_combos) if rnd() < 0.5 else controls
        system = choice(C.SYSTEMS)
        if type_id == C.EPIC:
            summary = f"{choice(C.EPIC_THEMES)}: {system}"
            epics[proj].append(iid)
            parent = None
        else:
            summary = f"{choice(C.VERBS[proj])} {system}"
            if controls:
                summary += f" ({controls[0][8:]})"
            parent = choice(epics[proj]) if rnd() < 0.6 else None
        desc = None if rnd() < 0.15 else (
            f"{summary}.\n\nAcceptance criteria: evidence attached, owner sign-off recorded, ticket linked to "
            f"{system} change record.")
        points = choice(points_table) if type_id != C.EPIC and rnd() < 0.75 else None
        reporter = choice(people)
        # positional (fast): id, key, project, num, type, status, summary, description, priority, assignee,
        # reporter, creator, labels, parent, points, sprints, created, updated, resolution, resolved,
        # status_changed, duedate, rank
        issues.append(Issue(
            iid, f"{proj}-{nums[proj]}", proj, nums[proj], type_id, status, summary, desc, choice(prio_table),
            choice(assignees) if rnd() < 0.85 else None, reporter, reporter, labels, parent, points, sprint_ids, c,
            updated, ("10001" if rnd() < 0.05 else "10000") if done else None, resolved, changed,
            None if rnd() < 0.8 else date_only(c + int(rnd() * 60) * DAY), f"0|i{i:05x}:"))
    links = []
    for iss in issues:
        if rnd() < 0.03 and iss.id > 10000:
            other = issues[int(rnd() * (iss.id - 10000))]
            if other.project == iss.project:
                links.append(Link(10000 + len(links), choice(("10000", "10003")), iss.id, other.id))
    return Dataset(users, users[0], projects, boards, sprints, issues, links)

