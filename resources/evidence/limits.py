"""The Evidence Library's numeric limits, read from the environment and checked.

Each is a whole number (bytes, or times a file's size); unset or empty means the default. A value
that is not one, or is below its minimum, stops with the variable, what came, what to set and the
default, never a bare ``invalid literal for int()`` from deep in an ingest:

- ``PROJECTX_EVIDENCE_MAX_BYTES``: the size limit (default 100 MiB);
- ``PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES``: what an archive may expand to, all levels (default
  max(10 x the size limit, 1 GiB)); past it the file waits, pending;
- ``PROJECTX_EVIDENCE_MAX_SCAN_BYTES``: what clamd reads of a file, the file and all it expands to (default
  400 MiB, clamd's default ``MaxScanSize``; keep it at or below clamd's): past it the file waits, pending;
- ``PROJECTX_EVIDENCE_MAX_RATIO``: an archive expanding to more than this many times its own size is
  a zip bomb, quarantined (default 200) ...
- ``PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES``: ... once past this many bytes (default 100 MiB; 0: from
  the first byte).
"""

from __future__ import annotations

# The checks themselves are shared by every layer (pipelines.common.envvars); the Evidence Library's
# callers keep importing them from here.
from pipelines.common.envvars import env_bool, env_int

__all__ = ["env_bool", "env_int"]
