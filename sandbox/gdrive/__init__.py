"""Google Drive v3 emulator (files, uploads, changes, revisions, comments, shared drives) with Google's
service-account token endpoint."""

from sandbox.gdrive.app import DriveSandbox

__all__ = ["DriveSandbox"]
