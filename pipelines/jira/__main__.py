"""``python -m pipelines.jira``: sync Jira into the warehouse using the spec's env vars (see config.py)."""

import sys

from pipelines.common.runner import run_source
from pipelines.jira import jira_source
from pipelines.jira.config import source_kwargs_from_env

if __name__ == "__main__":
    try:
        kwargs = source_kwargs_from_env()
    except ValueError as exc:
        sys.exit(str(exc))
    run_source("jira", jira_source(**kwargs))
