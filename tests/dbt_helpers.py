"""Run dbt against a given warehouse from tests, without touching the project's target/ folder."""

from __future__ import annotations

import os
import subprocess

from assets.dbt import DBT_PROJECT_DIR, dbt_executable
from pipelines.common.warehouse import WarehouseSettings


def dbt(settings: WarehouseSettings, target_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **settings.env()}
    return subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir",
         str(DBT_PROJECT_DIR), "--target-path", str(target_path)],
        env=env, capture_output=True, text=True, check=False,
    )
