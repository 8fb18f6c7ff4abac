"""A record id in a REST path that is not 32 hex digits is a record that does not exist, not an unknown URI.

The instance's REST framework matches a resource's path template (`/api/now/attachment/{sys_id}`) segment by
segment, whatever the segment holds, and the resource answers its own "not found" for an id it does not know:
`GET /api/now/attachment/nope` is the Attachment API's 404, as `GET /api/now/table/incident/nope` is the Table
API's [unc: observed for the Table API; the same framework serves the others]. The sandbox's routes take 32
lower-case hex digits (every id it issues), so such a path answered 400 "Requested URI does not represent any
resource". `loosen` adds, after every route, a copy of each route with a hex id whose ids take any segment:
the strict routes still match first, and the copy hands the odd id to the same handler, which authenticates
the caller, checks the table or class, and answers its API's 404.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sandbox.core.http import Router

HEX_ID = "[0-9a-f]{32}"
ANY_SEGMENT = "[^/]+"


def loosen(router: Router) -> None:
    """Append to `router` a copy of each /api/ route with a hex id group, the group taking any one segment."""
    loose = []
    for route in router.routes:
        source = route.pattern.pattern
        if HEX_ID in source and source.startswith("/api/"):
            loose.append(replace(route, pattern=re.compile(source.replace(HEX_ID, ANY_SEGMENT))))
    router.routes.extend(loose)
