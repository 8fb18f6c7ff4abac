"""Silence, by name, one dlt warning the Jira sync triggers on purpose.

The first sync into an empty dataset appends issues instead of merging them (nothing to merge with,
and each issue is loaded once per run), while the `issues` hints keep ``dedup_sort`` on ``updated``
for the merges that follow. dlt then warns on every such run that the hint "will be ignored" with
write disposition "append": expected, so that exact message is dropped; every other warning stays.
"""

import logging


class FirstLoadDedupSortHint(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ('"dedup_sort" column hint for column "updated" in table "issues"' in message
                    and 'write disposition "append"' in message)


def install() -> None:
    """Idempotent: add the filter to dlt's logger once."""
    logger = logging.getLogger("dlt")
    if not any(isinstance(f, FirstLoadDedupSortHint) for f in logger.filters):
        logger.addFilter(FirstLoadDedupSortHint())
