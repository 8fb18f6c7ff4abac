"""Screen tabs and their fields, read-only, for the site's three screens (`GET /screens`).

- GET `/screens/{screenId}/tabs`: one tab, "Field Tab" [unc: the id and name of a site's first tab], as
  ScreenableTab `{"id", "name"}`.
- GET `/screens/{screenId}/tabs/{tabId}/fields`: the fields the screen shows (`field_search_expand`'s
  Default / Workflow screens, `screens.SCREENS`' Resolve Issue screen) as ScreenableField `{"id", "name"}`.
- GET `/screens/{screenId}/availableFields`: the fields that could still be added (every system, Agile and made
  field not on the screen) [unc: which system fields Cloud leaves out of the list].
An unknown screen or tab is a 404 [unc: wording]; every read needs the Administer Jira global permission (the spec
also lets a project administrator read tabs with `projectKey`, which the sandbox does not distinguish).
atlassian-python-api's get_screen_tabs / get_screen_tab_fields / get_all_screen_fields /
get_all_available_screen_fields read these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.field_search_expand import DEFAULT_SCREEN, WORKFLOW_SCREEN
from sandbox.jira.routes_field_admin import created_fields
from sandbox.jira.screens import DONE_TRANSITION, SCREENS

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

TAB_BASE = 10000  # screen n's only tab is TAB_BASE + n


def _shown(screen: int) -> set[str]:
    return {1: DEFAULT_SCREEN, 2: WORKFLOW_SCREEN, 3: set(SCREENS[DONE_TRANSITION])}[screen]


def register(sb: JiraSandbox) -> None:
    def every_field() -> list[tuple[str, str]]:
        return [(f[0], f[1]) for f in C.system_fields() + C.custom_fields() + created_fields(sb)]

    def screen_of(c: Call) -> int:
        raw = c.p["screen"]
        if raw not in ("1", "2", "3"):
            raise fail(404, f"The screen with id '{raw}' does not exist.")
        return int(raw)

    def tabs(c: Call) -> Response:
        return json_response([{"id": TAB_BASE + screen_of(c), "name": "Field Tab"}])

    def tab_fields(c: Call) -> Response:
        screen = screen_of(c)
        if c.p["tab"] != str(TAB_BASE + screen):
            raise fail(404, f"The screen tab with id '{c.p['tab']}' does not exist.")
        shown = _shown(screen)
        return json_response([{"id": fid, "name": name} for fid, name in every_field() if fid in shown])

    def available(c: Call) -> Response:
        shown = _shown(screen_of(c))
        rows: list[dict[str, Any]] = [{"id": fid, "name": name} for fid, name in every_field() if fid not in shown]
        return json_response(rows)

    base = r"/screens/(?P<screen>[^/]+)"
    sb.route("GET", base + r"/tabs", admin_only(sb, tabs))
    sb.route("GET", base + r"/tabs/(?P<tab>[^/]+)/fields", admin_only(sb, tab_fields))
    sb.route("GET", base + r"/availableFields", admin_only(sb, available))
