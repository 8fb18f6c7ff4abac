"""Round 13, pysnc 1.2.1 and documented raw calls: the keyword search (`123TEXTQUERY321=`, and the list's
`GOTO123TEXTQUERY321=`) reads journal fields as their entries' own text, not the "(Work notes)" headers
of the history; ORDERBY on a journal field is ignored; the JSONv2 processor takes the caller's query as
the Table API does (gs.getUserID(), "Me", "One of My Groups", a self-service caller's work-note rules)."""

from __future__ import annotations

from tests.sandbox.servicenow.helpers import as_user as _as
from tests.sandbox.servicenow.helpers import noted_incidents
from tests.sandbox.servicenow.helpers import query_ids as _ids

SIZE = 20
ME = "90d1921e5f510100a9ad2572f2b477fe"
MY_GROUPS = "d6435e965f510100a9ad2572f2b47744"


def _setup(sb):
    return noted_incidents(sb, "ess.r13", "r13ts", ("zzquokka suspected",), "zzwombat sighting")


def test_keyword_search_reads_the_entries_not_the_headers(env):
    sb, client, s = env
    me, noted, commented, bare = _setup(sb)
    url = f"{sb.url}/api/now/table/incident"
    mine = f"caller_id={me}^"
    for term in ("123TEXTQUERY321", "GOTO123TEXTQUERY321"):
        # header words ("Work notes", "Additional comments", the author's name) match nothing
        assert _ids(s, url, f"{mine}{term}=Work") == []
        assert _ids(s, url, f"{mine}{term}=Additional comments") == []
        assert _ids(s, url, f"{mine}{term}=Integration") == []
        # the entries' own words do
        assert _ids(s, url, f"{mine}{term}=zzquokka") == [noted]
        assert _ids(s, url, f"{mine}{term}=zzwombat sighting") == [commented]
        assert _ids(s, url, f"{mine}{term}=zzwomb*") == [commented]
        assert sorted(_ids(s, url, f"{mine}{term}=r13ts")) == sorted([noted, commented, bare])

    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"{mine}123TEXTQUERY321=Work")
    gr.query()
    assert len(gr) == 0

    # a self-service caller's search reads the comments only
    ess = _as(sb, "ess.r13", "Secret-12")
    assert _ids(ess, url, "123TEXTQUERY321=zzquokka") == []
    assert _ids(ess, url, "123TEXTQUERY321=zzwombat") == [commented]
    assert _ids(ess, url, "123TEXTQUERY321=Additional") == []


def test_orderby_a_journal_field_is_ignored(env):
    sb, _, s = env
    me, noted, commented, bare = _setup(sb)
    url = f"{sb.url}/api/now/table/incident"
    plain = _ids(s, url, f"caller_id={me}")
    for order in ("ORDERBYwork_notes", "ORDERBYDESCcomments", "ORDERBYDESCcomments_and_work_notes",
                  "ORDERBYDESCparent_incident.work_notes"):
        assert _ids(s, url, f"caller_id={me}^{order}") == plain, order
    # a later key still sorts
    by_desc = _ids(s, url, f"caller_id={me}^ORDERBYDESCwork_notes^ORDERBYDESCshort_description")
    assert by_desc == [noted, commented, bare]


def test_jsonv2_takes_the_callers_query(env):
    sb, _, _ = env
    me, noted, commented, bare = _setup(sb)
    group = sb.insert("sys_user_group", {"name": "r13 group"})["sys_id"]
    sb.insert("sys_user_grmember", {"user": me, "group": group})
    sb.update("incident", bare, {"assignment_group": group})
    ess = _as(sb, "ess.r13", "Secret-12")
    admin = _as(sb, "integration.user", "sandbox-password")
    table = f"{sb.url}/api/now/table/incident"

    def v2(session, query: str) -> list[str]:
        got = session.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_query": query})
        assert got.status_code == 200, got.text
        return sorted(r["sys_id"] for r in got.json()["records"])

    for query in ("caller_id=javascript:gs.getUserID()", f"caller_idDYNAMIC{ME}",
                  f"assignment_groupDYNAMIC{MY_GROUPS}", "assignment_group=javascript:getMyGroups()",
                  "123TEXTQUERY321=zzquokka", "123TEXTQUERY321=Work", "work_notesLIKEzzquokka",
                  "commentsLIKEzzwombat", "ORDERBYDESCwork_notes"):
        assert v2(ess, query) == sorted(_ids(ess, table, query)), query
    assert v2(ess, "caller_id=javascript:gs.getUserID()") == sorted([noted, commented, bare])
    assert v2(ess, f"assignment_groupDYNAMIC{MY_GROUPS}") == [bare]
    assert v2(ess, "123TEXTQUERY321=zzquokka") == []  # a self-service caller searches no work notes
    assert v2(admin, f"caller_id={me}^123TEXTQUERY321=zzquokka") == [noted]
    assert v2(admin, f"caller_id={me}^123TEXTQUERY321=Work") == []
    keys = admin.get(f"{sb.url}/incident.do", params={"JSONv2": "", "sysparm_action": "getKeys",
                                                      "sysparm_query": f"caller_id={me}^GOTO123TEXTQUERY321=zzwombat"})
    assert keys.json()["records"] == [commented]
