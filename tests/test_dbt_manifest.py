"""The dbt manifest under concurrency: every process that loads the definitions (webserver, daemon, run and
step workers) calls ``prepare_manifest()``, so after an edit several find it stale at once. One parses, the
others wait and then find it current; the files are moved into place whole, so no reader sees half a
manifest (two parses writing into one folder left a corrupt ``manifest.json``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from assets.dbt import MANIFEST

ROOT = Path(__file__).resolve().parents[1]

# Each process says whether it ran `dbt parse` itself.
CHILD = """
import sys
from pathlib import Path
import assets.dbt as dbt
real = dbt._parse_into
def counted(*args):
    print("PARSED", flush=True)
    real(*args)
dbt._parse_into = counted
dbt.prepare_manifest(manifest=Path(sys.argv[1]))
"""


def test_processes_that_find_the_manifest_stale_at_once_parse_it_once_and_never_show_half_of_it(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    seed = MANIFEST.parent / "partial_parse.msgpack"
    if seed.is_file():  # a partial parse, as a deployment has: the parse takes seconds, not the whole project
        shutil.copyfile(seed, target / "partial_parse.msgpack")
    manifest = target / "manifest.json"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, str(manifest)], cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(3)]
    reads, deadline = 0, time.monotonic() + 300
    while any(c.poll() is None for c in children) and time.monotonic() < deadline:
        if manifest.exists():
            assert json.loads(manifest.read_bytes())["nodes"], "a reader saw a manifest without nodes"
            reads += 1
        time.sleep(0.02)
    outputs = [c.communicate(timeout=60) for c in children]
    assert [c.returncode for c in children] == [0, 0, 0], [err[-2000:] for _, err in outputs]
    assert sum(out.count("PARSED") for out, _ in outputs) == 1, "each process parsed for itself"
    nodes = json.loads(manifest.read_bytes())["nodes"]
    assert sum(n.startswith("model.") for n in nodes) > 50
    assert reads > 0 and not list(target.glob(".parse-*")), "the parse's scratch folder is removed"
