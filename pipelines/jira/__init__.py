"""dlt source for Jira Cloud (spec §2.2): issues and their children, projects, boards, sprints.

Dataset ``jira``. Tables and primary keys (all merged):

- ``issues`` (``id``): one row per issue, key fields flattened (status, category, type, priority,
  labels, assignee/reporter account ids, parent and epic keys, story points from the custom field
  discovered via GET /field, sprint ids, created/updated/resolved/due); incremental on ``updated``;
- ``issue_changelog`` (``id``), ``comments`` (``id``), ``attachments`` (``id``; bodies in the
  evidence store by sha256), ``sprint_issues`` (``sprint_id``, ``issue_id``): written by the issue
  pass, replaced per issue (merge key ``issue_id``; the ids are unique but not dlt primary keys, see
  :mod:`pipelines.jira.issues`);
- ``projects``, ``boards``, ``sprints`` (``id``): full listings, changed rows only
  (:mod:`pipelines.jira.catalog`);
- ``deletions`` (``entity``, ``record_id``): issues found deleted by the id census
  (:mod:`pipelines.jira.reconcile`, when ``reconcile_deletes``) and vanished projects/boards/sprints;
- ``quarantine``: records that failed their pandera schema (:mod:`pipelines.jira.schemas`), with
  the reason and run id, never dropped.

Only the enhanced search ``/rest/api/3/search/jql`` is used (big reads split into ``updated``
ranges read at once, :mod:`pipelines.jira.search`). Auth: :mod:`pipelines.jira.auth`; the rotating
refresh token in Vault or a file (:mod:`pipelines.jira.tokens`).
Values stay the vendor's strings; dbt staging casts them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import dlt
from dlt.sources import DltResource

from pipelines.common.http import RetryPolicy
from pipelines.jira import quiet
from pipelines.jira.catalog import catalog_resources
from pipelines.jira.context import JiraAuthSettings, JiraContext
from pipelines.jira.issues import issues_resource
from pipelines.jira.reconcile import issue_deletions_resource
from pipelines.jira.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_DELETE_FRACTION,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_PAGE_SIZE,
)
from pipelines.jira.tokens import RefreshTokenStore

__all__ = ["jira_source"]


@dlt.source(name="jira", max_table_nesting=0)
def jira_source(
    base_url: str = dlt.config.value,
    auth_mode: str = "oauth",
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    token_store: RefreshTokenStore | None = None,
    auth_url: str | None = None,
    gateway_url: str | None = None,
    pat: str | None = None,
    user_email: str | None = None,
    api_token: str | None = None,
    project_keys: Sequence[str] = (),
    page_size: int = DEFAULT_PAGE_SIZE,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    reconcile_deletes: bool = False,
    max_delete_fraction: float = DEFAULT_MAX_DELETE_FRACTION,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    evidence_dir: str | None = None,
    verify: bool | str = True,
    run_id: str | None = None,
    policy: RetryPolicy | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    window: tuple[datetime, datetime] | None = None,
) -> list[DltResource]:
    """Jira Cloud into the ``jira`` dataset, incrementally, merged on the vendor's ids.

    ``auth_mode`` ``oauth`` (default: ``client_id``/``client_secret``, the rotating refresh token in
    ``token_store``, bootstrapped from ``refresh_token``) or ``pat`` (``pat`` as Bearer, else
    ``user_email`` + ``api_token`` as Basic). ``project_keys`` limits the sync (default: every
    project the account can browse). ``concurrency``: requests in flight at once (searches when a
    big read is split into ``updated`` ranges, attachment downloads, the boards' sprint listings).
    ``window`` (two aware datetimes, end exclusive, e.g. a Dagster time partition): re-read only
    issues updated in ``[start, end)`` and merge them, leaving the incremental cursor alone and
    reconciliation off (see :mod:`pipelines.jira.issues`); projects, boards and sprints sync as
    usual. Nothing connects until the pipeline extracts.
    """
    run_id = run_id or uuid.uuid4().hex
    quiet.install()  # every sync path (CLI, Dagster, tests): the first load's expected dedup_sort warning
    # Keep the vendor's strings as they are: staging casts them.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    settings = JiraAuthSettings(
        base_url=base_url, mode=auth_mode, client_id=client_id, client_secret=client_secret,
        refresh_token=refresh_token, token_store=token_store, auth_url=auth_url, gateway_url=gateway_url,
        pat=pat, user_email=user_email, api_token=api_token,
    )
    ctx = JiraContext(lambda: settings.connect(verify=verify, policy=policy), project_keys)
    resources = [
        *catalog_resources(ctx, run_id, concurrency),
        issues_resource(ctx, page_size=page_size, overlap_seconds=overlap_seconds, run_id=run_id,
                        max_attachment_bytes=max_attachment_bytes, evidence_dir=evidence_dir,
                        concurrency=concurrency, window=window),
    ]
    if reconcile_deletes and window is None:
        resources.append(issue_deletions_resource(ctx, run_id, max_delete_fraction))
    return resources
