"""Microsoft Graph drive-item emulator (SharePoint document libraries, upload sessions) with the
Entra ID token endpoint for certificate client credentials."""

from sandbox.sharepoint.app import GraphSandbox

__all__ = ["GraphSandbox"]
