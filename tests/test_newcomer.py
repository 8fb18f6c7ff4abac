"""A newcomer's first hour, the fast parts: the demo's --size message, the summary's open-tasks table,
the Dagster instance template off the repo root, `make ui PORT=`, and dlt noise fixed or named."""

from __future__ import annotations

import json
import logging
import subprocess
from pathlib import Path

import pytest

from cli.demo import DEFAULT_SIZE, demo_size, saved_size
from cli.summary import open_tasks_table
from pipelines.jira.quiet import FirstLoadDedupSortHint

ROOT = Path(__file__).resolve().parents[1]


def test_demo_size_on_first_run_and_rerun(tmp_path):
    assert saved_size(tmp_path) is None
    assert demo_size(None, None) == DEFAULT_SIZE
    assert demo_size(20000, None) == 20000
    (tmp_path / "servicenow.json").write_text(json.dumps({"seed": 42, "size": 20000}))
    assert saved_size(tmp_path) == 20000
    assert demo_size(None, 20000) == 20000, "a plain rerun keeps what the first run seeded"
    assert demo_size(20000, 20000) == 20000


def test_demo_size_that_disagrees_names_the_command_in_one_line():
    with pytest.raises(SystemExit) as exc:
        demo_size(20000, 2000)
    message = str(exc.value.code)
    assert "\n" not in message and "2,000" in message
    assert 'make demo ARGS="--reset --size 20000"' in message


def test_unreadable_sandbox_state_says_how_to_start_over(tmp_path):
    (tmp_path / "servicenow.json").write_text("{not json")
    with pytest.raises(SystemExit) as exc:
        saved_size(tmp_path)
    assert "--reset" in str(exc.value.code)


def test_open_tasks_is_a_small_table():
    rows = [("vendor-management", "high", 119), ("vendor-management", "low", 9), ("risk-analyst", "medium", 122),
            ("jira-sec", "high", 2), ("privacy-officer", "medium", 12)]
    lines = open_tasks_table(rows)
    assert lines[0].split() == ["queue", "high", "medium", "low", "total"]
    assert [line.split()[0] for line in lines[1:]] == ["jira-sec", "privacy-officer", "risk-analyst",
                                                       "vendor-management"]
    assert lines[-1].split() == ["vendor-management", "119", "0", "9", "128"]
    assert all(len(line) <= 78 for line in lines)


def test_dagster_instance_template_is_not_at_the_repo_root():
    """Dagster warns about a dagster.yaml in the folder `dagster dev` starts from (the repo root)."""
    assert not (ROOT / "dagster.yaml").exists()
    assert (ROOT / "resources" / "dagster.yaml").exists()
    makefile = (ROOT / "Makefile").read_text()
    assert "ensure_dagster_home()" in makefile


EARLIER_TEMPLATE = (  # resources/dagster.yaml before the pooled SQLite storage (commit 252cdb9)
    "# The Dagster instance settings `make setup` copies to $DAGSTER_HOME/dagster.yaml when there is none.\n"
    "# It lives here, not at the repo root, so `dagster dev` run from the root does not warn about a\n"
    "# dagster.yaml in the current folder that is not the instance's.\n"
    "telemetry:\n"
    "  enabled: false\n"
    "concurrency:\n"
    "  pools:\n"
    "    # Ingestion, dbt and reverse sync ops sit in the `warehouse` pool: one of them at a time across all\n"
    "    # runs, so a backfill never writes the DuckDB file (or a vendor's dlt state) beside a scheduled sync.\n"
    "    # On PostgreSQL, raise it with `dagster instance concurrency set warehouse <n>`.\n"
    "    default_limit: 1\n"
)


def test_setup_installs_the_instance_template_and_moves_unedited_earlier_ones(tmp_path):
    """A new home gets resources/dagster.yaml; one still on an earlier template, unedited, gets the current
    one (the pooled SQLite classes over the same files); an edited one is left alone."""
    from cli.demo import ensure_dagster_home

    template = (ROOT / "resources" / "dagster.yaml").read_text()
    ensure_dagster_home(tmp_path / "new")
    assert (tmp_path / "new" / "dagster.yaml").read_text() == template
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text(EARLIER_TEMPLATE)
    ensure_dagster_home(old)
    assert (old / "dagster.yaml").read_text() == template
    edited = tmp_path / "edited"
    edited.mkdir()
    (edited / "dagster.yaml").write_text("telemetry:\n  enabled: false\n# mine\n")
    ensure_dagster_home(edited)
    assert (edited / "dagster.yaml").read_text().endswith("# mine\n")


def test_make_ui_takes_a_port():
    dry = subprocess.run(["make", "-n", "ui", "PORT=3456"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert "-p 3456" in dry.stdout


def test_only_the_first_load_dedup_sort_warning_is_silenced():
    quiet = FirstLoadDedupSortHint()

    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("dlt", logging.WARNING, __file__, 1, message, None, None)

    assert not quiet.filter(record(
        'The "dedup_sort" column hint for column "updated" in table "issues" with write disposition "append" '
        'in schema "jira" will be ignored.'))
    assert quiet.filter(record(
        'The "dedup_sort" column hint for column "updated" in table "sprints" with write disposition "append" '
        'in schema "jira" will be ignored.'))
    assert quiet.filter(record("In schema x column a got normalized into a which collides with other column."))


def test_servicenow_attachments_keep_their_column_hints(make_servicenow_sandbox, duckdb_warehouse):
    """One hint dict per column: a shared one collapsed all four into `content_error` (a warning per run)."""
    from tests.test_servicenow_source import _source

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages: list[str] = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    collect = Collect()
    dlt_logger = logging.getLogger("dlt")  # dlt's own logger does not propagate to the root one
    dlt_logger.addHandler(collect)
    try:
        pipeline = duckdb_warehouse.pipeline("servicenow")
        pipeline.run(_source(make_servicenow_sandbox(size=200)), loader_file_format="parquet")
    finally:
        dlt_logger.removeHandler(collect)
    assert not [m for m in collect.messages if "collides with other column" in m]
    columns = pipeline.default_schema.get_table("attachments")["columns"]
    for name in ("sha256", "storage_uri", "content_status", "content_error"):
        assert columns[name]["name"] == name and columns[name]["data_type"] == "text"
