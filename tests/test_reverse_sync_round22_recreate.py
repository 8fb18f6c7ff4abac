"""Round 22 (review): a record whose vendor record was deleted is re-created; when that re-create's link is
lost (a push killed after the create, an answer that never came), the next pushes hold it while Jira's search
may lag, but once the hold ended the record still read as deleted under its old link and was created with no
look-up: a second issue. A linked record deleted at the vendor is now looked up by our id first, as an
unlinked one is, and the re-created issue adopted. Over HTTP against the Jira sandbox."""

from __future__ import annotations

import time

from assets.reverse_sync import state as rs_state
from pipelines.common.http import VendorError
from tests import test_reverse_sync_attacks as attacks
from tests.reverse_sync_helpers import jira_rows, run, write_outbound
from tests.test_reverse_sync_round19_hostile import _jira_ours, _links

jira = attacks.jira  # the sandbox fixture


def test_a_recreated_issue_whose_link_was_lost_is_adopted_not_made_again(jira, duckdb_warehouse, monkeypatch):
    monkeypatch.setenv("PROJECTX_JIRA_SEARCH_LAG_SECONDS", "2")
    rows = jira_rows(2)
    write_outbound(duckdb_warehouse, "jira", rows)
    run("jira")
    gone = _links(duckdb_warehouse, "jira")["rem-00001"]
    jira.delete([gone])  # deleted at Jira: the next push re-creates it
    rows[1]["description"] += " (changed)"
    write_outbound(duckdb_warehouse, "jira", rows)
    real = rs_state.save_link

    def lost(conn, vendor, obj, internal_id, *a, **k):
        if internal_id == "rem-00001":
            raise VendorError("the push stopped between the create's answer and its link", None)
        return real(conn, vendor, obj, internal_id, *a, **k)

    monkeypatch.setattr(rs_state, "save_link", lost)
    first = run("jira")
    monkeypatch.setattr(rs_state, "save_link", real)
    made = _jira_ours(jira)["rem-00001"]
    assert first.dead_lettered == 1 and len(made) == 1 and made[0] != gone, made  # re-created, link lost
    time.sleep(3)  # past the search lag: the search shows the new issue
    second = run("jira")
    assert second.dead_lettered == 0, second.failures
    ours = _jira_ours(jira)["rem-00001"]
    assert ours == made, ours  # the one made is adopted: not a second
    assert _links(duckdb_warehouse, "jira")["rem-00001"] == ours[0]
    assert run("jira").writes == 0
