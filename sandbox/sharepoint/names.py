"""The names SharePoint Online refuses for files and folders ("Invalid file names and file types in
OneDrive and SharePoint"): any of ``" * : < > ? / \\ |``, the reserved names (``.lock``, ``CON``, ``PRN``,
``AUX``, ``NUL``, ``COM0``-``COM9``, ``LPT0``-``LPT9``, ``desktop.ini``), ``_vti_`` anywhere and a leading
``~$``. Graph answers 400 invalidRequest (the message is as we recall Graph's wording)."""

from __future__ import annotations

import re

from sandbox.sharepoint.errors import GraphError

ILLEGAL = re.compile(r'["*:<>?/\\|]')
RESERVED = re.compile(r"(?i)\.lock|con|prn|aux|nul|com[0-9]|lpt[0-9]|desktop\.ini")  # ASCII: \d took "com٣"


def check_name(name: str) -> str:
    """``name`` when SharePoint would take it for a new or renamed item; else the 400 Graph answers."""
    if not name.strip():
        raise GraphError(400, "invalidRequest", "The name of an item cannot be empty.")
    if ILLEGAL.search(name):
        raise GraphError(400, "invalidRequest", "The provided name cannot contain any illegal characters.")
    if RESERVED.fullmatch(name) or "_vti_" in name.lower() or name.startswith("~$"):
        raise GraphError(400, "invalidRequest", f"The provided name '{name}' is not allowed.")
    return name
