"""dbt's own command line, minus formatting log lines that no logger writes.

Dagster's builds start dbt as ``python cli/run_dbt.py <dbt arguments>`` (``assets.dbt.dbt_command()``).
dbt fires ~8,800 events in a full build of this project, 770 of them at ``info`` (the ones dagster-dbt
reads from stdout) and the rest at ``debug``: every SQL statement, connection and cache action. Each of
dbt's loggers (stdout, at ``info``; the log file, at ``warn`` on Dagster's builds) formats every event
into a line, JSON with its keys sorted and scrubbed of secrets for stdout, and only then lets Python's
``logging`` drop it below the logger's level: 16,000 lines formatted to write 770. Skipping the line
when the logger would drop it anyway took a full build from 11.1 s to 9.2 s on 2 cores
(``benchmarks/bench_dbt.py --overheads``); what dbt writes, and where, is unchanged, and
``--log-level debug`` still writes every line.

The patch is applied only where dbt's logger has the shape it was written for (dbt-common 1.x);
otherwise dbt runs unpatched. Run as a script, not imported: the file's folder leaves ``sys.path`` first,
so nothing beside it shadows a module dbt imports, and its name does not start with ``dbt_``, which dbt's
plugin discovery would import as a plugin.
"""

import os
import sys

if __name__ == "__main__" and sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
    del sys.path[0]  # this folder (absent under `python -P`): none of its modules are dbt's

import logging

# dbt's level names -> Python's; dbt logs "test" events at debug (dbt_common.events.logger.send_to_logger).
LEVELS = {"test": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
          "error": logging.ERROR}


def skip_unwritten_lines() -> bool:
    """Make dbt's loggers format a line only when their Python logger will write it. True if patched."""
    try:
        from dbt_common.events import logger as dbt_logger
        original, is_print_event = dbt_logger._Logger.write_line, dbt_logger._is_print_event
    except (ImportError, AttributeError):
        return False
    if getattr(original, "skips_unwritten_lines", False):
        return True

    def write_line(self, msg):
        python_logger = getattr(self, "_python_logger", None)
        # A print event is sent at error level (dbt's own rule, so `--quiet` still prints it).
        if (python_logger is not None and not is_print_event(msg)
                and not python_logger.isEnabledFor(LEVELS.get(msg.info.level, logging.ERROR))):
            return
        original(self, msg)

    write_line.skips_unwritten_lines = True
    dbt_logger._Logger.write_line = write_line
    return True


def main() -> int:
    skip_unwritten_lines()
    from dbt.cli.main import cli

    return cli()


if __name__ == "__main__":
    sys.exit(main())
