"""OneTrust constants: regional hosts, endpoints, page caps and what each synced entity reads (spec §2.3).

Sources of truth: reference/vendor-apis.md §3 (OneTrust's published OpenAPI files) and the sandbox
(`sandbox/onetrust`). Where the two disagree about an option, the comment says which one we follow.
"""

from __future__ import annotations

from dataclasses import dataclass

# ONETRUST_REGION -> host (vendor-apis §3.1). A tenant lives on exactly one host; tokens do not transfer.
REGION_HOSTS = {
    "us": "app.onetrust.com",
    "eu": "app-eu.onetrust.com",
    "de": "app-de.onetrust.com",
    "uk": "app-uk.onetrust.com",
    "apac": "app-apac.onetrust.com",
    "trial": "trial.onetrust.com",
    "uat": "uat.onetrust.com",
}
DEFAULT_REGION = "us"
DEFAULT_TIMEOUT_SECONDS = 30.0

TOKEN_PATH = "api/access/v1/oauth/token"
ASSESSMENTS_PATH = "api/assessment/v2/assessments"
ASSESSMENT_EXPORT_PATH = "api/assessment/v2/assessments/{id}/export"
ASSESSMENT_DELETE_LOG_PATH = "api/assessment/v2/assessments/activities/types/assessmentdelete"
RISKS_PATH = "api/risk/v2/risks/pages"
VENDORS_PATH = "api/inventory/v2/inventories/vendors"
# One record by id, to prove a delete when the listing cannot (a listed record had no usable id).
RECORD_PATHS = {"risks": "api/risk/v2/risks/{id}", "vendors": "api/inventory/v2/inventories/vendors/{id}"}

# Page sizes: OneTrust clamps over-size values silently, so the pager follows the response, not these.
# Assessments are listed whole on every pass (no documented last-modified sort or filter, see the sort
# orders below), so the list costs ceil(assessments / 2000) requests a pass, twice (``assessments`` and
# the VENDOR-only ``vendor_assessments``): 1 + 1 for a tenant of up to 2,000. The exports (one request
# per assessment) are read only for rows whose ``lastUpdated`` moved past the cursor.
ASSESSMENT_PAGE_SIZE = 2000  # OneTrust's max
RISK_PAGE_SIZE = 100  # max 100 (the OAS text says 1..50 in places; the server clamps either way)
VENDOR_PAGE_CAP = 50  # inventory hard cap
DELETE_LOG_PAGE_SIZE = 500

# Re-read this much before the cursor on every delta: equal-second updates and clock skew.
DEFAULT_OVERLAP_SECONDS = 300
INITIAL_CURSOR = "1970-01-01 00:00:00"
# Exports (assessment detail) fetched in parallel per page. OneTrust allows 20,000 requests/minute;
# 8 at once at 300 ms a response is ~1,600/minute. A 429 still waits out Retry-After (VendorSession).
DEFAULT_DETAIL_WORKERS = 8
# Refresh an OAuth token this long (at most) before OneTrust says it expires.
TOKEN_EXPIRY_MARGIN_SECONDS = 60

VAULT_HINT = "the Vault path integrations/<env>/onetrust"
SCOPES_HINT = "its module scopes (ASSESSMENT_READ, RISK_READ, INVENTORY_READ)"
# What the attestation push (assets/reverse_sync/onetrust.py) needs instead: a 403 there named the read scopes.
WRITE_SCOPES_HINT = "its CONTROL module scope (control implementations, the library and attestations)"
HOST_HINT = "ONETRUST_REGION / ONETRUST_BASE_URL (the tenant's own host)"


def config_hint(static_token: bool, scopes: str = SCOPES_HINT) -> str:
    """What an operator must check when OneTrust refuses us (appended to auth errors)."""
    cred = ("ONETRUST_API_TOKEN (rotate it under Global Settings > Access Management > Client Credentials)"
            if static_token else "ONETRUST_CLIENT_ID / ONETRUST_CLIENT_SECRET")
    return f"{cred}, {scopes}, {HOST_HINT} and {VAULT_HINT}"


@dataclass(frozen=True)
class EntitySpec:
    """One synced OneTrust entity: its table, the vendor's stable id and last-modified fields."""

    resource: str  # table in the ``onetrust`` dataset, also the quarantine/deletions entity name
    id_field: str  # OneTrust's external id in the list view (uuid) = our merge key
    ts_field: str  # last-modified timestamp in the list view (ISO-8601, UTC)
    primary_key: str  # column name in the table


ASSESSMENTS = EntitySpec("assessments", "assessmentId", "lastUpdated", "assessment_id")
VENDOR_ASSESSMENTS = EntitySpec("vendor_assessments", "assessmentId", "lastUpdated", "assessment_id")
RISKS = EntitySpec("risks", "id", "lastModifiedUTCDateTime", "risk_id")
VENDORS = EntitySpec("vendors", "id", "lastUpdatedDate", "vendor_id")
ENTITIES = {s.resource: s for s in (ASSESSMENTS, VENDOR_ASSESSMENTS, RISKS, VENDORS)}
# vendor_assessments lists the assessments of this template type (``templateTypes``; ``templateType``
# in an export).
VENDOR_TEMPLATE_TYPE = "VENDOR"

# Sort orders. Assessments and vendors have no last-modified *filter*, and no last-modified *sort* is
# documented either (vendor-apis §3.3, §3.5): a delta that stopped at the first row older than the
# cursor on a listing OneTrust did not sort that way would miss changes until the next full pass.
# - Assessments: always the documented CREATION_SORT, read whole (cheap, see ASSESSMENT_PAGE_SIZE).
# - Vendors (50 a request, so a whole read is N/50 requests): a delta still asks for newest change
#   first and stops at the cursor, but only while every page echoes this sort in ``meta.page.sort``
#   and its rows really are newest first (sync.ChangeOrder); otherwise it reads the whole listing and
#   warns once. Newest first also means a record updated while we page moves to the top, so rows shift
#   down (re-read), never up (missed).
VENDOR_CHANGE_SORT = "lastUpdatedDate,desc"
# Full passes (and risks, which have a real filter on lastModifiedUTCDateTime) list in creation
# order, which no update changes: a record updated mid-pass would otherwise jump to a page already
# read and look deleted.
CREATION_SORT = "createdDate,desc"
