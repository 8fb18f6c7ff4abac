"""A summary of one full_sync run that a person can read in ten seconds."""

from __future__ import annotations

from typing import Any

from dagster import DagsterEventType

from pipelines.common.warehouse import WarehouseSettings


def _materializations(result) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


DBT_STEP = "projectx_dbt_models"


def _checks(result, dbt: bool = True) -> tuple[int, list[str]]:
    """Passed count and failed names of the run's check evaluations: dbt's data tests on models and
    seeds with ``dbt=True``, the other checks (e.g. reverse sync's) otherwise."""
    passed, failed = 0, []
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION and (event.step_key == DBT_STEP) == dbt:
            data = event.event_specific_data
            if data.passed:
                passed += 1
            else:
                failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return passed, failed


def _source_tests(result) -> tuple[int, list[str]]:
    """dbt tests on sources (raw vendor tables, produced by the dlt step, not dbt): dagster-dbt reports
    them as observations of those tables, not checks. Passed count and failed names."""
    passed, failed = 0, []
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_OBSERVATION and event.step_key == DBT_STEP:
            observation = event.event_specific_data.asset_observation
            meta = {k: getattr(v, "value", v) for k, v in observation.metadata.items()}
            if not str(meta.get("unique_id", "")).startswith("test.") or "status" not in meta:
                continue
            if meta["status"] in ("pass", "success"):
                passed += 1
            else:
                failed.append(f"{observation.asset_key.to_user_string()}:{str(meta['unique_id']).split('.')[-2]}")
    return passed, failed


def table(headers: list[str], rows: list[tuple], indent: str = "  ") -> list[str]:
    """A small aligned text table: numbers right-aligned, text left-aligned."""
    cells = [[f"{v:,}" if isinstance(v, int) else str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [bool(rows) and all(isinstance(r[i], int) for r in rows) for i in range(len(headers))]

    def line(values):
        return indent + "  ".join(v.rjust(w) if n else v.ljust(w)
                                  for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    return [line(headers), *(line(r) for r in cells)]


def open_tasks_table(rows: list[tuple[str, str, int]]) -> list[str]:
    """Open tasks, one line per queue with a column per priority: (queue, priority, count) rows in. dbt's
    ``unknown`` (a vendor priority the mappings do not know) and any other value follow high, medium, low;
    a null priority is counted as ``unknown``."""
    rows = [(queue, "unknown" if priority is None else str(priority), n) for queue, priority, n in rows]
    priorities = [p for p in ("high", "medium", "low") if any(r[1] == p for r in rows)]
    priorities += sorted({r[1] for r in rows} - set(priorities))
    counts: dict[str, dict[str, int]] = {}
    for queue, priority, n in rows:
        counts.setdefault(queue, {})[priority] = counts.get(queue, {}).get(priority, 0) + int(n)
    body = [(q, *(c.get(p, 0) for p in priorities), sum(c.values())) for q, c in sorted(counts.items())]
    return table(["queue", *priorities, "total"], body, indent="    ")


def open_tasks(settings: WarehouseSettings) -> list[tuple]:
    """(queue, priority, count) of the open tasks in marts.tasks, for :func:`open_tasks_table`."""
    return _query(settings, """
        select queue, priority, count(*) from marts.tasks where status = 'open'
        group by 1, 2 order by 1, 2 nulls last""")


def _query(settings: WarehouseSettings, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def failure_text(event) -> str:
    """A failed step's own message, then the innermost cause of its error: what actually went wrong (a
    setting's error naming its fix), not Dagster's "Error occurred while executing op" around it."""
    text = event.message or ""
    error = getattr(event.event_specific_data, "error", None)
    while error is not None and error.cause is not None:
        error = error.cause
    if error is not None and error.message and error.message.strip() not in text:
        text += f" Cause: {error.message.strip()}"
    return text


def print_summary(result, settings: WarehouseSettings, sandbox, elapsed: float) -> None:
    mats = _materializations(result)
    passed, failed = _checks(result)
    source_passed, source_failed = _source_tests(result)
    other_passed, other_failed = _checks(result, dbt=False)
    line = "=" * 78
    print(f"\n{line}\nProject X full sync: {'SUCCEEDED' if result.success else 'FAILED'} "
          f"in {elapsed:.1f}s  (run {result.run_id[:8]})\n{line}")
    if not result.success:
        for event in result.all_events:
            if event.event_type == DagsterEventType.STEP_FAILURE:
                print(f"  step {event.step_key} failed: {failure_text(event)[:600]}")
        print("  Open the run in the UI (make ui) for the full logs.")
    synced = {k: v for k, v in mats.items() if k.split("/")[0] in ("servicenow", "jira", "onetrust")}
    if synced:
        print("Ingestion (vendors -> warehouse)")
        for key, meta in sorted(synced.items()):
            if "rows_loaded" not in meta:
                continue
            print(f"  {key:<28} {meta.get('rows_loaded', 0):>7,} loaded {meta.get('rows_skipped_unchanged', 0):>6,} "
                  f"unchanged {meta.get('rows_quarantined', 0):>4,} quarantined "
                  f"{meta.get('rows_marked_deleted', 0):>4,} deleted  cursor {meta.get('cursor') or '-'}")
        print("  (unchanged: records read again in the overlap window just before the cursor, so that none\n"
              "   updated in the same second is missed, and found identical to what is stored: not rewritten)")
    if result.success:
        counts = _query(settings, """
            select 'servicenow incidents', count(*) from servicenow.incidents
            union all select 'jira issues', count(*) from jira.issues
            union all select 'onetrust assessments', count(*) from onetrust.assessments""")
        print("  warehouse holds " + ", ".join(f"{n:,} {what}" for what, n in counts))
        print("Transformation (dbt build)")
        models = sum(1 for k in mats if k.split("/")[0] in ("staging", "intermediate", "marts", "outbound"))
        failed += source_failed
        print(f"  {models} models built; {passed + source_passed + len(failed)} dbt data tests: "
              f"{passed + source_passed} passed, {len(failed)} failed"
              + (f" ({', '.join(failed[:5])})" if failed else ""))
        print(f"  ({source_passed + len(source_failed)} of them test the raw vendor tables: the UI shows those as "
              "observations\n   of the tables; unit tests run in `make test`, not on syncs)")
        if other_passed or other_failed:
            print(f"  other checks: {other_passed} passed, {len(other_failed)} failed"
                  + (f" ({', '.join(other_failed[:5])})" if other_failed else ""))
            if any(name.endswith("_webhook_backlog") for name in other_failed):
                print("  (webhook deliveries wait for the webhook_inbox sensor: `make ui`, then turn it on under\n"
                      "   Automation; they include the echoes of the previous cycle's pushes, and this cycle's\n"
                      "   full sync has read the changes they announce)")
        controls = _query(settings, """
            select control_id, count(*) filter (where status = 'pass'), count(*) filter (where status = 'fail'),
                count(*) filter (where status = 'pending') from marts.control_results group by 1 order by 1""")
        print("  control results:")
        for row in table(["control", "pass", "fail", "pending"], controls, indent="    "):
            print(row)
        print("  open tasks per queue and priority:")
        for row in open_tasks_table(open_tasks(settings)):
            print(row)
    push = mats.get("reverse_sync/servicenow_remediation_tasks", {})
    if push:
        print("Reverse sync (remediation tasks -> ServiceNow)")
        print(f"  {push.get('created', 0)} created, {push.get('updated', 0)} updated, "
              f"{push.get('unchanged', 0)} unchanged, {push.get('closed', 0)} closed, "
              f"{push.get('dead_lettered', 0)} dead-lettered")
        from assets.reverse_sync.servicenow import remediation_table

        print(f"  ServiceNow now holds {len(sandbox.records(remediation_table())):,} remediation tasks")
    print(line)
    print("Next: `make ui` opens the Dagster UI (asset graph, this run); query the tables with")
    print(f"  uv run python -c \"import duckdb; print(duckdb.connect('{settings.duckdb_path}', "
          "read_only=True).sql('select * from marts.control_results limit 5'))\"")
    print(line)
