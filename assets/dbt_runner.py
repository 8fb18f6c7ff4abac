"""dbt builds inside the step's own process, for processes that already hold dbt (the warm Celery workers).

dagster-dbt runs every dbt command as a subprocess and reads its JSON log lines. A subprocess imports
dbt, its adapter and their dependencies again and parses the project before its first node: 3-5 s of
every build on 2 cores, on the critical path of every scale-out cycle. A Celery worker of the
scale-out profile imported all of it before forking its pool (``cli/celery_app.py``), so there the same
build can run through dbt's programmatic entry point, ``dbtRunner``, in the step's process.

:class:`InProcessDbt` is the part of ``subprocess.Popen`` that dagster-dbt's ``DbtCliInvocation``
uses (``args``, ``stdout`` as lines of bytes, ``wait()``, ``returncode``, ``send_signal()``): dbt runs
in a thread and every event it fires is written to ``stdout`` as the JSON line the CLI prints with
``DBT_LOG_FORMAT=json``, so dagster-dbt turns them into the same materializations and check results.
The resource opts in per build (``ProjectDbtCliResource.in_process``); everything else (its target
folder, partial parse, selection, error reporting) stays dagster-dbt's.

dbt's flags, adapters and event manager are process-wide, and it reads its settings from
``os.environ``: one in-process build runs at a time per process (a lock), with the build's environment
applied for its duration and put back after. The embedded default (DuckDB, every step in the run's own
process) keeps the subprocess: there a second DuckDB handle on the same file in one process would
clash with the run's own.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

IN_PROCESS_ENV = "PROJECTX_DBT_IN_PROCESS"
_ACTIVE: ContextVar[bool] = ContextVar("projectx_dbt_in_process", default=False)
_ONE_BUILD = threading.Lock()  # dbt's global state: one in-process build per process at a time
_STDOUT_LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3, "none": 4}


def in_process_default(environ: Mapping[str, str] = os.environ) -> bool:
    """``PROJECTX_DBT_IN_PROCESS`` (1/true/yes or 0/false/no) when set; else on for the Celery executor
    (warm workers with dbt imported), off elsewhere."""
    raw = environ.get(IN_PROCESS_ENV, "").strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    if raw:
        raise ValueError(f"{IN_PROCESS_ENV}={raw!r} is not a switch: use 1 or 0 (or unset it for the default)")
    return environ.get("PROJECTX_EXECUTOR", "").strip().lower() == "celery"


@contextlib.contextmanager
def active() -> Iterator[None]:
    """dagster-dbt invocations started inside this block run in process (see :func:`install`)."""
    token = _ACTIVE.set(True)
    try:
        yield
    finally:
        _ACTIVE.reset(token)


class _Lines:
    """``Popen.stdout``'s surface for dagster-dbt: iterated for lines of bytes, used as a context
    manager, ``closed``. Unbounded, so dbt never blocks on a reader that stopped reading."""

    _END = object()

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.closed = False

    def put(self, line: str) -> None:
        self._queue.put(line.encode("utf-8", "replace") + b"\n")

    def end(self) -> None:
        self._queue.put(self._END)

    def __iter__(self) -> Iterator[bytes]:
        while not self.closed:
            item = self._queue.get()
            if item is self._END:
                self.closed = True
                return
            yield item

    def __enter__(self) -> _Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


@contextlib.contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` as ``env`` for the block (dbt reads its flags and ``env_var()`` there), then as it was."""
    before = dict(os.environ)
    os.environ.update(env)
    for key in set(before) - set(env):
        os.environ.pop(key, None)
    try:
        yield
    finally:
        for key in set(os.environ) - set(before):
            os.environ.pop(key, None)
        os.environ.update(before)


class InProcessDbt:
    """A dbt command run by ``dbtRunner`` in a thread of this process, shaped like ``subprocess.Popen``
    for dagster-dbt (see the module's docstring). ``args[0]`` is the dbt executable and is not run."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: str | Path) -> None:
        self.args = list(args)
        self.returncode: int | None = None
        self.stdout = _Lines()
        self._env = {**env, "DBT_PROJECT_DIR": str(env.get("DBT_PROJECT_DIR") or cwd)}
        # dagster-dbt gives the build's folder relative to the project (the subprocess's cwd); this
        # process keeps its own cwd (other threads use it), so the folder is made absolute instead.
        for key in ("DBT_TARGET_PATH", "DBT_LOG_PATH"):
            if self._env.get(key) and not Path(self._env[key]).is_absolute():
                self._env[key] = str(Path(cwd) / self._env[key])
        floor = str(env.get("DBT_LOG_LEVEL") or "info").lower()
        self._floor = _STDOUT_LEVELS.get(floor, 1)
        self._errors = 0
        self._write = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="dbt-in-process", daemon=True)
        self._thread.start()

    def _emit(self, msg: Any) -> None:
        """One dbt event -> the JSON line ``dbt --log-format json`` prints, at the levels it prints."""
        from dbt_common.events.functions import msg_to_json

        level = _STDOUT_LEVELS.get(msg.info.level, 1)
        if level < self._floor:
            return
        if level == _STDOUT_LEVELS["error"]:
            self._errors += 1
        line = msg_to_json(msg)
        with self._write:
            self.stdout.put(line)

    def _run(self) -> None:
        code = 2
        try:
            with _ONE_BUILD, _environment(self._env):
                from dbt.cli.main import dbtRunner

                # The stdout logger writes nothing here: every event reaches dagster-dbt through _emit.
                result = dbtRunner(callbacks=[self._emit]).invoke([*self.args[1:], "--log-level", "none"])
            code = 0 if result.success else (2 if result.exception is not None else 1)
            if result.exception is not None and not self._errors:
                self._fail_line(result.exception)
        except BaseException as exc:  # never leave the reader waiting: the build failed, say why
            log.exception("dbt failed in process")
            self._fail_line(exc)
        finally:
            self.returncode = code
            self.stdout.end()

    def _fail_line(self, exc: BaseException) -> None:
        text = f"dbt stopped with {type(exc).__name__}: {exc}"
        event = {"info": {"name": "MainEncounteredError", "level": "error", "msg": text, "ts": "",
                          "invocation_id": "", "pid": os.getpid(), "thread": "dbt-in-process",
                          "category": "", "code": "Z002", "extra": {}},
                 "data": {"exc": text}}
        with self._write:
            self.stdout.put(json.dumps(event))

    def wait(self, timeout: float | None = None) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            import subprocess

            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self.returncode if self.returncode is not None else 2

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.returncode

    def send_signal(self, sig: int) -> None:
        """dbt offers no way to stop a programmatic build: it finishes its running nodes; the step's
        interruption is reported by Dagster meanwhile."""
        log.warning("interrupt for an in-process dbt build (signal %s): it ends with its running nodes", sig)


def install() -> None:
    """Make dagster-dbt start an :class:`InProcessDbt` instead of a subprocess inside :func:`active`
    blocks; outside them (and in every other process) nothing changes. Idempotent."""
    import subprocess

    import dagster_dbt.core.dbt_cli_invocation as invocation

    if isinstance(invocation.subprocess, _Subprocess):
        return
    invocation.subprocess = _Subprocess(subprocess)


class _Subprocess:
    """The ``subprocess`` module as dagster-dbt's invocation module sees it: ``Popen`` starts an
    :class:`InProcessDbt` inside :func:`active`, the real ``Popen`` otherwise; all else is the module's."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def Popen(self, args: Sequence[str], *rest: Any, **kwargs: Any) -> Any:
        if _ACTIVE.get():
            return InProcessDbt(args, kwargs.get("env") or os.environ, kwargs.get("cwd") or os.getcwd())
        return self._module.Popen(args, *rest, **kwargs)
