"""Round 24 probes with slack_sdk's WebClient, unchanged, against the Slack sandbox.

- files.completeUploadExternal's `blocks` ("A JSON-based array of structured rich text blocks … If the
  initial_comment field is provided, the blocks field is ignored"): the sandbox dropped them, the share
  message had no blocks; invalid ones were taken too. A `thread_ts` that is no ts was taken as well.
"""

from __future__ import annotations

import json

from tests.sandbox.slack.test_client_probe_round3 import fails

SECTION = [{"type": "section", "text": {"type": "mrkdwn", "text": "evidence for *INC0010001*"}}]


def test_files_upload_v2_shares_with_blocks_unless_there_is_an_initial_comment(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    slack_client.files_upload_v2(channel=channel, content="x", filename="x.txt", blocks=json.dumps(SECTION))
    shared = slack_sandbox.messages(channel)[-1]["message"]
    assert [b["type"] for b in shared["blocks"]] == ["section"] and shared["blocks"][0]["block_id"]
    assert shared["blocks"][0]["text"]["text"] == "evidence for *INC0010001*" and shared["files"]
    history = slack_client.conversations_history(channel=channel, limit=1)["messages"][0]
    assert history["blocks"][0]["text"] == SECTION[0]["text"]

    slack_client.files_upload_v2(channel=channel, content="y", filename="y.txt", initial_comment="see the file",
                                 blocks=json.dumps(SECTION))
    shared = slack_sandbox.messages(channel)[-1]["message"]
    assert shared["text"] == "see the file" and "blocks" not in shared  # initial_comment wins, as documented


def test_files_upload_v2_refuses_bad_blocks_and_thread_ts_before_sharing(slack_client, slack_sandbox):
    channel = slack_sandbox.workspace.channel("general")["id"]
    before = len(slack_sandbox.messages(channel))
    got = fails(slack_client.files_upload_v2, "invalid_blocks", channel=channel, content="x", filename="x.txt",
                blocks=json.dumps([{"type": "nope"}]))
    assert got["errors"] == ["unsupported type: nope [json-pointer:/blocks/0/type]"]
    fails(slack_client.files_upload_v2, "invalid_blocks_format", channel=channel, content="x", filename="x.txt",
          blocks="[{'type': 'divider'}]")  # a Python repr is no JSON
    fails(slack_client.files_upload_v2, "invalid_thread_ts", channel=channel, content="x", filename="x.txt",
          thread_ts="abc")
    assert len(slack_sandbox.messages(channel)) == before
