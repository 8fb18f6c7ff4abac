"""Test-only (round 20): run ``python -m pipelines.<vendor>`` with a *child* record that kills the process
(``os._exit(137)``, as the OOM killer would) while it is downloaded or processed, to test the crash ledger
(:mod:`pipelines.common.poison`) on ServiceNow attachments and Jira child tables.

``python -m tests.poison_shim_round20 <vendor>``; ``PROJECTX_TEST_POISON_ID``: the poison key;
``PROJECTX_TEST_POISON_AT``: where it dies:

- ``download``: ServiceNow, in the download pool thread, while the attachment with that sys_id is fetched
  (the downloads start in the background during the table reads);
- ``admit``: ServiceNow, in the sync's thread, while that attachment's content passes the Evidence Library;
- ``raise``: ServiceNow, the Evidence Library raises a ``ValueError`` on that attachment (no death);
- ``comments``: Jira, while the comment rows of the issue with that id are built;
- ``jira-download``: Jira, in the download pool thread, while the attachment with that id is fetched.

Unset id: an ordinary sync. Product code never reads these variables.
"""

from __future__ import annotations

import os
import sys

POISON_ENV = "PROJECTX_TEST_POISON_ID"
WHERE_ENV = "PROJECTX_TEST_POISON_AT"


def _servicenow(poison: str, where: str) -> None:
    from pipelines.servicenow import attachment_fetch, attachments

    if where == "download":  # Fetch (attachment_fetch) looks _download up in its own module
        download = attachment_fetch._download

        def dying_download(client, record, max_bytes):
            if record.get("sys_id") == poison:
                os._exit(137)
            return download(client, record, max_bytes)

        attachment_fetch._download = dying_download
        return
    admit = attachments.admit_evidence

    def dying_admit(vendor, content, root, filename=None, sys_id=None):
        if sys_id == poison:
            if where == "raise":
                raise ValueError("hostile content: the scanner's parser gave up")
            os._exit(137)
        return admit(vendor, content, root, filename, sys_id)

    attachments.admit_evidence = dying_admit


def _jira(poison: str, where: str) -> None:
    from pipelines.jira import flatten
    from pipelines.jira.attachments import AttachmentContent

    if where == "comments":
        comment_rows = flatten.comment_rows

        def dying_comments(bean, issue):
            if bean.get("id") == poison:
                os._exit(137)
            return comment_rows(bean, issue)

        flatten.comment_rows = dying_comments
        return
    fetch = AttachmentContent._fetch

    def dying_fetch(self, attachment_id):
        if str(attachment_id) == poison:
            os._exit(137)
        return fetch(self, attachment_id)

    AttachmentContent._fetch = dying_fetch


def main() -> None:
    vendor = sys.argv.pop(1)
    poison, where = os.environ.get(POISON_ENV), os.environ.get(WHERE_ENV, "")
    if poison:
        {"servicenow": _servicenow, "jira": _jira}[vendor](poison, where)
    __import__(f"pipelines.{vendor}.__main__", fromlist=["main"]).main()


if __name__ == "__main__":
    main()
