"""Site configuration reads (and one write) the python clients call: application properties, issue type
schemes and project avatars.

- `GET /application-properties` (pycontribs `application_properties`, atlassian `get_property`): without
  `key` an array of the editable properties (`keyFilter` is a regular expression on the key); with `key` that
  one property as an object (not in an array), 404 when unknown. `GET /application-properties/advanced-settings`
  lists the Advanced Settings page's properties. `PUT /application-properties/{id}` with `{"id","value"}`
  (pycontribs `set_application_property`, atlassian `set_property`) changes a value: 400 when the value does
  not fit the property's type, 404 for an unknown id. The keys, descriptions and defaults are those the
  Cloud reference lists as editable.
- `GET /issuetypescheme`: Jira Cloud's page (`startAt`, `maxResults`, `id` repeated, `orderBy` id|name with
  +/-, `queryString`, `expand` projects,issueTypes). Only schemes of classic projects are listed, plus the
  default scheme: "Default Issue Type Scheme" (10000) and one "{KEY}: Scrum Issue Type Scheme" per classic
  project. pycontribs `issue_type_schemes()` reads the Server shape (`schemes`) and so raises KeyError on
  this page, as it does against Jira Cloud.
- `GET /project/{projectIdOrKey}/avatars` (pycontribs `project_avatars`) and its Cloud form
  `GET /universal_avatar/type/{project|issuetype|priority}/owner/{id}`: `{"system": [...], "custom": []}`;
  the key is case sensitive (404 otherwise). One system avatar is the selected one.
"""

from __future__ import annotations

import re
from re import _constants as _sre  # the parse tree's opcodes (Python's own regex parser)
from re import _parser as _sre_parse
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.model import Project
    from sandbox.jira.sandbox import JiraSandbox

ADVANCED = "advanced"
# key -> (description, type, default, section); from the Cloud reference's list of editable properties
PROPERTIES: dict[str, tuple[str, str, str, str]] = {
    "jira.clone.prefix": ("The string of text prefixed to the title of a cloned issue.", "string", "CLONE -",
                          ADVANCED),
    "jira.date.picker.java.format": ("The date format for the Java (server-side) generated dates.", "string",
                                     "d/MMM/yy", ADVANCED),
    "jira.date.picker.javascript.format": ("The date format for the JavaScript (client-side) generated dates.",
                                           "string", "%e/%b/%y", ADVANCED),
    "jira.date.time.picker.java.format": ("The date format for the Java (server-side) generated date times.",
                                          "string", "dd/MMM/yy h:mm a", ADVANCED),
    "jira.date.time.picker.javascript.format": ("The date format for the JavaScript (client-side) generated "
                                                "date times.", "string", "%e/%b/%y %I:%M %p", ADVANCED),
    "jira.issue.actions.order": ("The default order of actions (such as Comments or Change history) displayed "
                                 "on the issue view.", "string", "asc", ADVANCED),
    "jira.view.issue.links.sort.order": ("The sort order of the list of issue links on the issue view.", "string",
                                         "type, status, priority", ADVANCED),
    "jira.comment.collapsing.minimum.hidden": ("The minimum number of comments required for comment collapsing "
                                               "to occur.", "number", "4", ADVANCED),
    "jira.newsletter.tip.delay.days": ("The number of days before a prompt to sign up to the Jira Insiders "
                                       "newsletter is shown.", "number", "7", ADVANCED),
    "jira.lf.date.time": ("The time format.", "string", "h:mm a", "lf"),
    "jira.lf.date.day": ("The day format.", "string", "EEEE h:mm a", "lf"),
    "jira.lf.date.complete": ("The date and time format.", "string", "dd/MMM/yy h:mm a", "lf"),
    "jira.lf.date.dmy": ("The date format.", "string", "dd/MMM/yy", "lf"),
    "jira.date.time.picker.use.iso8061": ("When enabled, sets Monday as the first day of the week in the date "
                                          "picker.", "boolean", "false", "lf"),
    "jira.lf.logo.url": ("The URL of the logo image file.", "string", "/images/icon-jira-logo.png", "lf"),
    "jira.lf.logo.show.application.title": ("Controls the visibility of the application title on the sidebar.",
                                            "boolean", "false", "lf"),
    "jira.lf.favicon.url": ("The URL of the favicon.", "string", "/favicon.ico", "lf"),
    "jira.lf.favicon.hires.url": ("The URL of the high-resolution favicon.", "string", "/images/64jira.png", "lf"),
    "jira.lf.navigation.bgcolour": ("The background color of the sidebar.", "string", "#0747A6", "lf"),
    "jira.lf.navigation.highlightcolour": ("The color of the text and logo of the sidebar.", "string", "#DEEBFF",
                                           "lf"),
    "jira.lf.hero.button.base.bg.colour": ("The background color of the hero button.", "string", "#3b7fc4", "lf"),
    "jira.title": ("The text for the application title.", "string", "Jira", "lf"),
    "jira.option.globalsharing": ("Whether filters and dashboards can be shared with anyone signed into Jira.",
                                  "boolean", "true", "lf"),
    "xflow.product.suggestions.enabled": ("Whether to expose product suggestions for other Atlassian products "
                                          "within Jira.", "boolean", "true", "lf"),
    "jira.issuenav.criteria.autoupdate": ("Whether instant updates to search criteria is active.", "boolean",
                                          "true", "other"),
}
ALLOWED = {"jira.issue.actions.order": ["asc", "desc"]}  # [unc: which properties Cloud lists allowedValues for]
SYSTEM_AVATARS = [str(i) for i in range(10400, 10426)]  # [unc: Cloud's project system avatar ids]
SCHEME_SORT = {"id": lambda s: int(s["id"]), "name": lambda s: s["name"].lower()}


def _values(sb: JiraSandbox) -> dict[str, str]:
    return sb.store.work.setdefault("application_properties", {})  # type: ignore[return-value]


def _property(sb: JiraSandbox, key: str) -> dict[str, Any]:
    desc, kind, default, _section = PROPERTIES[key]
    out: dict[str, Any] = {"id": key, "key": key, "value": _values(sb).get(key, default), "name": key,
                           "desc": desc, "type": kind, "defaultValue": default}
    if key in ALLOWED:
        out["allowedValues"] = ALLOWED[key]
    return out


def _fits(kind: str, value: str) -> bool:
    if kind == "boolean":
        return value in ("true", "false")
    if kind == "number":
        return re.fullmatch(r"-?\d+", value) is not None
    return True


def _schemes(sb: JiraSandbox) -> list[dict[str, Any]]:
    classic = sorted((p for p in sb.store.projects.values() if not p.simplified), key=lambda p: int(p.id))
    out: list[dict[str, Any]] = [{"id": "10000", "name": "Default Issue Type Scheme", "description": (
        "Default issue type scheme is the list of global issue types. All newly created issue types will "
        "automatically be added to this scheme."), "isDefault": True, "_projects": []}]
    for n, p in enumerate(classic, start=1):
        out.append({"id": str(10000 + n), "name": f"{p.key}: Scrum Issue Type Scheme",
                    "description": "A collection of issue types suited to use in a scrum style project.",
                    "defaultIssueTypeId": C.STORY, "_projects": [p]})
    return out


def _avatar(c: Call, aid: str, selected: bool, kind: str = "project") -> dict[str, Any]:
    view = f"{c.r.api}/universal_avatar/view/type/{kind}/avatar/{aid}"
    return {"id": aid, "isSystemAvatar": True, "isSelected": selected, "isDeletable": False,
            "urls": {"16x16": f"{view}?size=xsmall", "24x24": f"{view}?size=small", "32x32": f"{view}?size=medium",
                     "48x48": view}}


MAX_FILTER = 200  # characters of a keyFilter
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT}


def _key_filter(pattern: str) -> re.Pattern[str]:
    """``keyFilter`` compiled, or a 400. This server's threads face the network and Python's regex
    engine backtracks without limit, so a pattern that could take exponential time on a key (a
    repetition inside a repetition or over an alternation, as ``(.|.)*!``), a bound over 1,000 or a
    pattern over 200 characters is refused instead of run (Jira's own engine has its own guards)."""
    try:
        if len(pattern) > MAX_FILTER or _explosive(_sre_parse.parse(pattern)):
            raise fail(400, f"The keyFilter is too complex: use at most {MAX_FILTER} characters and no "
                            "repetition inside a repeated group.")
        return re.compile(pattern)
    except (re.error, OverflowError, RecursionError):
        raise fail(400, f"The keyFilter '{pattern[:MAX_FILTER]}' is not a valid regular expression.") from None


def _explosive(items: Any, repeated: bool = False) -> bool:
    for op, av in items:
        if op in _REPEATS:
            low, high, sub = av
            if repeated or low > 1000 or (high is not _sre.MAXREPEAT and high > 1000) or _explosive(sub, True):
                return True
        elif op is _sre.BRANCH:
            if repeated or any(_explosive(alt, repeated) for alt in av[1]):
                return True
        elif op is _sre.SUBPATTERN:
            if _explosive(av[-1], repeated):
                return True
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT) and _explosive(av[1], repeated):
            return True
    return False


def register(sb: JiraSandbox) -> None:
    def properties(c: Call) -> Response:
        key = c.q("key")
        if key:
            if key not in PROPERTIES:
                raise fail(404, f"Property with key '{key}' not found.")  # [unc: exact wording]
            return json_response(_property(sb, key))
        keys = list(PROPERTIES)
        pattern = c.q("keyFilter")
        if pattern:
            keys = [k for k in keys if _key_filter(pattern).fullmatch(k)]
        return json_response([_property(sb, k) for k in keys])

    def advanced(c: Call) -> Response:
        return json_response([_property(sb, k) for k, v in PROPERTIES.items() if v[3] == ADVANCED])

    def set_property(c: Call) -> Response:
        key = c.p["ident"]
        if key not in PROPERTIES:
            raise fail(404, f"Property with key '{key}' not found.")
        body = c.obj()
        value = body.get("value")
        if value is None:
            raise fail(400, "The value of the application property is required.")
        value = str(value).lower() if isinstance(value, bool) else str(value)
        if not _fits(PROPERTIES[key][1], value):
            raise fail(400, f"The value '{value}' is not valid for the application property '{key}'.")
        _values(sb)[key] = value
        return json_response(_property(sb, key))

    def schemes(c: Call) -> Response:
        wanted = {i.strip() for item in c.qlist("id") for i in item.split(",") if i.strip()}
        if any(not i.isdecimal() for i in wanted):
            raise fail(400, "The id parameter must be a list of integers.")
        order = c.q("orderBy") or "id"
        if order.lstrip("+-") not in SCHEME_SORT:
            raise fail(400, f"orderBy '{order}' is not supported. Supported values: id, name.")
        text = (c.q("queryString") or "").lower()
        expand = {e.strip() for e in (c.q("expand") or "").split(",")}
        rows = [s for s in _schemes(sb) if (not wanted or s["id"] in wanted) and text in s["name"].lower()]
        rows.sort(key=SCHEME_SORT[order.lstrip("+-")], reverse=order.startswith("-"))
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 1000)
        page = paged(rows, start, limit, f"{c.r.api}/issuetypescheme?maxResults={limit}&startAt={start}")
        values = []
        for s in page["values"]:
            bean = {k: v for k, v in s.items() if not k.startswith("_")}
            if "projects" in expand and s["_projects"]:
                bean["projects"] = paged([c.r.project_ref(p.key) for p in s["_projects"]], 0, 100)
            if "issueTypes" in expand:
                bean["issueTypes"] = paged([c.r.issuetype(t) for t in list(sb.store.issue_types)], 0, 100)
            values.append(bean)
        page["values"] = values
        return json_response(page)

    def project_avatars(c: Call, ref: str | None = None) -> Response:
        ref = ref or c.p["project"]
        project: Project | None = next((p for p in sb.store.projects.values() if ref in (p.key, p.id)), None)
        if project is None:
            raise fail(404, f"No project could be found with key '{ref}'.")
        chosen = SYSTEM_AVATARS[int(project.id) % len(SYSTEM_AVATARS)]
        return json_response({"system": [_avatar(c, a, a == chosen) for a in SYSTEM_AVATARS], "custom": []})

    def owner_avatars(c: Call) -> Response:
        kind, ident = c.p["kind"], c.p["entity"]
        if kind == "project":
            return project_avatars(c, ident)
        if kind == "issuetype" and ident in sb.store.issue_types:
            chosen = SYSTEM_AVATARS[int(ident) % len(SYSTEM_AVATARS)]  # [unc] the issue types' own icons
            return json_response({"system": [_avatar(c, a, a == chosen, kind) for a in SYSTEM_AVATARS],
                                  "custom": []})
        if kind == "priority" and ident in C.PRIORITIES:
            return json_response({"system": [_avatar(c, a, False, kind) for a in SYSTEM_AVATARS], "custom": []})
        if kind not in ("project", "issuetype", "priority"):
            raise fail(400, f"Avatar type '{kind}' is not supported.")  # [unc] wording
        raise fail(404, f"The {kind} with ID '{ident}' does not exist.")  # [unc] wording

    sb.route("GET", r"/application-properties", properties)
    sb.route("GET", r"/application-properties/advanced-settings", advanced)
    sb.route("PUT", r"/application-properties/(?P<ident>[^/]+)", admin_only(sb, set_property), "write")
    sb.route("GET", r"/issuetypescheme", admin_only(sb, schemes))
    sb.route("GET", r"/project/(?P<project>[^/]+)/avatars", project_avatars)
    sb.route("GET", r"/universal_avatar/type/(?P<kind>[^/]+)/owner/(?P<entity>[^/]+)", owner_avatars)
