"""OneTrust emulator: OAuth client credentials, assessments, risks, vendor inventory, controls and
control attestations, with seeded data at any size and switchable faults.

    from sandbox.onetrust import OneTrustSandbox
    with OneTrustSandbox(size=1000, region="eu") as sb:
        sb.url, sb.credentials, sb.vendors(), sb.touch("risks", 5)
"""

from sandbox.onetrust.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, OneTrustSandbox

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "OneTrustSandbox"]
