"""Test-only: run ``python -m pipelines.<vendor>`` with a record that kills the process while its row is
built (``os._exit(137)``, as the OOM killer would), to test :mod:`pipelines.common.poison`.

``python -m tests.poison_shim <vendor> [dagster]`` (``dagster``: through the vendor's ingest asset);
``PROJECTX_TEST_POISON_ID``: the key of the poison record
(unset: an ordinary sync). Product code never reads that variable: this module patches the vendor's row
building from outside.
"""

from __future__ import annotations

import os
import sys

POISON_ENV = "PROJECTX_TEST_POISON_ID"


def _servicenow(poison: str):
    import pipelines.servicenow as source
    from pipelines.servicenow.__main__ import main

    checked = source._checked

    def dying(page, *args, **kwargs):
        if any(isinstance(r, dict) and r.get("sys_id") == poison for r in page):
            os._exit(137)
        return checked(page, *args, **kwargs)

    source._checked = dying
    return main


def _jira(poison: str):
    from pipelines.jira.__main__ import main
    from pipelines.jira.issues import IssuePass

    page = IssuePass.page

    def dying(self, beans, *args, **kwargs):
        if any(isinstance(b, dict) and b.get("id") == poison for b in beans):
            os._exit(137)
        return page(self, beans, *args, **kwargs)

    IssuePass.page = dying
    return main


def _onetrust(poison: str):
    from pipelines.onetrust import rows
    from pipelines.onetrust.__main__ import main

    risk_row = rows.risk_row

    def dying(record, *args, **kwargs):
        if rows.uuid_key(record.get("id")) == poison:
            os._exit(137)
        return risk_row(record, *args, **kwargs)

    rows.risk_row = dying
    return main


SHIMS = {"servicenow": _servicenow, "jira": _jira, "onetrust": _onetrust}


def main() -> None:
    vendor = sys.argv.pop(1)
    via = sys.argv.pop(1) if len(sys.argv) > 1 else "cli"
    poison = os.environ.get(POISON_ENV)
    if vendor not in SHIMS:
        raise SystemExit(f"no poison shim for {vendor}")
    run = SHIMS[vendor](poison) if poison else __import__(f"pipelines.{vendor}.__main__", fromlist=["main"]).main
    if via == "dagster":
        from tests.ingestion_harness import DAGSTER_SCRIPT

        sys.argv = [sys.argv[0], vendor]
        exec(compile(DAGSTER_SCRIPT, "<ingest asset>", "exec"), {"__name__": "__main__"})
    else:
        run()


if __name__ == "__main__":
    main()
