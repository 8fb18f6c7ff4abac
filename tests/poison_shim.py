"""Test-only: run ``python -m pipelines.<vendor>`` with a record that kills the process while its row is
built (``os._exit(137)``, as the OOM killer would), to test :mod:`pipelines.common.poison`.

``python -m tests.poison_shim <vendor>``; ``PROJECTX_TEST_POISON_ID``: the key of the poison record
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


def main() -> None:
    vendor = sys.argv.pop(1)
    poison = os.environ.get(POISON_ENV)
    if vendor != "servicenow":
        raise SystemExit(f"no poison shim for {vendor}")
    run = _servicenow(poison) if poison else __import__("pipelines.servicenow.__main__", fromlist=["main"]).main
    run()


if __name__ == "__main__":
    main()
