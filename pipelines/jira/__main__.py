"""``python -m pipelines.jira``: sync Jira into the warehouse using the spec's env vars (see config.py).

A failure prints one sentence naming the URL tried; ``--debug`` (or ``PROJECTX_DEBUG=1``) shows the traceback.
"""

import sys

from pipelines.common.entrypoint import check_arguments, run_cli
from pipelines.common.runner import run_source
from pipelines.jira import jira_source, quiet
from pipelines.jira.config import source_kwargs_from_env


def main() -> None:
    check_arguments("Jira")  # before the settings: `--help` needs none
    quiet.install()
    try:
        kwargs = source_kwargs_from_env()
    except ValueError as exc:
        sys.exit(str(exc))
    run_cli("Jira", kwargs.get("base_url"), lambda: run_source("jira", jira_source(**kwargs)))


if __name__ == "__main__":
    main()
