"""Jira constants: endpoints, the fields we request, defaults and the hints errors print (spec §2.2)."""

from __future__ import annotations

API = "rest/api/3"
AGILE = "rest/agile/1.0"
SEARCH_PATH = f"{API}/search/jql"  # the enhanced search; the legacy /search answers 410
COUNT_PATH = f"{API}/search/approximate-count"
FIELD_PATH = f"{API}/field"
SERVER_INFO_PATH = f"{API}/serverInfo"
PROJECT_SEARCH_PATH = f"{API}/project/search"
COMMENTS_PATH = API + "/issue/{issue_id}/comment"
CHANGELOG_PATH = API + "/issue/{issue_id}/changelog"
ATTACHMENT_CONTENT_PATH = API + "/attachment/content/{attachment_id}"
BOARD_PATH = f"{AGILE}/board"
BOARD_SPRINTS_PATH = AGILE + "/board/{board_id}/sprint"

# OAuth 2.0 (3LO): tokens at auth.atlassian.com; sites and the API gateway at api.atlassian.com.
DEFAULT_AUTH_URL = "https://auth.atlassian.com"
DEFAULT_GATEWAY_URL = "https://api.atlassian.com"
TOKEN_PATH = "oauth/token"
RESOURCES_PATH = "oauth/token/accessible-resources"
GATEWAY_API_BASE = "{gateway}/ex/jira/{cloud_id}"
# Refresh an access token this long before Atlassian says it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 60

# Rich pages: Jira serves at most 100 issues per page when many fields are requested.
DEFAULT_PAGE_SIZE = 100
# Searches read at once when a big read is split into `updated` ranges (see pipelines.jira.search).
DEFAULT_CONCURRENCY = 4
# Split only reads of at least this many issues (approximate count) spanning at least this long:
# below that, one stream is as fast and costs no extra count query per range.
SPLIT_MIN_ISSUES = 5000
SPLIT_MIN_SPAN_MS = 3_600_000
# Issues turned into rows, validated and handed to dlt together (pages are 100): fewer, larger
# Arrow tables and pandera calls.
BATCH_ISSUES = 1000
# The id census for delete reconciliation asks for ids only, which Jira pages up to 5000 at a time.
ID_PAGE_SIZE = 5000
META_PAGE_SIZE = 50
# Re-read this much before the cursor on every delta. It covers equal `updated` stamps at page
# boundaries and the eventual consistency of /search/jql (an update can reach the index after
# newer ones did); keep it above the worst index lag you have seen.
DEFAULT_OVERLAP_SECONDS = 600
# No cursor yet: the first run reads every issue of the projects in scope (no `updated` bound).
INITIAL_CURSOR = "1970-01-01 00:00:00"
# Jira answers empty pages that still carry a nextPageToken; give up after this many in a row.
MAX_EMPTY_PAGES = 25
# Pages in a row that repeat a page this search already served (same issues, same `updated`), each with a
# fresh nextPageToken, before the search stops with an error: a site or proxy that ignores the token.
MAX_REPEATED_PAGES = 3
# Attachment bodies above this size keep their metadata (content_status 'too_large'), no download.
DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
# A reconciliation that would mark more than this share of stored issues deleted is refused: an
# id census that comes back short (a lost permission, a wrong project list) must not erase history.
DEFAULT_MAX_DELETE_FRACTION = 0.5

# Custom fields vary per site (vendor-apis §2.13 #7): discovered by name or by type via GET /field.
STORY_POINT_NAMES = ("story point estimate", "story points")
STORY_POINT_TYPES = ("com.pyxis.greenhopper.jira:jsw-story-points",)
SPRINT_TYPE = "com.pyxis.greenhopper.jira:gh-sprint"
EPIC_LINK_TYPE = "com.pyxis.greenhopper.jira:gh-epic-link"

# System fields requested from /search/jql (custom ones are added after discovery).
ISSUE_FIELDS = (
    "summary", "status", "issuetype", "project", "priority", "resolution", "labels", "components",
    "fixVersions", "assignee", "reporter", "creator", "parent", "created", "updated", "resolutiondate",
    "statuscategorychangedate", "duedate", "comment", "attachment",
)

OAUTH_HINT = (
    "JIRA_OAUTH_CLIENT_ID / JIRA_OAUTH_CLIENT_SECRET, the app's scopes (read:jira-work, "
    "read:jira-user, offline_access) and the Vault path integrations/<env>/jira; if access was "
    "revoked, re-run the OAuth flow (Project X admin UI, Integrations, Jira, Authorize)"
)
PAT_HINT = "JIRA_PAT (Bearer) or JIRA_USER_EMAIL + JIRA_API_TOKEN (Basic) and JIRA_BASE_URL"
