"""The one place where the platform is assembled: assets, checks, jobs, schedules, resources.

Policy only: the environment (PROJECTX_ENV) picks cadences and the Vault prefix; the warehouse
(PROJECTX_WAREHOUSE) and PROJECTX_EXECUTOR pick the executor (resources/scale_out.py) — DuckDB has one
writer, so runs execute in process there; Celery workers on RabbitMQ are the scale-out profile.
"""

from dagster import Definitions
from dagster_dlt import DagsterDltResource

from assets.dbt import dbt_resource, projectx_dbt_models
from assets.evidence import evidence_stores_ingest
from assets.health.checks import health_job, health_schedules, integration_health
from assets.jira import build_jira_assets
from assets.notifications import build_notification_assets, notifications_no_failing_email
from assets.notifications.actions import task_decisions_asset
from assets.notifications.alerts import ops_alerts
from assets.notifications.email_bridge import email_bridge_inbound
from assets.onetrust import build_onetrust_assets
from assets.reconciliation.checks import PARITY_CHECKS
from assets.reconciliation.findings import findings_asset
from assets.reconciliation.nightly import build_reconciliation_assets
from assets.reverse_sync.jira import jira_remediation_no_dead_letters, jira_remediation_push
from assets.reverse_sync.onetrust import onetrust_attestation_push, onetrust_attestations_no_dead_letters
from assets.reverse_sync.reconcile import reverse_sync_reconciliation
from assets.reverse_sync.servicenow import servicenow_remediation_no_dead_letters, servicenow_remediation_push
from assets.servicenow import build_servicenow_assets
from resources.environment import current_environment
from resources.jira import JiraResource
from resources.notifications import NotificationsResource
from resources.onetrust import OneTrustResource
from resources.owners import with_owners
from resources.scale_out import executor
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource
from sensors.bootstrap import bootstrap_sensor
from sensors.nightly import nightly_reconciliation_job, nightly_schedule
from sensors.run_failure import build_run_failure_retry_sensor, build_run_failure_sensor
from sensors.schedules import JOBS, schedules_for
from sensors.webhook_inbox import webhook_inbox_asset, webhook_inbox_sensor


@with_owners  # every asset gets its group's owners from resources/owners.yaml
def build_definitions(**resource_overrides) -> Definitions:
    """Definitions for the current environment; tests pass resource overrides."""
    env = current_environment()
    warehouse = WarehouseResource.from_env()
    resources = {
        "dlt": DagsterDltResource(),
        "dbt": dbt_resource(),
        "warehouse": warehouse,
        "servicenow": ServiceNowResource(vault_prefix=env.vault_prefix),
        "onetrust": OneTrustResource(vault_prefix=env.vault_prefix),
        "jira": JiraResource(vault_prefix=env.vault_prefix),
        "notifications": NotificationsResource(vault_prefix=env.vault_prefix),
        **resource_overrides,
    }
    return Definitions(
        assets=[*build_servicenow_assets(), *build_jira_assets(), *build_onetrust_assets(), projectx_dbt_models,
                servicenow_remediation_push, jira_remediation_push, onetrust_attestation_push, webhook_inbox_asset,
                integration_health, *build_notification_assets(), email_bridge_inbound, evidence_stores_ingest,
                *build_reconciliation_assets(), findings_asset(), reverse_sync_reconciliation,
                task_decisions_asset(), ops_alerts],
        asset_checks=[servicenow_remediation_no_dead_letters, jira_remediation_no_dead_letters,
                      onetrust_attestations_no_dead_letters, notifications_no_failing_email, *PARITY_CHECKS],
        jobs=[*JOBS, health_job, nightly_reconciliation_job],
        schedules=[*schedules_for(env), *health_schedules(env), nightly_schedule(env)],
        sensors=[bootstrap_sensor(env), webhook_inbox_sensor(env), build_run_failure_sensor(),
                 build_run_failure_retry_sensor()],
        resources=resources,
        executor=executor(),
    )


defs = build_definitions()
