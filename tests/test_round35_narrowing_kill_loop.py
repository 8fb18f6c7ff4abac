"""Round 35: the unreadable-page narrowing paths crash-looped: killed (SIGKILL) at seeded-random points, restarted until
a run completes, the warehouse ends with exactly the rows and quarantine rows of an uninterrupted run.

Paths: Jira's narrowing of a search page that fails on every attempt (:mod:`pipelines.jira.unreadable`: the
keys-only re-read, ``id in (...)`` halves, the quarantine and the re-read by id of the next runs); OneTrust's
narrowing of a listing page by the size the tenant serves (:mod:`pipelines.onetrust.unreadable`,
``helpers._served_size``: risks asked 100 a page, served 50) and of the vendor listing, the slots it sets aside
(the pass unstable: the cursor stays).

Kills land (seeded) at the k-th narrowing read (the sandbox kills the sync while that request is in flight), the
k-th request of any kind, or a named point of dlt's work (tests/crash_points_shim.py: before normalize, mid-load,
after the load commit, after ``pipeline.run``). Then the vendor serves the records again: one more run must load
them in both warehouses (nothing hidden behind a cursor moved past it).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from sandbox.core.http import Response
from tests.conftest import fresh_duckdb, jira_env, onetrust_env
from tests.ingestion_harness import JIRA_ISSUES, OT_RISKS, OT_VENDORS, ROOT, assert_parity

pytestmark = pytest.mark.slow  # about 2-3 min for the file

KILLS = 6  # per test: three tests of ten kills took over 5 min on a loaded 2-core machine
KILL_POINTS = ("before_normalize", "mid_load", "after_load", "after_run")

# The sync as the runner does it (pipelines.common.runner.run_source: recovery, the warehouse copy, the ledgers),
# with small pages and fast retries; armed by PROJECTX_TEST_KILL_AT like tests/crash_points_shim.py.
RUNNER = """
import os, sys
vendor = sys.argv[1]
if os.environ.get("PROJECTX_TEST_KILL_AT"):
    from tests.crash_points_shim import _arm
    _arm(os.environ["PROJECTX_TEST_KILL_AT"])
from pipelines.common.http import RetryPolicy
from pipelines.common.runner import run_source
fast = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05, max_attempts=3)
if os.environ.get("TEST_JIRA_PAGE_BUDGET"):  # the narrowing's time budget spent before its first read by id
    from pipelines.jira import unreadable
    unreadable.PAGE_BUDGET_SECONDS = float(os.environ["TEST_JIRA_PAGE_BUDGET"])
if vendor == "jira":
    from pipelines.jira import jira_source
    from pipelines.jira.config import source_kwargs_from_env
    source = jira_source(**source_kwargs_from_env(), page_size=10, policy=fast)
else:
    from pipelines.onetrust import onetrust_source
    source = onetrust_source(base_url=os.environ["ONETRUST_BASE_URL"], client_id=os.environ["ONETRUST_CLIENT_ID"],
                             client_secret=os.environ["ONETRUST_CLIENT_SECRET"], entities=["risks", "vendors"],
                             vendor_page_size=10, reconcile=False, policy=fast)
run_source(vendor, source)
"""

ENTITIES = {"jira": [JIRA_ISSUES], "onetrust": [OT_RISKS, OT_VENDORS]}

# columns that differ between two runs however right they are: when, and by which run, a row was written
VOLATILE = ("_dlt_load_id", "_dlt_id", "_dlt_parent_id", "_dlt_root_id", "quarantined_at", "run_id", "synced_at",
            "loaded_at", "_loaded_at", "extracted_at", "first_seen_at", "last_seen_at", "deleted_at")


class Killer:
    """Kills the running sync from inside the sandbox when the ``at``-th request ``wanted`` arrives (while that
    request is in flight); ``narrowing`` tells the reads of a failed page's narrowing."""

    def __init__(self, narrowing):
        self.narrowing, self.wanted, self.lock = narrowing, narrowing, threading.Lock()
        self.pid: int | None = None
        self.at: int | None = None
        self.seen = 0
        self.hit: str | None = None

    first: tuple[int, int] | None = None  # (narrowing reads, requests) of the first run armed with no pid

    def arm(self, pid: int | None, at: int | None) -> None:
        with self.lock:
            self.pid, self.at, self.seen, self.hit = pid, at, 0, None
            self.narrowed = self.requests = 0

    @property
    def counted(self) -> tuple[int, int]:
        """(narrowing reads, requests) served since the last :meth:`arm`."""
        return self.narrowed, self.requests

    def __call__(self, req, resp):
        with self.lock:
            self.narrowed += bool(self.narrowing(req))
            self.requests += 1
            if self.pid is not None and self.wanted(req):
                self.seen += 1
                if self.seen == self.at and self.hit is None:
                    self.hit = f"{req.method} {req.path}?{req.raw_query}"[:160]
                    os.kill(self.pid, signal.SIGKILL)
        return resp


def _run(vendor: str, killer: Killer | None = None, at: int | None = None, point: str | None = None):
    env = {**os.environ}
    env.pop("PROJECTX_TEST_KILL_AT", None)
    if point:
        env["PROJECTX_TEST_KILL_AT"] = point
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, vendor], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if killer is not None:
        killer.arm(proc.pid, at)
    try:
        out, _ = proc.communicate(timeout=240)
    finally:
        if killer is not None:
            killer.pid = None
    return proc.returncode, out


def _sync(vendor: str, killer: Killer | None = None) -> None:
    rc, out = _run(vendor)
    if killer is not None and killer.first is None:
        killer.first = killer.counted
    assert rc == 0, f"{vendor} sync failed (rc {rc}):\n{out[-4000:]}"


def snapshot(settings, schema: str) -> dict[str, list[tuple]]:
    """Every data table of ``schema`` (not dlt's own), its rows sorted, the columns of :data:`VOLATILE` left out."""
    out: dict[str, list[tuple]] = {}
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        tables = [r[0] for r in con.execute("select table_name from information_schema.tables where table_schema = "
                                            "? and table_name not like '\\_dlt%' escape '\\'", [schema]).fetchall()]
        for table in sorted(tables):
            cols = [r[0] for r in con.execute("select column_name from information_schema.columns where "
                                              "table_schema = ? and table_name = ? order by ordinal_position",
                                              [schema, table]).fetchall() if r[0] not in VOLATILE]
            rows = con.execute(f'select {", ".join(chr(34) + c + chr(34) for c in cols)} from {schema}."{table}"'
                               ).fetchall()
            # paths under the data folder (the attachment store) name the warehouse's own folder
            out[table] = sorted(tuple(repr(v).replace(str(settings.data_dir), "<data>") for v in r) for r in rows)
    return out


def _differences(clean: dict, killed: dict) -> list[str]:
    said = []
    for table in sorted(set(clean) | set(killed)):
        a, b = clean.get(table, []), killed.get(table, [])
        if a != b:
            extra = [r for r in b if r not in a] or (b if len(b) > len(a) else [])
            lost = [r for r in a if r not in b]
            said.append(f"{table}: clean {len(a)} rows, killed {len(b)}; only killed {extra[:2]}; lost {lost[:2]}")
    return said


def _kill_loop(vendor: str, killer: Killer, narrow_reads: int, requests: int, seed: int, change=None) -> list[str]:
    """:data:`KILLS` seeded kills (each at a narrowing read, a request of any kind, or a named point), then runs
    until one completes. Returns where each struck. A run that completes before its kill point bounds the next
    draws of that kind by what it asked (a later run, reading changes only, asks less than the first)."""
    rng = random.Random(seed)
    bound = {"narrow": narrow_reads, "request": requests}
    struck: list[str] = []
    for _ in range(2 * KILLS):
        if sum("completed first" not in s for s in struck) >= KILLS:
            break
        kind = rng.choice(("narrow", "narrow", "narrow", "request", "point"))
        started = time.monotonic()
        if kind == "point":
            point = rng.choice(KILL_POINTS)
            rc, out = _run(vendor, point=point)
            where = f"point {point}"
        else:
            killer.wanted = killer.narrowing if kind == "narrow" else (lambda req: True)
            at = rng.randint(1, max(1, bound[kind]))
            rc, out = _run(vendor, killer, at)
            where = f"{kind} #{at}: {killer.hit}"
            if rc == 0:
                bound[kind] = killer.seen
        assert rc in (0, -9), f"{vendor} failed instead of dying (rc {rc}) at {where}:\n{out[-4000:]}"
        struck.append((where if rc == -9 else f"{where} (completed first)") + f" [{time.monotonic() - started:.1f} s]")
        if change is not None:
            change(len(struck) - 1)
            time.sleep(1.05)  # vendor stamps are to the second
    for _ in range(5):  # restart until one completes: a crash loop that never ends fails here
        rc, out = _run(vendor)
        if rc == 0:
            return struck
    raise AssertionError(f"{vendor}: no run completed after the kills:\n{out[-4000:]}")


# --- the hostile vendors ---------------------------------------------------------------------------------------

SEARCH = "/rest/api/3/search/jql"
BROKEN = b'{"errorMessages":["Internal server error: the issue could not be rendered"],"errors":{}}'


def _jira_hostile(sb, victims: set[str], on: dict) -> None:
    """Search answers holding a victim with more than its keys fail with 500 while ``on["on"]``."""
    def rewrite(req, resp):
        if not on["on"] or req.path != SEARCH or req.method != "POST" or resp.status != 200:
            return resp
        asked = json.loads(req.body)
        keys_only = set(asked.get("fields") or []) <= {"id", "key", "updated"} and not asked.get("expand")
        served = {i.get("id") for i in json.loads(resp.body).get("issues") or []}
        if not keys_only and served & victims:
            return Response(500, BROKEN, "application/json", [])
        return resp
    sb.rewrite_responses(rewrite)


def _jira_narrowing(req) -> bool:
    if req.path != SEARCH or req.method != "POST":
        return False
    asked = json.loads(req.body)
    return (asked.get("jql") or "").startswith("id in (") or asked.get("fields") == ["key", "updated"]


@pytest.mark.parametrize("budget", [None, "-1"], ids=["halving", "budget-spent-probe"])
def test_jira_narrowing_killed_at_random_points_ends_as_an_uninterrupted_run(
        make_jira_sandbox, monkeypatch, tmp_path, _dbt_parse_home, budget):
    """``budget-spent-probe``: the page's budget runs out before any read by id, so the probe of its last issue
    decides; it answers, and the page's issues are set aside "not read this run" (quarantined, re-read by id)."""
    sb = make_jira_sandbox(size=60)
    jira_env(monkeypatch, sb)
    if budget:
        monkeypatch.setenv("TEST_JIRA_PAGE_BUDGET", budget)
    ordered = sorted((i["fields"]["updated"], i["key"], i["id"]) for i in sb.issues(fields=["updated"]))
    victims = {ordered[13][2], ordered[36][2]}  # one on each of two pages of 10
    on = {"on": True}
    _jira_hostile(sb, victims, on)
    killer = Killer(_jira_narrowing)
    sb.rewrite_responses(killer)
    others = random.Random(3).sample([i[1] for i in ordered if i[2] not in victims], 30)

    def change(n: int) -> None:  # halving: people keep editing other issues between the kills
        for key in others[3 * n:3 * n + 3]:
            sb.edit_as(key, {"labels": [f"between-kills-{n}"]})
        sb.sync_index()
    # halving: the victims alone; budget spent: their pages' issues (not read this run), the victims among them
    _clean_then_killed("jira", sb, killer, on, monkeypatch, tmp_path, _dbt_parse_home, seed=35 + bool(budget),
                       quarantined=lambda rows: ({r[0] for r in rows} == victims if not budget else
                                                 len(rows) == 20 and victims <= {r[0] for r in rows}),
                       change=None if budget else change)


def _clean_then_killed(vendor, sb, killer, on, monkeypatch, tmp_path, parse_home, seed, quarantined,
                       change=None) -> None:
    """An uninterrupted run, then the vendor healed and one more; the same from an empty warehouse through the kill
    loop: the tables equal after the hostile runs and after the healed one. ``change(n)``: the vendor changes after
    each kill; then the uninterrupted runs are made again, from an empty warehouse, on what the vendor holds last."""
    def clean_runs(folder: str, heal: bool = True) -> tuple[dict, dict]:
        settings = fresh_duckdb(monkeypatch, parse_home, tmp_path / folder)
        on["on"] = True
        _sync(vendor, killer)
        hostile = snapshot(settings, vendor)
        rows = _rows(settings, f"select record_id, entity from {vendor}.quarantine")
        assert quarantined(rows), rows
        if not heal:  # only counting the reads (the vendor changes before the runs compared)
            return hostile, {}
        on["on"] = False
        _sync(vendor)
        healed = snapshot(settings, vendor)
        on["on"] = True
        return hostile, healed

    killer.arm(None, None)
    clean, clean_healed = clean_runs("clean", heal=change is None)
    narrow_reads, requests = killer.first
    assert narrow_reads >= 3, narrow_reads  # the narrowing ran

    killed_settings = fresh_duckdb(monkeypatch, parse_home, tmp_path / "killed")
    struck = _kill_loop(vendor, killer, narrow_reads, requests, seed=seed, change=change)
    print(f"{vendor} kills:", *struck, sep="\n  ")
    assert sum("completed first" not in s for s in struck) >= KILLS, struck
    killed = snapshot(killed_settings, vendor)
    on["on"] = False
    _sync(vendor)
    killed_healed = snapshot(killed_settings, vendor)
    for entity in ENTITIES[vendor]:  # the vendor healed: everything it holds is stored (no cursor moved past one)
        assert_parity(sb, killed_settings, entity)
    if change is not None:
        clean, clean_healed = clean_runs("clean-last")
    assert not _differences(clean, killed)
    assert not _differences(clean_healed, killed_healed)


def _rows(settings, query: str) -> list[tuple]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(query).fetchall()


# --- OneTrust ----------------------------------------------------------------------------------------------------

RISKS = "/api/risk/v2/risks/pages"
VENDORS = "/api/inventory/v2/inventories/vendors"
CAP = 50  # the risks the tenant serves a page, whatever is asked (the source asks 100)


def _onetrust_hostile(sb, victims: dict[str, str], on: dict) -> None:
    """Every listing page (path -> victim) holding its victim answers 500 while ``on["on"]``."""
    def rewrite(req, resp):
        if not on["on"] or req.path not in victims or resp.status != 200:
            return resp
        if victims[req.path].encode() in resp.body.lower():  # a risk may name a vendor: only its own listing
            return Response(500, b'{"status":500,"error":"Internal Server Error","message":"cannot map record"}',
                            "application/json", [])
        return resp
    sb.rewrite_responses(rewrite)


def _onetrust_narrowing(req) -> bool:
    """A read of a failed page's records in smaller pages: risks by fewer than the size served, vendors by fewer
    than the 10 asked."""
    size = req.query.get("size")
    return size is not None and size.isdigit() and (
        (req.path == RISKS and int(size) < CAP) or (req.path == VENDORS and int(size) < 10))


def test_onetrust_narrowing_by_served_size_killed_at_random_points_ends_as_an_uninterrupted_run(
        make_onetrust_sandbox, monkeypatch, tmp_path, _dbt_parse_home):
    from sandbox.onetrust import api_risk

    clamp = api_risk.page_params
    monkeypatch.setattr(api_risk, "page_params", lambda req, default=20, maximum=100: clamp(req, default,
                                                                                             min(maximum, CAP)))
    sb = make_onetrust_sandbox(size=120)
    onetrust_env(monkeypatch, sb)
    # one risk on the second page of 50 (listed newest first; page 0 told the size served), one vendor
    listed = sorted(sb.risks(), key=lambda r: r["createdUTCDateTime"], reverse=True)
    victims = {RISKS: listed[75]["id"].lower(), VENDORS: sb.vendors()[43]["id"].lower()}
    on = {"on": True}
    _onetrust_hostile(sb, victims, on)
    sizes: list[str] = []

    def sized(req, resp):
        if req.path == RISKS:
            sizes.append(req.query.get("size"))
        return resp
    sb.rewrite_responses(sized)
    killer = Killer(_onetrust_narrowing)
    sb.rewrite_responses(killer)

    def change(n: int) -> None:  # risks keep changing between the kills (their listing, by creation, keeps its order)
        sb.touch("risks", n=3)
    _clean_then_killed("onetrust", sb, killer, on, monkeypatch, tmp_path, _dbt_parse_home, seed=36,
                       quarantined=lambda rows: sorted(r[1] for r in rows) == ["risks", "vendors"], change=change)
    assert "25" in sizes and "1" in sizes, sizes  # risks narrowed by the 50 served (50 -> 25 -> 5 -> 1), not by 100
