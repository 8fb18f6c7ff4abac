"""The environment matrix of spec §4: one setting (PROJECTX_ENV) picks local, stg or prod."""

from __future__ import annotations

import hashlib
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
    # Spec §3.3/§4: after repeated failures a connector enters degraded mode (outbound writes pause,
    # inbound reads go on). Production enables the breakers; elsewhere failures are only reported.
    circuit_breakers: bool = False
    breaker_threshold: int = 5  # consecutive failed writes that open a connector's breaker

    def cron_every(self, minutes: int, jitter_key: str | None = None) -> str:
        """Every ``minutes``; with ``jitter_key`` (a job name) shifted by a fixed offset derived from it,
        so jobs on one cadence do not all start on the same minute (spec §3.2 "configured with jitter")."""
        offset = jitter_minutes(jitter_key, minutes) if jitter_key else 0
        if minutes < 60:
            return f"{offset}-59/{minutes} * * * *" if offset else f"*/{minutes} * * * *"
        return f"{offset} */{minutes // 60} * * *"

    def connector_minutes(self) -> dict[str, int]:
        """The scheduled interval of each polling connector, its shortest job's cadence (spec §4)."""
        return {"servicenow": min(self.servicenow_incident_minutes, self.servicenow_change_minutes),
                "jira": self.jira_minutes, "onetrust": self.onetrust_hours * 60}

    def freshness_window(self, minutes: int) -> timedelta:
        """Spec §6.1: the last sync must be younger than twice the scheduled interval."""
        return timedelta(minutes=2 * minutes)


def jitter_minutes(key: str, minutes: int) -> int:
    """A deterministic offset in [0, min(minutes, 60)) for ``key``: the same on every deploy."""
    return int(hashlib.sha256(key.encode()).hexdigest(), 16) % min(minutes, 60)


ENVIRONMENTS: dict[str, Environment] = {
    "local": Environment("local", "integrations/dev", 15, 15, 30, 6, "developer-dm"),
    "stg": Environment("stg", "integrations/stg", 5, 15, 5, 12, "#stg-integrations"),
    "prod": Environment("prod", "integrations/prod", 5, 15, 5, 6, "#alerts-servicenow",
                        circuit_breakers=True),
}


def env_name() -> str:
    """PROJECTX_ENV as read everywhere: surrounding whitespace (a CR from a CRLF .env file) and case dropped,
    unset or blank is local."""
    return (os.environ.get("PROJECTX_ENV") or "").strip().lower() or "local"


def current_environment() -> Environment:
    name = env_name()
    if name in ENVIRONMENTS and os.environ.get("PROJECTX_ENV") not in (None, name):
        # every other reader sees the cleaned name too: dbt (its models filter routing and health rows on it),
        # the Jira token's path, the evidence library's scan rule; "prod\r" had matched no routing row
        os.environ["PROJECTX_ENV"] = name
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ValueError(
            f"PROJECTX_ENV={name!r} is not an environment: use one of {', '.join(ENVIRONMENTS)}"
        ) from None
