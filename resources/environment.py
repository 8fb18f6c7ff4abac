"""The environment matrix of spec §4: one setting (PROJECTX_ENV) picks local, stg or prod."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class Environment:
    """Everything that differs between environments; code never branches on the name itself."""

    name: str
    vault_prefix: str
    servicenow_incident_minutes: int
    servicenow_change_minutes: int
    jira_minutes: int
    onetrust_hours: int
    alert_channel: str

    def cron_every(self, minutes: int) -> str:
        return f"*/{minutes} * * * *" if minutes < 60 else f"0 */{minutes // 60} * * *"

    def freshness_window(self, minutes: int) -> timedelta:
        """Spec §6.1: the last sync must be younger than twice the scheduled interval."""
        return timedelta(minutes=2 * minutes)


ENVIRONMENTS: dict[str, Environment] = {
    "local": Environment("local", "integrations/dev", 15, 15, 30, 6, "developer-dm"),
    "stg": Environment("stg", "integrations/stg", 5, 15, 5, 12, "#stg-integrations"),
    "prod": Environment("prod", "integrations/prod", 5, 15, 5, 6, "#alerts-servicenow"),
}


def current_environment() -> Environment:
    name = os.environ.get("PROJECTX_ENV", "local").lower()
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(
            f"PROJECTX_ENV={name!r} is not an environment: use one of {', '.join(ENVIRONMENTS)}"
        ) from None
