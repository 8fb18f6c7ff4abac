"""``python -m pipelines.servicenow``: sync ServiceNow into the warehouse using the spec's env vars."""

from pipelines.common.runner import ca_verify, env, run_source
from pipelines.servicenow import servicenow_source

if __name__ == "__main__":
    run_source(
        "servicenow",
        servicenow_source(
            base_url=env("SERVICENOW_BASE_URL", required=True),
            client_id=env("SERVICENOW_OAUTH_CLIENT_ID", required=True),
            client_secret=env("SERVICENOW_OAUTH_CLIENT_SECRET", required=True),
            username=env("SERVICENOW_USER"),
            password=env("SERVICENOW_PASSWORD"),
            verify=ca_verify(),
        ),
    )
