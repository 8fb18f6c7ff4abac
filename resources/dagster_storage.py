"""Dagster instance storage on PostgreSQL that keeps its connections (the scale-out profile's
``dagster.yaml``: ``run_storage``, ``event_log_storage`` and ``schedule_storage``).

``dagster-postgres`` opens a new connection for every statement (SQLAlchemy's ``NullPool``) outside
the webserver. A run writes about 1,500 events (each step's materializations, asset checks and
outputs, plus one "planned" event per asset and check before the first step starts), and storing one
event opens two or three connections: on this machine a full cycle spent 10 s before its first step
and 12 s of its dbt step just connecting (``benchmarks/bench_scale_out.py``). These classes are the
same storages with a small pool per process:

- the pool is per engine and per process: after ``fork`` (Celery's prefork pool) a child drops the
  parent's pooled connections without closing them (SQLAlchemy's rule for forked engines), so a
  connection is never shared by two processes;
- connections are checked with a ping when taken from the pool (a restarted server costs one
  reconnect, not a failed step) and replaced after ``POOL_RECYCLE_S``;
- ``dispose()`` (a Celery task ends with its instance) closes them, so a long-lived worker does not
  accumulate connections.

The classes import from the repo root: run ``dagster`` commands on this instance with
``PYTHONPATH=.`` from there (``make ui`` and the workers that ``cli/scale_out.py`` starts do).
"""

from __future__ import annotations

import os
import weakref
from typing import Any

import sqlalchemy
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from dagster_postgres.utils import create_pg_engine, get_token_provider_from_config, pg_url_from_config

POOL_SIZE = 2  # a process writes events from its step thread and, briefly, a log-capture thread
POOL_OVERFLOW = 6
POOL_RECYCLE_S = 3600

_ENGINES: weakref.WeakSet[sqlalchemy.engine.Engine] = weakref.WeakSet()


def _forget_after_fork() -> None:
    for engine in list(_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_after_fork)


def pooled_engine(postgres_url: str, token_provider: Any = None) -> sqlalchemy.engine.Engine:
    engine = create_pg_engine(postgres_url, token_provider, isolation_level="AUTOCOMMIT", pool_size=POOL_SIZE,
                              max_overflow=POOL_OVERFLOW, pool_recycle=POOL_RECYCLE_S, pool_pre_ping=True)
    _ENGINES.add(engine)
    return engine


class _Pooled:
    """Mixin: swap the storage's per-statement engine for a pooled one after it is built."""

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

    def dispose(self) -> None:
        parent = getattr(super(), "dispose", None)
        if parent is not None:
            parent()
        self._engine.dispose()


class PooledPostgresRunStorage(_Pooled, PostgresRunStorage):
    """``PostgresRunStorage`` with pooled connections."""


class PooledPostgresEventLogStorage(_Pooled, PostgresEventLogStorage):
    """``PostgresEventLogStorage`` with pooled connections."""


class PooledPostgresScheduleStorage(_Pooled, PostgresScheduleStorage):
    """``PostgresScheduleStorage`` with pooled connections."""
