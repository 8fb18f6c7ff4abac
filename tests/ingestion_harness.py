"""What the adversarial ingestion tests share: run a vendor's sync the two ways users do (the standalone
``python -m pipelines.<vendor>`` and the Dagster ingest asset), kill it, and compare the warehouse with
the vendor record by record.

Parity for one entity: the ids and version stamps stored, less the ids marked in ``<vendor>.deletions``,
equal what the vendor holds; nothing the vendor holds is marked deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Entity:
    vendor: str
    table: str  # the raw table in the vendor's dataset (also the deletions/quarantine entity)
    key: str  # its primary key column
    version: str  # the column holding the vendor's last-updated stamp


SN_INCIDENTS = Entity("servicenow", "incidents", "sys_id", "sys_updated_on")
JIRA_ISSUES = Entity("jira", "issues", "id", "updated")
OT_RISKS = Entity("onetrust", "risks", "risk_id", "updated_at")
OT_VENDORS = Entity("onetrust", "vendors", "vendor_id", "updated_at")
OT_ASSESSMENTS = Entity("onetrust", "assessments", "assessment_id", "updated_at")
OT_VENDOR_ASSESSMENTS = Entity("onetrust", "vendor_assessments", "assessment_id", "updated_at")


def vendor_state(sb, entity: Entity) -> dict[str, str]:
    """id -> last-updated stamp of every live record at the vendor."""
    if entity.vendor == "servicenow":
        return {r["sys_id"]: r["sys_updated_on"] for r in sb.records("incident")}
    if entity.vendor == "jira":
        return {i["id"]: i["fields"]["updated"] for i in sb.issues(fields=["updated"])}
    if entity.table == "risks":
        return {r["id"]: r["lastModifiedUTCDateTime"] for r in sb.risks()}
    if entity.table in ("assessments", "vendor_assessments"):  # archived ones included, as the source lists
        return {a["assessmentId"]: a["lastUpdated"] for a in sb.assessments()
                if entity.table == "assessments" or a.get("_templateType") == "VENDOR"}
    return {r["id"]: r["lastUpdatedDate"] for r in sb.vendors() if not r.get("markForDelete")}


def sql(settings, query: str, *args) -> list[tuple]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        try:
            return con.execute(query, list(args)).fetchall()
        except duckdb.CatalogException:  # the table was never created (nothing landed in it yet)
            return []


def marked_deleted(settings, entity: Entity) -> set[str]:
    return {r[0] for r in sql(settings, f"select record_id from {entity.vendor}.deletions where entity = ?",
                              entity.table)}


def quarantine(settings, entity: Entity) -> dict[str, str]:
    """record_id -> the latest reason it was quarantined for."""
    rows = sql(settings, f"select record_id, reason from {entity.vendor}.quarantine where entity = ? "
                         "order by quarantined_at", entity.table)
    return dict(rows)


def warehouse_state(settings, entity: Entity) -> dict[str, str]:
    """id -> stamp of every stored record not marked deleted; asserts no key is stored twice."""
    rows = sql(settings, f"select {entity.key}, {entity.version} from {entity.vendor}.{entity.table}")
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), f"{entity.vendor}.{entity.table} holds duplicate keys"
    gone = marked_deleted(settings, entity)
    return {k: v for k, v in rows if k not in gone}


def assert_servicenow_attachments_stored(sb, settings) -> None:
    """Every ServiceNow attachment is stored once, with exactly the vendor's bytes (sha256 of the content
    the sandbox serves), none left ``failed`` or in flight: what downloads interrupted by a kill must
    still end in."""
    vendor = {r["sys_id"]: hashlib.sha256(sb.attachment_content(r["sys_id"]) or b"").hexdigest()
              for r in sb.records("sys_attachment")}
    rows = sql(settings, "select sys_id, sha256, content_status from servicenow.attachments")
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)), "servicenow.attachments holds duplicate keys"
    assert {r[2] for r in rows} <= {"stored"}, sorted({r[2] for r in rows})
    assert {k: sha for k, sha, _ in rows} == vendor


def assert_parity(sb, settings, entity: Entity, *, except_ids: set[str] = frozenset()) -> None:
    """Exact parity (see module docstring); ``except_ids`` are records the vendor serves unusably."""
    vendor = {k: v for k, v in vendor_state(sb, entity).items() if k not in except_ids}
    stored = {k: v for k, v in warehouse_state(settings, entity).items() if k not in except_ids}
    if entity.vendor == "onetrust":  # stored as OneTrust sent it; the sandbox's copy has the same text
        vendor = {k: v for k, v in vendor.items()}
    missing = sorted(set(vendor) - set(stored))
    ghosts = sorted(set(stored) - set(vendor))
    stale = sorted(k for k in set(vendor) & set(stored) if vendor[k] != stored[k])
    falsely_deleted = sorted(marked_deleted(settings, entity) & set(vendor))
    assert not (missing or ghosts or stale or falsely_deleted), (
        f"{entity.vendor}.{entity.table}: {len(missing)} missing {missing[:3]}, {len(ghosts)} ghosts "
        f"{ghosts[:3]}, {len(stale)} stale {stale[:3]}, {len(falsely_deleted)} falsely deleted "
        f"{falsely_deleted[:3]}")


# --- running a sync -----------------------------------------------------------------------------------

DAGSTER_SCRIPT = """
import sys
from dagster import DagsterInstance, materialize
from dagster_dlt import DagsterDltResource
from resources.warehouse import WarehouseResource
vendor = sys.argv[1]
if vendor == "servicenow":
    from assets.servicenow import build_servicenow_assets as build
    from resources.servicenow import ServiceNowResource as R
elif vendor == "jira":
    from assets.jira import build_jira_assets as build
    from resources.jira import JiraResource as R
else:
    from assets.onetrust import build_onetrust_assets as build
    from resources.onetrust import OneTrustResource as R
ingest = build()[0]
result = materialize([ingest], resources={"dlt": DagsterDltResource(), vendor: R(backoff_base_seconds=0.01)
                                          if vendor == "servicenow" else R(),
                                          "warehouse": WarehouseResource.from_env()},
                     instance=DagsterInstance.ephemeral(), raise_on_error=False)
errors = [e.message for e in result.all_events if e.is_failure]
print("\\n".join(errors), file=sys.stderr)
sys.exit(0 if result.success else 1)
"""


EVIDENCE_DAGSTER_SCRIPT = """
import sys
from dagster import DagsterInstance, materialize
from assets.evidence import evidence_stores_ingest
from resources.warehouse import WarehouseResource
result = materialize([evidence_stores_ingest], resources={"warehouse": WarehouseResource.from_env()},
                     instance=DagsterInstance.ephemeral(), raise_on_error=False)
print("\\n".join(e.message for e in result.all_events if e.is_failure), file=sys.stderr)
sys.exit(0 if result.success else 1)
"""


def command(vendor: str, via: str) -> list[str]:
    """The sync command: ``cli`` = the standalone entry point, ``dagster`` = the vendor's ingest asset
    (for ``evidence_stores``, the Evidence Library's asset, configured by the environment)."""
    if via == "cli":
        return [sys.executable, "-m", f"pipelines.{vendor}"]
    if vendor == "evidence_stores":
        return [sys.executable, "-c", EVIDENCE_DAGSTER_SCRIPT]
    return [sys.executable, "-c", DAGSTER_SCRIPT, vendor]


def sync(vendor: str, via: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """One sync to the end; fails the test with its output if it does not succeed."""
    done = subprocess.run(command(vendor, via), cwd=ROOT, env=os.environ.copy(), capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"{vendor} sync via {via} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done


PHASES = ("extract", "extracted", "normalize", "normalized", "load")


def kill_loop(vendor: str, via: str, sb, settings, kills: int, seed: int, on_kill=None,
              max_attempts: int = 30) -> list[str]:
    """SIGKILL the sync ``kills`` times at random moments of its work; ``on_kill(n)`` runs after each
    (e.g. to change the vendor). Returns where each kill struck (which dlt step, by what it left).

    Each attempt draws a step of dlt's (extract, extracted, normalize, normalized, load) and kills the
    sync a random instant after its working folder shows it reached that step (for extract: a random
    instant after its first vendor request), so kills land in every step however slow the machine."""
    rng = random.Random(seed)
    struck: list[str] = []
    attempts: list[str] = []  # what each attempt did, for the failure message
    for _ in range(max_attempts):
        if len(struck) >= kills:
            break
        target = rng.randrange(len(PHASES))
        sb.clear_request_log()
        with tempfile.TemporaryFile() as errors:  # why a sync that ended first ended, for the message
            proc = subprocess.Popen(command(vendor, via), cwd=ROOT, env=os.environ.copy(),
                                    stdout=subprocess.DEVNULL, stderr=errors)
            started = time.monotonic()
            deadline = started + 180
            while proc.poll() is None and time.monotonic() < deadline:
                if sb.request_log and PHASES.index(dlt_leftovers(settings, vendor)) >= target:
                    break
                time.sleep(0.01)
            time.sleep(rng.uniform(0.0, 1.5 if target == 0 else 0.2))
            if proc.poll() is not None:
                errors.seek(0)
                tail = errors.read().decode(errors="replace").strip().splitlines()[-3:]
                attempts.append(f"{PHASES[target]}: ended first (rc {proc.returncode}, "
                                f"{time.monotonic() - started:.1f} s, {len(sb.request_log)} requests"
                                + (f": {' | '.join(tail)[-600:]}" if proc.returncode and tail else "") + ")")
                continue
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        struck.append(dlt_leftovers(settings, vendor))
        attempts.append(f"{PHASES[target]}: killed in {struck[-1]} after {time.monotonic() - started:.1f} s")
        if on_kill is not None:
            on_kill(len(struck) - 1)
    assert len(struck) >= kills, f"only {len(struck)} of {kills} syncs could be killed: " + "; ".join(attempts)
    return struck


def dlt_leftovers(settings, vendor: str) -> str:
    """Which step a killed sync was in, from what it left in dlt's working folder. Also read while the
    sync still runs (to kill it in a given step): a folder dlt moves or removes meanwhile is read again."""
    root = Path(settings.data_dir) / "dlt" / settings.pipeline_name(vendor)
    for _ in range(20):
        try:
            return _leftovers(root)
        except FileNotFoundError:  # a live sync moved its package between two looks
            time.sleep(0.01)
    return _leftovers(root)


def _leftovers(root: Path) -> str:
    def has(folder: Path) -> bool:
        return folder.is_dir() and any(folder.iterdir())
    normalized = root / "load" / "normalized"
    if has(normalized):
        jobs = any(has(p / "started_jobs") or has(p / "completed_jobs") for p in normalized.iterdir())
        return "load" if jobs else "normalized"
    if has(root / "load" / "new"):
        return "normalize"
    if has(root / "normalize" / "extracted"):
        return "extracted"
    return "extract"


def wait_a_second() -> None:
    """Vendor stamps are to the second: let the clock move past the last write."""
    time.sleep(1.05)


def cut_one_issues_comments_short(sb, answer_comment_list) -> tuple[dict[str, str], dict[str, bool]]:
    """Jira search cuts the first issue with comments short (its comment ``total`` one more than it lists, so
    the rest is fetched from ``/issue/<id>/comment``), and that endpoint's answer goes through
    ``answer_comment_list(resp)`` while ``switch["on"]``. Returns ``(victim, switch)``: ``victim["id"]`` is the
    issue's id once a search has run."""
    victim: dict[str, str] = {}
    switch = {"on": True}

    def odd(req, resp):
        if req.path.endswith("/search/jql") and resp.status == 200:
            body = json.loads(resp.body)
            for issue in body.get("issues") or []:
                comment = (issue.get("fields") or {}).get("comment")
                if isinstance(comment, dict) and comment.get("comments") and not victim:
                    victim["id"] = str(issue["id"])
                if isinstance(comment, dict) and str(issue["id"]) == victim.get("id"):
                    comment["total"] = len(comment["comments"]) + 1  # cut short: the rest is fetched
            resp.body = json.dumps(body).encode()
        elif switch["on"] and re.search(r"/issue/[^/]+/comment$", req.path):
            answer_comment_list(resp)
        return resp
    sb.rewrite_responses(odd)
    return victim, switch
