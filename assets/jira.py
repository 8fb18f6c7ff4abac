"""Jira ingestion assets: issues (with comments, changelog, attachments, sprint membership), projects,
boards and sprints (group ``jira``)."""

from collections.abc import Iterator

from dagster import AssetExecutionContext, AssetKey, MaterializeResult
from dagster_dlt import DagsterDltResource, dlt_assets

from assets.ingestion import (
    COMMON_SIDE_TABLES,
    ProjectXDltTranslator,
    dlt_assets_kwargs,
    side_table_assets,
    sync_partition,
)
from pipelines.jira import jira_source, quiet
from resources.environment import current_environment
from resources.jira import JiraResource
from resources.warehouse import WarehouseResource

DESCRIPTIONS = {
    "issues": "Jira issues, one row per issue (merged on id): status category, labels, assignee, epic "
              "parent, story points from the discovered custom field. The same sync writes "
              "`jira.comments`, `jira.issue_changelog`, `jira.attachments` (evidence store URI + sha256) "
              "and `jira.sprint_issues`. Incremental on `updated` via the enhanced JQL search.",
    "projects": "Jira projects, one row per project.",
    "boards": "Jira Software boards, one row per board.",
    "sprints": "Jira sprints, one row per sprint (state, start/end/complete dates, board).",
    "issue_deletions": "Issues Jira no longer has, found by the id census (ENABLE_JIRA_DELTA_RECON).",
}


def build_jira_assets():
    quiet.install()  # the first sync's append of issues keeps a hint meant for later merges (see quiet.py)
    env = current_environment()
    translator = ProjectXDltTranslator(dict.fromkeys(DESCRIPTIONS, env.jira_minutes), DESCRIPTIONS)
    placeholder = jira_source(base_url="https://placeholder.invalid", auth_mode="pat", pat="-")

    @dlt_assets(**dlt_assets_kwargs("jira", placeholder, translator))
    def jira_ingest(
        context: AssetExecutionContext,
        dlt: DagsterDltResource,
        jira: JiraResource,
        warehouse: WarehouseResource,
    ) -> Iterator[MaterializeResult]:
        """Sync Jira into the `jira` dataset of the warehouse."""
        yield from sync_partition(context, dlt, "jira", jira, warehouse)

    children = {
        "comments": "Jira comments, one row per comment (body as text); written by the issues sync.",
        "attachments": "Jira attachments: metadata, sha256 and evidence-store URI; written by the issues sync.",
        "sprint_issues": "Sprint membership, one row per (sprint, issue); written by the issues sync.",
        "issue_changelog": "Jira changelog, one row per changed field; written by the issues sync.",
        "attachment_moves": "Jira attachments moved to another issue, one row per move (append-only); written by "
                            "the issues sync. The table appears with the first move.",
    }
    upstream = [AssetKey(["jira", r]) for r in ("issues", "projects", "boards", "sprints")]
    return [jira_ingest, side_table_assets("jira", {**COMMON_SIDE_TABLES, **children}, upstream)]
