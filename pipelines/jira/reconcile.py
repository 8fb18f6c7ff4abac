"""Deleted issues: an id census compared with the warehouse (``ENABLE_JIRA_DELTA_RECON=true``).

Incremental JQL never returns a deleted issue, and search has no delete feed (webhooks do, but can
be lost). So this pass lists the ids of every issue in the projects in scope (``fields=id``, 5000
per page, cheap) and marks stored issues of those projects that Jira no longer returns in
``jira.deletions`` (entity ``issues``, ``detected_by = 'reconciliation'``). Grain: one row per
deleted issue. An issue the index has not dropped yet is caught by the next run; a census that
would mark more than ``max_delete_fraction`` of the stored issues is refused (a lost permission or
a wrong project list is far likelier than a mass delete), with a message saying how to proceed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.deletions import DELETIONS_TABLE, deletion_rows
from pipelines.common.http import VendorError
from pipelines.jira.context import JiraContext
from pipelines.jira.destination import stored_issue_ids
from pipelines.jira.flatten import _s
from pipelines.jira.settings import ID_PAGE_SIZE

log = logging.getLogger(__name__)


def census_jql(project_keys: list[str]) -> str:
    return "project in (" + ", ".join(f'"{k}"' for k in project_keys) + ") ORDER BY id ASC"


def issue_deletions_resource(ctx: JiraContext, run_id: str, max_delete_fraction: float) -> DltResource:
    def issue_deletions() -> Iterator[Any]:
        scope = ctx.scope()
        if not scope:
            log.warning("Jira: no projects in scope; delete reconciliation skipped")
            return
        vendor: set[str] = set()
        blind = 0  # census entries without a usable id: any stored issue could be one of them
        for page in ctx.client().search(census_jql(scope), ["id"], page_size=ID_PAGE_SIZE):
            for entry in page:
                # 10003.0 (a gateway re-serialising numbers) is issue 10003: str() made it "10003.0" and the
                # issue was marked deleted; an entry that is no object crashed the pass ('str' has no .get)
                iid = _s(entry.get("id")) if isinstance(entry, dict) else None
                if isinstance(iid, str) and iid.isascii() and iid.isdigit():
                    vendor.add(iid)
                else:
                    blind += 1
        stored = stored_issue_ids(scope)
        gone = sorted(stored - vendor)
        if blind and gone:
            log.warning("Jira: %d census entries had no usable issue id, so %d stored issues missing from the "
                        "census cannot be proven deleted; delete reconciliation skipped this run", blind, len(gone))
            gone = []
        if stored and len(gone) > max(1, max_delete_fraction * len(stored)):
            raise VendorError(
                f"Jira delete reconciliation would mark {len(gone)} of {len(stored)} stored issues deleted; "
                "refusing. Check the account can still browse the projects (JIRA_PROJECT_KEYS), or raise "
                "max_delete_fraction if this mass delete is real"
            )
        dlt.current.resource_state()["last"] = {"vendor": len(vendor), "stored": len(stored),
                                                "deleted": len(gone), "run_id": run_id}
        item = deletion_rows("issues", gone, detected_by="reconciliation", run_id=run_id)
        if item is not None:
            yield item

    return dlt.resource(issue_deletions, name="issue_deletions", table_name=DELETIONS_TABLE,
                        write_disposition="merge", primary_key=("entity", "record_id"))
