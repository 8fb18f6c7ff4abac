"""cli/run_dbt.py: dbt's command line that formats only the log lines a logger writes."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from assets.dbt import DBT_LAUNCHER, DBT_PROJECT_DIR, dbt_command, dbt_resource
from cli import run_dbt


class FormattingLogger:
    """dbt's _Logger contract as the patch sees it: a Python logger, and a line formatted per call."""

    def __init__(self, level: int):
        self._python_logger = logging.getLogger(f"test_run_dbt.{level}.{id(self)}")
        self._python_logger.setLevel(level)
        self.formatted: list[str] = []


def event(level: str, name: str = "SQLQuery") -> SimpleNamespace:
    return SimpleNamespace(info=SimpleNamespace(level=level, name=name))


@pytest.fixture
def patched(monkeypatch):
    from dbt_common.events import logger as dbt_logger

    def original(self, msg):  # stands for dbt's write_line: format the line, hand it to logging
        self.formatted.append(msg.info.name)

    monkeypatch.setattr(dbt_logger._Logger, "write_line", original)
    monkeypatch.setattr(dbt_logger, "_is_print_event", lambda msg: msg.info.name == "PrintEvent")
    assert run_dbt.skip_unwritten_lines()
    return dbt_logger._Logger.write_line


def test_a_line_below_the_loggers_level_is_never_formatted(patched):
    info_logger = FormattingLogger(logging.INFO)
    for level in ("debug", "test", "info", "warn", "error"):
        patched(info_logger, event(level, name=level))
    assert info_logger.formatted == ["info", "warn", "error"]

    warn_file = FormattingLogger(logging.WARNING)  # Dagster's builds: --log-level-file warn
    for level in ("debug", "info", "warn"):
        patched(warn_file, event(level, name=level))
    assert warn_file.formatted == ["warn"]


def test_debug_logging_and_prints_and_unknown_levels_are_still_written(patched):
    debug_logger = FormattingLogger(logging.DEBUG)  # --log-level debug: every line, as before
    patched(debug_logger, event("debug"))
    assert debug_logger.formatted == ["SQLQuery"]

    quiet = FormattingLogger(logging.ERROR)  # --quiet: dbt sends a print event at error level
    patched(quiet, event("info", name="PrintEvent"))
    patched(quiet, event("info"))
    patched(quiet, event("fatal", name="Unknown"))  # a level this file does not know: kept
    assert quiet.formatted == ["PrintEvent", "Unknown"]

    callback_only = SimpleNamespace(_python_logger=None, formatted=[])  # dbt's callback-only logger
    patched(callback_only, event("debug"))
    assert callback_only.formatted == ["SQLQuery"]


def test_patching_twice_wraps_once(patched):
    assert run_dbt.skip_unwritten_lines()
    from dbt_common.events import logger as dbt_logger

    assert dbt_logger._Logger.write_line is patched


def test_dagsters_builds_start_dbt_through_the_launcher():
    assert dbt_command() == [sys.executable, str(DBT_LAUNCHER)]
    resource = dbt_resource()
    assert resource.dbt_executable == sys.executable
    assert resource.global_config_flags[0] == str(DBT_LAUNCHER)
    assert resource._cli_version.major == 1  # the imported dbt's version, no `--version` subprocess


def launched(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*dbt_command(), "--log-format", "json", *args, "--project-dir", str(DBT_PROJECT_DIR),
                           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
                           "--log-path", str(tmp_path / "logs")],
                          capture_output=True, text=True, check=False, cwd=DBT_PROJECT_DIR,
                          env={**os.environ, "PROJECTX_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb")})


def levels(stdout: str) -> set[str]:
    return {json.loads(line)["info"]["level"] for line in stdout.splitlines() if line.startswith("{")}


def test_the_launcher_runs_dbt_and_writes_what_each_level_asks_for(tmp_path):
    info = launched(tmp_path, "ls", "--resource-type", "seed")
    assert info.returncode == 0, info.stdout[-2000:] + info.stderr[-2000:]
    listed = [e["info"]["msg"] for e in map(json.loads, info.stdout.splitlines()) if e["info"]["name"] == "PrintEvent"]
    assert len(listed) == len(list((DBT_PROJECT_DIR / "seeds").rglob("*.csv"))) > 0  # one line per seed
    assert levels(info.stdout) == {"info"}

    debug = launched(tmp_path, "--log-level", "debug", "ls", "--resource-type", "seed")
    assert debug.returncode == 0, debug.stdout[-2000:] + debug.stderr[-2000:]
    assert "debug" in levels(debug.stdout)
    assert (tmp_path / "logs" / "dbt.log").stat().st_size > 0  # the file logger (debug by default) wrote

    failed = launched(tmp_path, "ls", "--select", "no_such_model_anywhere+", "--warn-error")
    assert failed.returncode != 0  # dbt's own exit status comes through
