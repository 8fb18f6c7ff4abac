"""Test-only: run ``python -m pipelines.<vendor>`` killed by SIGKILL at a named point of the sync.

``python -m tests.crash_points_shim <vendor>``; ``PROJECTX_TEST_KILL_AT``: where (unset: an ordinary sync):

- ``mid_extract``: once the vendor resource's first item went to dlt (the rest of its page not);
- ``before_normalize``: extract committed its package, normalize not begun;
- ``mid_load``: every load job done, the package not yet marked loaded (dlt's load commit);
- ``after_load``: the package marked loaded, the process killed before it returns from ``pipeline.run``;
- ``after_run``: ``pipeline.run`` returned, before the runner's own end (the warehouse copy, the ledgers' settle).

Product code never reads that variable: this module patches dlt and the runner from outside.
"""

from __future__ import annotations

import os
import signal
import sys

POINT_ENV = "PROJECTX_TEST_KILL_AT"


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str) -> None:
    import dlt
    from dlt.load.load import Load

    from pipelines.common import poison, runner

    if point == "mid_extract":
        handle = poison.PoisonGuard.handle

        def dying_handle(self, *args, **kwargs):
            for item in handle(self, *args, **kwargs):
                yield item
                _die()  # once the first item of the run has gone to dlt (the rest of the page not)
        poison.PoisonGuard.handle = dying_handle
    elif point == "before_normalize":
        dlt.Pipeline.normalize = lambda self, *a, **k: _die()
    elif point in ("mid_load", "after_load"):
        complete = Load.complete_package

        def dying_complete(self, *args, **kwargs):
            if point == "mid_load":
                _die()
            complete(self, *args, **kwargs)
            _die()
        Load.complete_package = dying_complete
    elif point == "after_run":
        runner.normalized_rows = lambda pipeline: _die()
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main() -> None:
    vendor = sys.argv.pop(1)
    point = os.environ.get(POINT_ENV)
    if point:
        _arm(point)
    __import__(f"pipelines.{vendor}.__main__", fromlist=["main"]).main()


if __name__ == "__main__":
    main()
