"""Round 10, pysnc 1.2.1 encoded queries: BETWEEN on an integer field compares numbers, and the condition
builder's relative field comparisons ("is more than / less than N units after / before <field>",
MORETHAN / LESSTHAN) filter instead of being ignored."""

from __future__ import annotations


def _ids(client, query: str) -> set[str]:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(query)
    gr.query()
    return {r.sys_id.get_value() for r in gr}


def test_between_on_an_integer_field_compares_numbers(pysnc_client):
    sb, client = pysnc_client(20)
    made = {n: sb.insert("incident", {"short_description": "btw", "reassignment_count": str(n)})["sys_id"]
            for n in (1, 2, 9, 10, 11)}
    assert _ids(client, "short_description=btw^reassignment_countBETWEEN2@10") == {made[2], made[9], made[10]}


def test_more_than_and_less_than_relative_to_another_field(pysnc_client):
    sb, client = pysnc_client(20)

    def make(resolved: str) -> str:
        return sb.insert("incident", {"short_description": "rel", "opened_at": "2026-03-01 10:00:00",
                                      "resolved_at": resolved})["sys_id"]

    quick, slow, never, early = (make("2026-03-01 10:30:00"), make("2026-03-01 13:00:00"), make(""),
                                 make("2026-03-01 07:00:00"))
    base = "short_description=rel^"
    assert _ids(client, base + "resolved_atMORETHANopened_at@hour@after@1") == {slow}
    assert _ids(client, base + "resolved_atLESSTHANopened_at@hour@after@1") == {quick, early}
    assert _ids(client, base + "resolved_atMORETHANopened_at@hour@before@2") == {early}
    assert _ids(client, base + "resolved_atLESSTHANopened_at@day@before@1") == {quick, slow, early}
    # not understood (an unknown unit): ignored like any invalid condition
    assert _ids(client, base + "resolved_atMORETHANopened_at@fortnight@after@1") == {quick, slow, never, early}
