"""The audience Graph takes a token for. A token issued for another resource (SharePoint's
``https://{tenant}.sharepoint.com/.default``, which office365's ``ClientContext`` asks for) is 401
InvalidAuthenticationToken "Access token validation failure. Invalid audience.", as Graph answers it; before,
Graph took any token the emulator had issued. Graph's resource is ``https://graph.microsoft.com`` (or its app id
``00000003-0000-0000-c000-000000000000``), or the origin the client reached the emulator's Graph at; a token
whose scope the emulator did not record (issued by a test helper) is taken [unc: leniency for fixtures]."""

from __future__ import annotations

GRAPH = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")


def graph_audience(scope: str, base_url: str) -> bool:
    first = (scope.split() or [""])[0].lower()
    if not first:
        return True
    return first.startswith(GRAPH) or first.startswith(base_url.lower().rstrip("/") + "/")
