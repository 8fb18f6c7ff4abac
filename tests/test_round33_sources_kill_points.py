"""Round 33: syncs killed (SIGKILL) at each named point of their work while the vendor changes (the two that leave a
load package behind twice), then
one normal sync: the staging tables equal the vendor (nothing twice, nothing lost, nothing falsely deleted).

The random kill loops (tests/test_ingestion_crash.py) land in each dlt step by what its working folder shows;
here each kill lands exactly where the brief names it, by a shim (tests/crash_points_shim.py): mid-extract,
after extract before normalize, mid-load (jobs done, the package not yet marked loaded), right after the load
commit, and after ``pipeline.run`` returned but before the runner's own end.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.ingestion_harness import ROOT, assert_parity, sync, wait_a_second
from tests.test_ingestion_crash import SETUP, _jira

POINTS = ("mid_extract", "before_normalize", "mid_load", "after_load", "after_run")


def _killed_at(vendor: str, point: str) -> None:
    env = {**os.environ, "PROJECTX_TEST_KILL_AT": point}
    done = subprocess.run([sys.executable, "-m", "tests.crash_points_shim", vendor], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == -9, f"{vendor} not killed at {point} (rc {done.returncode}): {done.stderr[-2000:]}"


@pytest.mark.slow
@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_kills_at_every_named_point_then_one_sync_end_in_exact_parity(vendor, request, monkeypatch,
                                                                       duckdb_warehouse):
    sb, entities, change = SETUP[vendor](request, monkeypatch) if vendor != "jira" else _jira(request, monkeypatch)
    sync(vendor, "cli")
    # each point once, then the two that leave a load package behind once more (a crash loop there stacks them);
    # the random loops of tests/test_ingestion_crash.py repeat kills ten times, so this keeps the file's time down
    for n, point in enumerate((*POINTS, "mid_load", "after_load")):
        change(n)
        wait_a_second()
        _killed_at(vendor, point)
    wait_a_second()
    sync(vendor, "cli")
    for entity in entities:
        assert_parity(sb, duckdb_warehouse, entity)
