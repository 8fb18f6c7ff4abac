"""Round 18 probe of pysnc and the REST API: what it found differing from the platform, one test per fix."""

from __future__ import annotations

from tests.sandbox.servicenow.helpers import sorted_ids

SIZE = 30


def test_goto_prefixed_condition_filters_like_the_condition(env):
    """A list's column search writes GOTO before a condition (`GOTOnumber>=INC0010020`,
    `GOTOshort_descriptionLIKEmail`); integrators copy such list URLs. The condition applies as without
    the prefix (it used to be ignored as an unknown field, answering every row)."""
    sb, client, s = env
    url = f"{sb.url}/api/now/table/incident"
    first = sb.records("incident")[0]
    for cond in (f"number={first['number']}", "number>=INC0010020", "priority=1^ORpriority=2",
                 f"short_descriptionLIKE{first['short_description'].split()[0]}"):
        assert sorted_ids(s, url, "GOTO" + cond) == sorted_ids(s, url, cond)
    assert len(sorted_ids(s, url, f"GOTOnumber={first['number']}")) == 1
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"GOTOnumber={first['number']}")
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.sys_id == first["sys_id"]
