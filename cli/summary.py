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


def _checks(result) -> tuple[int, list[str]]:
    passed, failed = 0, []
    for event in result.all_events:
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            data = event.event_specific_data
            if data.passed:
                passed += 1
            else:
                failed.append(f"{data.asset_key.to_user_string()}:{data.check_name}")
    return passed, failed


def _query(settings: WarehouseSettings, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def print_summary(result, settings: WarehouseSettings, sandbox, elapsed: float) -> None:
    mats = _materializations(result)
    passed, failed = _checks(result)
    line = "=" * 78
    print(f"\n{line}\nProject X full sync: {'SUCCEEDED' if result.success else 'FAILED'} "
          f"in {elapsed:.1f}s  (run {result.run_id[:8]})\n{line}")
    if not result.success:
        for event in result.all_events:
            if event.event_type == DagsterEventType.STEP_FAILURE:
                error = event.event_specific_data.error
                print(f"  step {event.step_key} failed: {error.message.strip()[:400] if error else ''}")
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
    if result.success:
        counts = _query(settings, """
            select 'servicenow incidents', count(*) from servicenow.incidents
            union all select 'jira issues', count(*) from jira.issues
            union all select 'onetrust assessments', count(*) from onetrust.assessments""")
        print("  warehouse holds " + ", ".join(f"{n:,} {what}" for what, n in counts))
        print("Transformation (dbt build)")
        models = sum(1 for k in mats if k.split("/")[0] in ("staging", "intermediate", "marts", "outbound"))
        print(f"  {models} models built; {passed} tests passed, {len(failed)} failed"
              + (f": {', '.join(failed[:5])}" if failed else ""))
        for control_id, status, n in _query(settings, """
                select control_id, status, count(*) from marts.control_results
                group by 1, 2 order by 1, 2"""):
            print(f"  control {control_id}: {n:>5} {status}")
        open_tasks = _query(settings, """
            select queue, priority, count(*) from marts.tasks where status = 'open'
            group by 1, 2 order by 1, 2""")
        print("  open tasks: " + ", ".join(f"{q}/{p} {n}" for q, p, n in open_tasks))
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
