"""ServiceNow constants: endpoints, tables we sync, and defaults (spec §2.1)."""

from __future__ import annotations

from dataclasses import dataclass

TOKEN_PATH = "oauth_token.do"
TABLE_PATH = "api/now/table/{table}"

DEFAULT_PAGE_SIZE = 1000
# Re-read this much before the cursor on every delta: covers equal-second updates and clock skew.
DEFAULT_OVERLAP_SECONDS = 300
INITIAL_CURSOR = "1970-01-01 00:00:00"
# Refresh a token this long before the vendor says it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 60

CONFIG_HINT = (
    "SERVICENOW_OAUTH_CLIENT_ID / SERVICENOW_OAUTH_CLIENT_SECRET (or SERVICENOW_USER / "
    "SERVICENOW_PASSWORD) and the Vault path integrations/<env>/servicenow"
)


@dataclass(frozen=True)
class TableSpec:
    """One ServiceNow table synced into the ``servicenow`` dataset."""

    table: str
    resource: str
    cursor_field: str = "sys_updated_on"


TABLES: dict[str, TableSpec] = {
    "incident": TableSpec("incident", "incidents"),
}

# The custom scoped-app table Project X installs in ServiceNow for remediation tasks.
DEFAULT_REMEDIATION_TABLE = "x_pjx_grc_remediation_task"
