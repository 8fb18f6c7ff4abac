"""``python -m pipelines.servicenow``: sync ServiceNow into the warehouse using the spec's env vars.

A failure prints one sentence naming the URL tried; ``--debug`` (or ``PROJECTX_DEBUG=1``) shows the traceback.
"""

import sys

from pipelines.common.concurrency import sync_concurrency
from pipelines.common.entrypoint import check_arguments, run_cli
from pipelines.common.runner import ca_verify, env, run_source
from pipelines.servicenow import servicenow_source
from pipelines.servicenow.settings import DEFAULT_CONCURRENCY


def main() -> None:
    check_arguments("ServiceNow")  # before the settings: `--help` needs none
    base_url = env("SERVICENOW_BASE_URL", required=True)
    try:
        concurrency = sync_concurrency("servicenow", DEFAULT_CONCURRENCY)
    except ValueError as exc:
        sys.exit(str(exc))
    run_cli("ServiceNow", base_url, lambda: run_source(
        "servicenow",
        servicenow_source(
            base_url=base_url,
            client_id=env("SERVICENOW_OAUTH_CLIENT_ID", required=True),
            client_secret=env("SERVICENOW_OAUTH_CLIENT_SECRET", required=True),
            username=env("SERVICENOW_USER"),
            password=env("SERVICENOW_PASSWORD"),
            verify=ca_verify(),
            concurrency=concurrency,
        ),
    ))


if __name__ == "__main__":
    main()
