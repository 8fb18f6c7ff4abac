"""Keep an instance's state between runs, as a real vendor does between two syncs.

The seed regenerates everything written before the anchor, so a snapshot holds only what changed
after it: records created or modified since the anchor (their full raw values), deleted ids, the
number counters and the write RNG state (so new sys_ids never repeat an earlier run's). JSON,
written atomically.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from sandbox.servicenow.store import Store

SNAPSHOT = "servicenow.json"


def save(store: Store, directory: Path) -> Path:
    anchor = store.anchor.strftime("%Y-%m-%d %H:%M:%S")
    with store.lock:
        changed = {
            name: [table.record(r) for r in table.alive_rows() if table.record(r)["sys_updated_on"] > anchor]
            for name, table in store.tables.items()
        }
        state: dict[str, Any] = {
            "seed": store.seed, "size": store.size, "anchor": anchor,
            "records": {k: v for k, v in changed.items() if v},
            "deleted": list(store.deleted), "counters": store.counters, "touches": store.touches,
            "rng": store._rng.getstate(),
        }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SNAPSHOT
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)
    return path


def load(store: Store, directory: Path) -> bool:
    """Apply a snapshot on top of the freshly seeded store; False when there is none."""
    path = directory / SNAPSHOT
    if not path.exists():
        return False
    state = json.loads(path.read_text())
    if (state["seed"], state["size"]) != (store.seed, store.size):
        raise ValueError(f"{path} was saved for seed {state['seed']} and size {state['size']}; "
                         f"remove it or start the sandbox with those values")
    with store.lock:
        for name, records in state["records"].items():
            table = store.tables[name]
            for record in records:
                row = table.row_of(record["sys_id"])
                if row is None:
                    table.append(record)
                else:
                    table.replace(row, record)
        for gone in state["deleted"]:
            table = store.tables[gone["table"]]
            row = table.row_of(gone["sys_id"])
            if row is not None:
                table.remove(row)
        store.deleted = list(state["deleted"])
        # A state saved before a table existed keeps that table's seeded counter.
        store.counters = {**store.counters, **state["counters"]}
        store.touches = int(state["touches"])
        rng_state = state["rng"]
        store._rng = random.Random()
        store._rng.setstate((rng_state[0], tuple(rng_state[1]), rng_state[2]))
        store.engine.clear()
    return True
