"""Jobs and their schedules, at the cadences of spec §4 for the current environment."""

from __future__ import annotations

from dagster import AssetKey, AssetSelection, DefaultScheduleStatus, ScheduleDefinition, define_asset_job

from resources.environment import Environment

INCIDENTS = AssetKey(["servicenow", "incidents"])

full_sync_job = define_asset_job(
    "full_sync",
    selection=AssetSelection.all(),
    description="One whole cycle: ingest every vendor, build dbt, push results back to vendors.",
)

servicenow_incidents_job = define_asset_job(
    "servicenow_incidents_sync",
    selection=AssetSelection.keys(INCIDENTS).downstream(),
    description="ServiceNow incidents and everything downstream of them (marts, reverse sync).",
)


def schedules_for(env: Environment) -> list[ScheduleDefinition]:
    return [
        ScheduleDefinition(
            name="servicenow_incidents_schedule",
            job=servicenow_incidents_job,
            cron_schedule=env.cron_every(env.servicenow_incident_minutes),
            execution_timezone="UTC",
            default_status=DefaultScheduleStatus.STOPPED
            if env.name == "local" else DefaultScheduleStatus.RUNNING,
            description=f"Incidents every {env.servicenow_incident_minutes} min ({env.name}, spec §4).",
        ),
    ]
