"""Dagster instance storage on PostgreSQL that keeps its connections (the scale-out profile's
``dagster.yaml``: ``run_storage``, ``event_log_storage`` and ``schedule_storage``).

``dagster-postgres`` opens a new connection for every statement (SQLAlchemy's ``NullPool``) outside
the webserver. A run writes about 1,500 events (each step's materializations, asset checks and
outputs, plus one "planned" event per asset and check before the first step starts), and storing one
event opened two or three connections: on this machine a full cycle on 4 workers spent 10.5 s writing
its planned events before the first step could start (2.4 s pooled), and its dbt step took 7 s longer
(``benchmarks/bench_scale_out.py``). These classes are the same storages on a small pool:

- one pool per database and process: after ``fork`` (Celery's prefork pool) a child drops the
  parent's pooled connections without closing them (SQLAlchemy's rule for forked engines), so a
  connection is never shared by two processes;
- connections are checked with a ping when taken from the pool (a restarted server costs one
  reconnect, not a failed step) and replaced after ``POOL_RECYCLE_S``;
- every instance a process opens shares the process's pool for that database, so a long-lived Celery
  worker (dagster-celery opens an instance per step and never disposes it) holds at most
  ``POOL_SIZE + POOL_OVERFLOW`` connections, and its next step reuses them.

The embedded default's SQLite storages have the same cost: Dagster's SQLite classes build a new
engine for every statement, so each connection is opened anew and every statement is compiled again
(SQLAlchemy caches compiled SQL per engine). Creating a ``full_sync`` run writes 440 "planned" events:
6.0 s on this machine, most of it connecting and compiling; storing 1,000 events took 10.3 s.
``PooledSqlite*Storage`` below keep their engines: 1.6 s and 2.1 s (``benchmarks/bench_instance.py``
measures both side by side).

The classes import from the repo root, which the project's editable install puts on the path of every
``uv run`` command (``[tool.hatch.build]`` in ``pyproject.toml``).
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy
from dagster import Field, StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.storage.schedules import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import _event_logs_directory, _runs_directory, _schedule_directory
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

POOL_SIZE = 2  # a process writes events from its step thread and, briefly, a log-capture thread
POOL_OVERFLOW = 10  # the daemon's threads; overflow connections close when returned
POOL_RECYCLE_S = 3600

# One engine (one pool) per database URL and process, shared by every instance the process opens:
# dagster-celery opens an instance per step and never disposes it, so per-instance pools would pile up
# connections in a long-lived worker until the garbage collector found them.
_ENGINES: dict[tuple[int, str], sqlalchemy.engine.Engine] = {}
_LOCK = threading.Lock()


def _forget_after_fork() -> None:
    """In a forked child: drop the parent's pooled connections without closing them (they are the
    parent's sockets), and its engines with them."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def pooled_engine(postgres_url: str, token_provider: Any = None) -> sqlalchemy.engine.Engine:
    """The process's pooled engine for this database (a new one per call with a token provider:
    its connect hook belongs to the storage that owns it)."""
    kwargs = dict(isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW,
                  pool_recycle=POOL_RECYCLE_S, pool_pre_ping=True)
    if token_provider is not None:
        return create_pg_engine(postgres_url, token_provider, **kwargs)
    key = (os.getpid(), postgres_url)
    with _LOCK:
        if key not in _ENGINES:
            _ENGINES[key] = create_pg_engine(postgres_url, None, **kwargs)
        return _ENGINES[key]


class _Pooled:
    """Mixin: swap the storage's per-statement engine for the process's pooled one after it is built."""

    _engine: sqlalchemy.engine.Engine

    def __init__(self, postgres_url: str, should_autocreate_tables: bool = True, inst_data=None,
                 token_provider=None):
        super().__init__(postgres_url, should_autocreate_tables, inst_data=inst_data,  # type: ignore[call-arg]
                         token_provider=token_provider)
        self._engine.dispose()
        self._engine = pooled_engine(postgres_url, token_provider)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(pg_url_from_config(config_value), config_value.get("should_autocreate_tables", True),
                   inst_data=inst_data, token_provider=get_token_provider_from_config(config_value))


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """``PostgresRunStorage`` with pooled connections."""


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """``PostgresEventLogStorage`` with pooled connections."""


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    """``PostgresScheduleStorage`` with pooled connections."""


# --- The embedded default: SQLite --------------------------------------------------------------------

SQLITE_ENGINES_KEPT = 8  # run shards a process keeps engines for (the index shard counts as one)


def _instance_dir(dagster_home: str | None) -> str:
    """Where Dagster's default SQLite storage keeps its files: ``$DAGSTER_HOME`` itself (``history/``,
    ``schedules/``), so an instance can switch between the stock classes and these both ways."""
    home = dagster_home or os.environ.get("DAGSTER_HOME")
    if not home:
        raise RuntimeError("DAGSTER_HOME is not set: `make setup` sets up an instance in .dagster_home; "
                           "export DAGSTER_HOME=<that folder> (or give dagster_home in dagster.yaml)")
    return os.path.abspath(home)


SQLITE_CONFIG = {"dagster_home": Field(StringSource, is_required=False,
                                       description="The instance folder (default: $DAGSTER_HOME)")}


class SqliteEngines:
    """Engines kept per database file, the least recently used beyond ``keep`` disposed. A forked child
    drops its parent's engines without closing their connections (SQLAlchemy's rule for forks)."""

    def __init__(self, keep: int = SQLITE_ENGINES_KEPT, timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS):
        self._keep, self._timeout = keep, timeout
        self._engines: OrderedDict[str, sqlalchemy.engine.Engine] = OrderedDict()
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def get(self, conn_string: str) -> sqlalchemy.engine.Engine:
        with self._lock:
            if self._pid != os.getpid():
                for engine in self._engines.values():
                    engine.dispose(close=False)
                self._engines.clear()
                self._pid = os.getpid()
            engine = self._engines.pop(conn_string, None)
            if engine is None:
                # two kept connections; more threads at once (the webserver) get extra ones, closed on return
                engine = sqlalchemy.create_engine(conn_string, pool_size=2, max_overflow=-1,
                                                  connect_args={"timeout": self._timeout,
                                                                "check_same_thread": False})
            self._engines[conn_string] = engine
            while len(self._engines) > self._keep:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    def __len__(self) -> int:
        return len(self._engines)

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose(close=self._pid == os.getpid())
            self._engines.clear()


class _KeptEngine:
    """Mixin for Dagster's single-file SQLite storages (runs.db, schedules.db): one kept engine."""

    _conn_string: str
    _directory: Callable[[str], str]  # Dagster's folder for this storage under the instance folder

    @classmethod
    def config_type(cls):
        return SQLITE_CONFIG

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls.from_local(cls._directory(_instance_dir(config_value.get("dagster_home"))),  # type: ignore[attr-defined]
                              inst_data=inst_data)

    def __init__(self, *args, **kwargs):
        self._engines = SqliteEngines(keep=1, timeout=5)  # 5 s: sqlite3's default, which Dagster's use
        super().__init__(*args, **kwargs)

    @contextmanager
    def connect(self) -> Iterator[sqlalchemy.Connection]:
        with self._engines.get(self._conn_string).connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        super().dispose()  # type: ignore[misc]
        self._engines.dispose()


class PooledSqliteRunStorage(_KeptEngine, SqliteRunStorage):
    """``SqliteRunStorage`` on one kept engine (``history/runs.db``)."""

    _directory = staticmethod(_runs_directory)


class PooledSqliteScheduleStorage(_KeptEngine, SqliteScheduleStorage):
    """``SqliteScheduleStorage`` on one kept engine (``schedules/schedules.db``)."""

    _directory = staticmethod(_schedule_directory)


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` (one database per run plus an index) with engines kept for the index
    and the most recent runs' shards."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines = SqliteEngines()  # before super(): a new index is reindexed through _connect
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        return SQLITE_CONFIG

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(_event_logs_directory(_instance_dir(config_value.get("dagster_home"))), inst_data=inst_data)

    @contextmanager
    def _connect(self, shard: str) -> Iterator[sqlalchemy.Connection]:
        with self._db_lock:  # as Dagster's: one statement at a time per storage (watcher threads)
            engine = self._engines.get(self.conn_string_for_shard(shard))
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def wipe(self) -> None:
        self._engines.dispose()  # no connection may outlive the files wipe deletes
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self._engines.dispose()
