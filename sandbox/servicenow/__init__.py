"""ServiceNow emulator: Table (JSON or XML), Attachment, Batch, Aggregate, Import Set, CMDB Instance, Change
Management (``change_api``), Service Catalog (``catalog_api``) and OAuth APIs and the JSONv2 processor over
a seeded, stateful instance.

    from sandbox.servicenow import ServiceNowSandbox, REMEDIATION_TABLE
    with ServiceNowSandbox(size=200, seed=42) as sb:
        requests.get(f"{sb.url}/api/now/table/incident", auth=("integration.user", "sandbox-password"))
"""

from sandbox.servicenow.sandbox import ServiceNowSandbox
from sandbox.servicenow.schema import REMEDIATION_TABLE

__all__ = ["REMEDIATION_TABLE", "ServiceNowSandbox"]
