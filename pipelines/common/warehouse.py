"""Where data lands: the embedded DuckDB file by default, PostgreSQL for scale-out.

One place reads the settings, shared by the dlt runners, dbt (through the same env vars in
``profiles.yml``) and the Dagster resources:

- ``PROJECTX_WAREHOUSE``: ``duckdb`` (default) or ``postgres``;
- ``PROJECTX_DUCKDB_PATH``: the DuckDB file (default ``data/warehouse.duckdb`` in the repo);
- PostgreSQL through libpq's own variables ``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``,
  ``PGDATABASE`` (defaults 127.0.0.1, 5432, postgres, none, projectx), read alike by dlt, dbt
  (``profiles.yml``) and psycopg2;
- ``PROJECTX_DATA_DIR``: dlt working state and other local files (default ``data/``).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import dlt

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class WarehouseSettings:
    kind: str = "duckdb"
    duckdb_path: str = str(REPO_ROOT / "data" / "warehouse.duckdb")
    pg_host: str = "127.0.0.1"
    pg_port: int = 5432
    pg_user: str = "postgres"
    pg_password: str = ""
    pg_database: str = "projectx"
    data_dir: str = str(REPO_ROOT / "data")

    @classmethod
    def from_env(cls) -> WarehouseSettings:
        default = cls()
        kind = os.environ.get("PROJECTX_WAREHOUSE", default.kind).lower()
        if kind not in ("duckdb", "postgres"):
            raise ValueError(f"PROJECTX_WAREHOUSE={kind!r} is not supported: use 'duckdb' or 'postgres'")
        return cls(
            kind=kind,
            duckdb_path=os.environ.get("PROJECTX_DUCKDB_PATH", default.duckdb_path),
            pg_host=os.environ.get("PGHOST", default.pg_host),
            pg_port=int(os.environ.get("PGPORT", default.pg_port)),
            pg_user=os.environ.get("PGUSER", default.pg_user),
            pg_password=os.environ.get("PGPASSWORD", default.pg_password),
            pg_database=os.environ.get("PGDATABASE", default.pg_database),
            data_dir=os.environ.get("PROJECTX_DATA_DIR", default.data_dir),
        )

    def destination(self):
        if self.kind == "duckdb":
            from dlt.destinations.impl.duckdb.configuration import DuckDbCredentials

            Path(self.duckdb_path).parent.mkdir(parents=True, exist_ok=True)
            credentials = DuckDbCredentials(self.duckdb_path)
            # Bounded memory: DuckDB spills merges of big tables to disk instead of growing with them.
            credentials.global_config = {
                "memory_limit": os.environ.get("PROJECTX_DUCKDB_MEMORY_LIMIT", "384MB"),
                "preserve_insertion_order": False,
            }
            # One load job per table at a time: DuckDB holds the rows of every open insert in memory
            # until it commits, so parallel jobs into one big table add up (and run out of memory
            # under the cap); jobs for different tables still run side by side.
            return dlt.destinations.duckdb(credentials, loader_parallelism_strategy="table-sequential")
        # A connection string, so trust/peer auth with no password works (dlt's dict form demands one).
        c = self.pg_credentials()
        password = quote(c["password"] or "", safe="")
        return dlt.destinations.postgres(
            credentials=f"postgresql://{quote(c['username'], safe='')}:{password}@{c['host']}:{c['port']}/"
            f"{quote(c['database'], safe='')}"
        )

    def pg_credentials(self) -> dict:
        return {
            "host": self.pg_host, "port": self.pg_port, "username": self.pg_user,
            "password": self.pg_password or None, "database": self.pg_database,
        }

    def env(self) -> dict[str, str]:
        """The variables dbt's profiles.yml reads, so a dbt subprocess sees the same warehouse."""
        return {
            "PROJECTX_WAREHOUSE": self.kind, "PROJECTX_DUCKDB_PATH": self.duckdb_path,
            "PGHOST": self.pg_host, "PGPORT": str(self.pg_port), "PGUSER": self.pg_user,
            "PGPASSWORD": self.pg_password, "PGDATABASE": self.pg_database,
        }

    def pipeline(self, source_name: str, *, progress: str | None = None, dataset: str | None = None,
                 definition_only: bool = False) -> dlt.Pipeline:
        """The dlt pipeline of one vendor: dataset named after the vendor (or ``dataset``), state kept
        under data_dir.

        ``definition_only``: a pipeline that only describes the assets (name, destination, dataset) and
        never runs, kept in its own folder (``<data_dir>/dlt/.definitions``). Every process that loads
        the Dagster definitions builds one per vendor; in the syncs' own folder it would create files
        while a running sync wipes and rebuilds that folder (dagster-dlt drops a pipeline's local state
        before each run), and the sync would fail with ``Directory not empty``."""
        # Arrow pages skip dlt's load id column unless asked; staging and freshness need it.
        dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True
        # Rotate extract files so normalize (which rewrites each file to add the load id) and load
        # handle one bounded file at a time: memory stays flat however big the table.
        dlt.config["data_writer.file_max_items"] = 100_000
        # Once a load package has committed, its data files are dead weight (266 MB after a 1M-row
        # sync): drop them; the package's metadata and the load log stay for inspection.
        dlt.config["load.delete_completed_jobs"] = True
        # One resource (table) at a time: each reads its pages `concurrency` at once, and a vendor's
        # request limit is per client, so round-robin over tables would multiply it by their number.
        dlt.config["extract.next_item_mode"] = "fifo"
        pipelines_dir = Path(self.data_dir) / "dlt"
        if definition_only:
            pipelines_dir = pipelines_dir / ".definitions"
        name = self.pipeline_name(source_name)
        with opening_lock(pipelines_dir, name):
            return dlt.pipeline(
                pipeline_name=name,
                destination=self.destination(),
                dataset_name=dataset or source_name,
                pipelines_dir=str(pipelines_dir),
                progress=progress,
            )

    def pipeline_name(self, source_name: str) -> str:
        """The dlt pipeline (and working folder) name of one vendor on this warehouse."""
        return f"projectx_{source_name}_{self.kind}"

    def describe(self) -> str:
        """A human description without credentials."""
        if self.kind == "duckdb":
            return f"DuckDB file {self.duckdb_path}"
        return f"PostgreSQL {self.pg_user}@{self.pg_host}:{self.pg_port}/{self.pg_database}"


@contextmanager
def opening_lock(pipelines_dir: Path, name: str) -> Iterator[None]:
    """Held while a process opens (or creates, or discards) one pipeline's working folder.

    dlt creates a missing working folder by wiping whatever is there and then making it: processes that
    open the same new pipeline at once (Celery workers loading the definitions side by side, each of
    which builds every vendor's pipeline) delete the folder under each other (``Directory not empty``,
    ``File exists``). Opening takes milliseconds, so a blocking ``flock`` is enough; it is not the lock a
    sync holds for its whole run (``pipelines/common/recovery.py``), so loading the definitions never
    waits for a running sync."""
    pipelines_dir.mkdir(parents=True, exist_ok=True)
    with open(pipelines_dir / f"{name}.open.lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
