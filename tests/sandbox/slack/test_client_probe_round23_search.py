"""Round 23: search.messages / search.files page by `cursor` too (Slack's "cursormark" paging: `*` for the first
page, then `response_metadata.next_cursor`, `count` the page size), so slack_sdk's iterator pages through the
matches; the sandbox took `page` only and sent no next_cursor (the iterator stopped after the first page)."""

from __future__ import annotations

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_user_tokens import people  # noqa: F401


def test_search_messages_iterates_by_cursor(sb, people):  # noqa: F811
    bot, chen, _ = people
    channel = sb.workspace.channel("general")["id"]
    for i in range(5):
        bot.chat_postMessage(channel=channel, text=f"rollout step {i}")
    pages, texts = [], []
    for page in chen.search_messages(query="rollout", count=2, cursor="*", sort="timestamp"):
        block = page["messages"]
        pages.append((block["paging"]["page"], len(block["matches"])))
        texts += [m["text"] for m in block["matches"]]
    assert pages == [(1, 2), (2, 2), (3, 1)]
    assert texts == [f"rollout step {i}" for i in (4, 3, 2, 1, 0)]
    last = chen.search_messages(query="rollout", count=5, cursor="*")
    assert last["response_metadata"]["next_cursor"] == "" and last["messages"]["pagination"]["last"] == 5
    plain = chen.search_messages(query="rollout", count=2, page=2)  # page paging as before: no cursor sent back
    assert [m["text"] for m in plain["messages"]["matches"]] == ["rollout step 2", "rollout step 1"]
    assert "response_metadata" not in plain.data
    fails(chen.search_messages, "invalid_cursor", query="rollout", cursor="bm9wZQ==")
