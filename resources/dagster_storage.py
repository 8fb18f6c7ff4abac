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

The classes import from the repo root: run ``dagster`` commands on this instance with
``PYTHONPATH=.`` from there (``make ui`` and the workers that ``cli/scale_out.py`` starts do).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import sqlalchemy
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
