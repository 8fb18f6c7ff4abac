"""``python -m cli reverse-sync --vendor jira [--dry-run]``: one vendor's reverse sync from the shell.

Same engine, tables and settings as the Dagster asset (warehouse from PROJECTX_WAREHOUSE, vendor
credentials from Vault or the spec's variables). Prints the plan (or what was done) as a table:
one line per operation and field, before -> after, then a summary. Exit status: 0 all
written, 1 records dead-lettered, paused or deferred (they wait for the next push), 2 did not run, 3 the
mass-change guard, 4 the vendor's push lock (``cli.__main__.REVERSE_SYNC_EXIT_STATUS``, shown by
``python -m cli reverse-sync --help``, says each in full).
"""

from __future__ import annotations

import sys
from typing import Any

from assets.reverse_sync.engine import MassChangeBlocked, SyncConfig
from assets.reverse_sync.ratelimits import RECORDS, SECONDS
from assets.reverse_sync.state import PushAlreadyRunning
from assets.reverse_sync.vendors import TARGETS, sync_vendor_env
from pipelines.common.entrypoint import (
    DEBUG_ENV,
    debug_requested,
    redact,
    secret_values,
    unsendable_header,
    unsendable_header_detail,
)
from pipelines.common.http import VendorError

COLUMNS = (("operation", 10), ("internal_id", 24), ("vendor_id", 12), ("field", 12), ("before", 28),
           ("after", 28), ("outcome", 14))


def _cell(value: Any, width: int) -> str:
    text = "" if value is None else " ".join(str(value).split())
    return (text if len(text) <= width else text[: width - 1] + "…").ljust(width)


def format_plan(plan: list[dict[str, Any]], limit: int = 200) -> str:
    header = "  ".join(name.ljust(width) for name, width in COLUMNS)
    lines = [header, "  ".join("-" * width for _, width in COLUMNS)]
    for item in plan[:limit]:
        lines.append("  ".join(_cell(item.get(name), width) for name, width in COLUMNS).rstrip())
    if len(plan) > limit:
        lines.append(f"... and {len(plan) - limit} more rows (all of them are in reverse_sync.plans)")
    return "\n".join(lines)


def run_reverse_sync(vendor: str, *, dry_run: bool = False, confirm_mass_change: bool = False,
                     run_id: str | None = None) -> int:
    from resources.audit import new_correlation_id
    from resources.environment import current_environment

    if vendor not in TARGETS:
        print(f"unknown vendor {vendor!r}: use one of {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    from resources.flags import flag

    try:  # off: the shell's push pauses as the asset's does (a dry run writes nothing: it goes on)
        switch = flag(vendor)
    except ValueError as exc:  # a flag set to neither true nor false, a malformed flags file
        print(f"The {vendor} reverse sync did not run: {exc}", file=sys.stderr)
        return 2
    if not switch.enabled:
        print(f"The {vendor} reverse sync {'plans only' if dry_run else 'did not run'}: {switch.skip_reason()}",
              file=sys.stderr)
        if not dry_run:
            return 2
    run_id = run_id or f"cli-{new_correlation_id()}"
    config = SyncConfig(dry_run=dry_run, confirm_mass_change=confirm_mass_change)
    try:
        report = sync_vendor_env(vendor, config, run_id=run_id, vault_prefix=current_environment().vault_prefix)
    except MassChangeBlocked as exc:
        print(str(exc), file=sys.stderr)
        return 3
    except PushAlreadyRunning as exc:  # another push holds the lock (nothing written), or LockLost midway
        print(str(exc), file=sys.stderr)
        return 4
    except (ValueError, VendorError) as exc:  # a missing or bad setting, or a vendor refusing us
        if debug_requested([]):
            raise
        detail = unsendable_header_detail(vendor) if unsendable_header(exc) else " ".join(str(exc).split())
        print(redact(f"The {vendor} reverse sync did not run: {detail}. Set {DEBUG_ENV}=1 "
                     "to see the traceback.", secret_values()), file=sys.stderr)
        return 2
    what = "plan (dry run: nothing written)" if dry_run else "done"
    print(f"{vendor} reverse sync {what}, run {run_id}: {len(report.plan)} operation rows")
    if report.plan:
        print(format_plan(report.plan))
    if dry_run:
        ops = sorted({(p["internal_id"], p["operation"]) for p in report.plan})
        planned = {op: sum(1 for _, o in ops if o == op) for _, op in ops}
        print("planned: " + (", ".join(f"{op} {n}" for op, n in sorted(planned.items())) or "nothing"))
    # records paused while the circuit is not open were paused by a failed look-up of our ids (a create could
    # duplicate a record), not by the breaker: "paused_circuit_open 2; circuit closed" read as a contradiction
    by_breaker = report.breaker_state == "open"
    counts = ", ".join(f"{_label(k, by_breaker)} {v}" for k, v in report.as_metadata().items() if v)
    print(f"summary: {counts or 'nothing to do'}; circuit {report.breaker_state}")
    if report.paused_circuit_open:
        why = " ".join((report.paused_reason or "the circuit breaker is open").split())
        print(redact(f"paused: {report.paused_circuit_open} records not sent in this run "
                     f"({'the circuit breaker is open' if by_breaker else 'the circuit is ' + report.breaker_state}"
                     f"): {why}; they wait in reverse_sync.dead_letters and the next push sends them",
                     secret_values()))
    if report.deferred_rate_limited:
        print(f"deferred: {report.deferred_rate_limited} records not sent in this run: {vendor} kept answering 429 "
              f"(rate limited) past the run's bounds ({SECONDS}, {RECORDS}); they wait in reverse_sync.dead_letters "
              "and the next push sends them")
    for failure in report.failures[:10]:
        print(f"failed: {failure}", file=sys.stderr)
    if report.deferred_refused:  # the vendor refusing us: every write of the account, none succeeded
        print(redact(f"refused: {report.stopped or vendor}", secret_values()), file=sys.stderr)
        return 2
    return 1 if report.dead_lettered or report.paused_circuit_open or report.deferred_rate_limited else 0


def _label(key: str, by_breaker: bool) -> str:
    """A count's name in the summary: ``paused_circuit_open`` only while the circuit is open, else ``paused``."""
    return "paused" if key == "paused_circuit_open" and not by_breaker else key
