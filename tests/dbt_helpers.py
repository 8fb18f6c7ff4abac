"""Run dbt against a given warehouse from tests, without touching the project's target/ folder."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from assets.dbt import DBT_PROJECT_DIR, build_target_root, dbt_command, keep_partial_parse
from pipelines.common.warehouse import WarehouseSettings


def dbt(settings: WarehouseSettings, target_path, *args: str) -> subprocess.CompletedProcess:
    """dbt, started as Dagster starts it (cli/run_dbt.py), in its own target folder, seeded with (and then
    keeping) the partial parse the Dagster builds of this test process keep (tests/conftest.py's
    ``duckdb_warehouse``): dbt checks it against the profile and project and parses in full when it does
    not apply."""
    env = {**os.environ, **settings.env()}
    target_path = Path(target_path)
    seed, own = build_target_root() / "partial_parse.msgpack", target_path / "partial_parse.msgpack"
    if seed.is_file() and not own.exists():
        target_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, own)
    result = subprocess.run(
        [*dbt_command(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(target_path)],
        env=env, capture_output=True, text=True, check=False,
    )
    if result.returncode == 0 and "DBT_TARGET_PATH" in os.environ:  # never into the checkout's target/
        keep_partial_parse(target_path)
    return result
