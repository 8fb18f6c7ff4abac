"""Deterministic seeded ServiceNow dataset: users, groups, CIs and the task tables.

Grain: `generate(seed, size)` returns every table's rows (tuples in schema field order). `size` is the
number of incidents; other tables scale from it (users size/20, groups size/400, CIs size/4,
changes size/5, requests and catalog tasks size/10, attachments on size/10 incidents, with floors
and caps). Timestamps are UTC strings spread over the 180 days before the anchor; about 45% of
`sys_updated_on` values are snapped onto shared "bulk job" seconds, so many records tie on one second.
Generation is column-wise (random.choices over pools, shared string objects) to reach 10^6 rows fast.
"""

from __future__ import annotations

import gc
from bisect import bisect_left
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from random import Random
from typing import Any

from sandbox.servicenow import pools
from sandbox.servicenow.reference_data import department_of
from sandbox.servicenow.schema import SCHEMAS
from sandbox.servicenow.well_known import add_demo_admin_grants, add_well_known

WINDOW_DAYS = 180
_TOD: list[str] = []


@dataclass
class Dataset:
    """Generated rows per table, attachment bytes by sys_id, and the next number per task table."""

    rows: dict[str, list[tuple[str, ...]]]
    files: dict[str, bytes] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)


class Gen:
    """Shared generation helpers: per-table RNGs, sys_ids, time formatting, tie-heavy update times."""

    def __init__(self, seed: int, anchor: datetime) -> None:
        self.seed = seed
        self.end = int(anchor.timestamp())
        self.start = self.end - WINDOW_DAYS * 86400
        first, last = self.start // 86400 - 1, self.end // 86400 + 31
        self._days = {d: datetime.fromtimestamp(d * 86400, UTC).strftime("%Y-%m-%d ") for d in range(first, last)}
        if not _TOD:
            _TOD.extend(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))

    def rng(self, name: str) -> Random:
        return Random(f"{self.seed}:{name}")

    @staticmethod
    def sys_ids(rng: Random, n: int) -> list[str]:
        return [f"{x:032x}" for x in map(rng.getrandbits, repeat(128, n))]

    def fmt(self, t: int) -> str:
        """Epoch seconds -> "YYYY-MM-DD HH:MM:SS" (UTC)."""
        day, sec = divmod(t, 86400)
        prefix = self._days.get(day)
        if prefix is None:
            prefix = self._days[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
        return prefix + _TOD[sec]

    def fmts(self, times: list[int]) -> list[str]:
        days, tod = self._days, _TOD
        try:
            return [days[t // 86400] + tod[t % 86400] for t in times]
        except KeyError:  # a moment outside the precomputed window
            return [self.fmt(t) for t in times]

    def times(self, rng: Random, n: int) -> list[int]:
        """n creation moments uniform over the window."""
        start, span, rnd = self.start, self.end - self.start - 1, rng.random
        return [start + int(rnd() * span) for _ in range(n)]

    def updated_after(self, rng: Random, base: list[int]) -> list[int]:
        """sys_updated_on after each `base` moment; ~40% land on one of few shared bulk-job seconds.

        Plus ~5% on one "mass update" second two days before the anchor: every table has seconds
        shared by many records, the tie hazard of sys_updated_on watermarks.
        """
        k = max(3, len(base) // 150)
        pool = sorted(self.start + int(rng.random() * (self.end - self.start)) for _ in range(k))
        mass = self.end - 2 * 86400 - 5 * 3600
        out, rnd, last = [], rng.random, self.end - 1
        for b in base:
            r = rnd()
            if r < 0.05 and b <= mass:
                out.append(mass)
                continue
            if r < 0.45:
                i = bisect_left(pool, b)
                if i < k:
                    out.append(pool[min(k - 1, i + int(r * 6))])
                    continue
            t = b + int(rnd() * rnd() * 7 * 86400)
            out.append(t if t < last else last)
        return out


def to_rows(table: str, columns: dict[str, Any], n: int) -> list[tuple[str, ...]]:
    """Columns (lists, or one string for a constant column) -> tuples in schema field order."""
    cols = []
    for name in SCHEMAS[table].names:
        col = columns.get(name, "")
        cols.append(repeat(col, n) if isinstance(col, str) else col)
    return list(zip(*cols, strict=False))


def sys_columns(g: Gen, rng: Random, table: str, created: list[int], people: list[str]) -> dict[str, Any]:
    """sys_* columns: created/updated moments, authors, mod counts, class and domain."""
    n = len(created)
    updated = g.updated_after(rng, created)
    mods = rng.choices(("1", "2", "3", "4", "6", "9", "14"), k=n)
    return {
        "sys_class_name": table, "sys_domain": "global", "sys_tags": "",
        "sys_created_on": g.fmts(created), "sys_updated_on": g.fmts(updated),
        "sys_created_by": rng.choices(people, k=n), "sys_updated_by": rng.choices(people, k=n),
        "sys_mod_count": [m if u != c else "0" for m, u, c in zip(mods, updated, created, strict=True)],
    }


def users(g: Gen, n: int, integration_user: str) -> tuple[list[tuple[str, ...]], list[str], list[str]]:
    rng = g.rng("sys_user")
    ids = g.sys_ids(rng, n + 1)
    first, last = rng.choices(pools.FIRST_NAMES, k=n), rng.choices(pools.LAST_NAMES, k=n)
    seen: dict[str, int] = {}
    logins = []
    for f, la in zip(first, last, strict=True):
        base = f"{f}.{la}".lower()
        seen[base] = seen.get(base, 0) + 1
        logins.append(base if seen[base] == 1 else f"{base}{seen[base]}")
    first.append("Integration")
    last.append("User")
    logins.append(integration_user)
    created = g.times(rng, n + 1)
    titles = rng.choices(pools.TITLES, k=n + 1)  # drawn where the dict below drew it: the sequence stays
    cols = {
        "sys_id": ids, "user_name": logins, "first_name": first, "last_name": last,
        "name": [f"{f} {la}" for f, la in zip(first, last, strict=True)],
        "email": [f"{u}@example.com" for u in logins],
        "title": titles,
        "department": [*(department_of(t) for t in titles[:n]), ""],  # no draw: the seed's sequence stays
        "manager": ["" if i < 5 else ids[rng.randrange(i)] for i in range(n + 1)],
        "active": rng.choices(("true", "false"), (95, 5), k=n + 1), "locked_out": "false",
        # the integration user's display values are in GMT (`dates`, `render`), as its profile says
        "time_zone": [*rng.choices(pools.TIME_ZONES, k=n + 1)[:n], "GMT"],
        "phone": [f"+1 555 {rng.randrange(10000):04d}" for _ in range(n + 1)],
        "mobile_phone": "", "employee_number": [f"E{100000 + i}" for i in range(n + 1)],
        **sys_columns(g, rng, "sys_user", created, ["admin", "system"]),
    }
    return to_rows("sys_user", cols, n + 1), ids, logins


def groups(g: Gen, n: int, user_ids: list[str], people: list[str]) -> tuple[list[tuple[str, ...]], list[str]]:
    rng = g.rng("sys_user_group")
    ids = g.sys_ids(rng, n)
    names, descriptions = [], []
    for i in range(n):
        name, desc = pools.GROUPS[i % len(pools.GROUPS)]
        cycle = i // len(pools.GROUPS)
        if cycle:
            region = pools.REGIONS[(cycle - 1) % len(pools.REGIONS)]
            name += f" - {region}" + (f" {(cycle - 1) // len(pools.REGIONS) + 1}" if cycle > 4 else "")
        names.append(name)
        descriptions.append(desc)
    cols = {
        "sys_id": ids, "name": names, "description": descriptions,
        "manager": rng.choices(user_ids, k=n),
        "email": [f"{x.lower().replace(' ', '-')}@example.com" for x in names],
        "type": "itil", "active": "true", "parent": "",
        **sys_columns(g, rng, "sys_user_group", g.times(rng, n), people),
    }
    return to_rows("sys_user_group", cols, n), ids


def cmdb_cis(g: Gen, n: int, user_ids: list[str], group_ids: list[str],
             people: list[str]) -> tuple[list[tuple[str, ...]], list[str], list[str]]:
    """Configuration items; ~12% deliberately have no owner (owned_by "")."""
    rng = g.rng("cmdb_ci")
    ids = g.sys_ids(rng, n)
    classes = rng.choices(pools.CI_CLASSES, k=n)
    roles = rng.choices(pools.CI_ROLES, k=n)
    names = [f"{c[1]}-{r}-{i:05d}" for i, (c, r) in enumerate(zip(classes, roles, strict=True))]
    maybe = [*user_ids[:200], *[""] * 30]

    def people_or_blank(blank_pct: int) -> list[str]:
        return [rng.choice(user_ids) if rng.random() * 100 >= blank_pct else "" for _ in range(n)]

    created = g.times(rng, n)
    cols = {
        "sys_id": ids, "name": names, "short_description": [f"{r} {c[0][8:]}" for c, r in zip(classes, roles,
                                                                                               strict=True)],
        "serial_number": [f"SN{x:010X}" for x in map(rng.getrandbits, repeat(40, n))],
        "asset_tag": [f"P{1000000 + i}" for i in range(n)],
        "operational_status": rng.choices(("1", "2", "3", "5", "6"), (85, 4, 3, 5, 3), k=n),
        "install_status": rng.choices(("1", "6", "7"), (90, 5, 5), k=n),
        "ip_address": [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(n)],
        "fqdn": [f"{x}.corp.example.com" for x in names], "manufacturer": "", "model_id": "", "location": "",
        "support_group": rng.choices(group_ids, k=n), "assigned_to": rng.choices(maybe, k=n),
        "managed_by": people_or_blank(8), "owned_by": people_or_blank(12),
        "environment": rng.choices(pools.ENVIRONMENTS, k=n),
        "category": [c[2] for c in classes], "subcategory": [c[3] for c in classes],
        "discovery_source": rng.choices(pools.DISCOVERY, k=n),
        "last_discovered": g.fmts(g.updated_after(rng, created)),
        **sys_columns(g, rng, "cmdb_ci", created, people),
    }
    cols["sys_class_name"] = [c[0] for c in classes]
    return to_rows("cmdb_ci", cols, n), ids, names


def generate(seed: int = 42, size: int = 200, anchor: datetime | None = None,
             integration_user: str = "integration.user") -> Dataset:
    """Build the whole instance. Deterministic for (seed, size, anchor)."""
    from sandbox.servicenow import data_access, data_itsm, data_platform, data_tasks  # local: they import this module

    anchor = anchor or datetime(2026, 11, 1, tzinfo=UTC)
    g = Gen(seed, anchor)
    was_enabled = gc.isenabled()
    gc.disable()  # millions of fresh tuples would trigger many useless GC passes
    try:
        user_rows, user_ids, logins = users(g, max(50, min(size // 20, 50_000)), integration_user)
        people = [*logins[:300], "admin", "system"]
        group_rows, group_ids = groups(g, max(15, min(size // 400, 500)), user_ids, people)
        ci_rows, ci_ids, _ = cmdb_cis(g, max(40, min(size // 4, 250_000)), user_ids, group_ids, people)
        refs = data_tasks.Refs(user_ids, group_ids, ci_ids, people)
        ds = Dataset(rows={"sys_user": user_rows, "sys_user_group": group_rows, "cmdb_ci": ci_rows})
        data_tasks.add_task_tables(g, ds, size, refs)
        data_itsm.add_itsm_tables(g, ds, size, people)
        data_access.add_access_tables(g, ds, people)
        add_well_known(ds.rows)  # after every draw: admin and the demo Finance head move no seeded row
        data_itsm.add_more_problems(g, ds, people)  # own streams, after the rest: no seeded row moves
        data_platform.add_platform_tables(g, ds)
        add_demo_admin_grants(ds.rows)  # round 25: last, so no row before them moves
    finally:
        if was_enabled:
            gc.enable()
    return ds
