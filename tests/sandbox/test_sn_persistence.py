"""A sandbox with a state folder keeps its writes across restarts, like a real instance."""

from sandbox.servicenow import REMEDIATION_TABLE, ServiceNowSandbox


def test_state_survives_restart(tmp_path):
    with ServiceNowSandbox(size=50, state_path=tmp_path) as first:
        touched = first.touch("incident", 3)
        created = first.insert(REMEDIATION_TABLE, {"short_description": "fix it"})
        gone = first.records("incident")[0]["sys_id"]
        first.delete("incident", [gone])
        before = {r["sys_id"]: r for r in first.records("incident")}
    with ServiceNowSandbox(size=50, state_path=tmp_path) as second:
        assert second.resumed
        after = {r["sys_id"]: r for r in second.records("incident")}
        assert after == before and gone not in after
        assert all(after[t]["sys_mod_count"] != "0" for t in touched)
        assert [r["sys_id"] for r in second.records(REMEDIATION_TABLE)] == [created["sys_id"]]
        assert second.insert(REMEDIATION_TABLE, {"short_description": "next"})["sys_id"] != created["sys_id"]


def test_no_state_folder_means_fresh_seed(tmp_path):
    with ServiceNowSandbox(size=20, state_path=tmp_path) as sb:
        assert not sb.resumed
