"""Round 29: Block Kit rules the sandbox did not enforce, with blocks built by slack_sdk's own model objects.

Before round 29 the sandbox
- posted a message whose blocks repeat a `block_id`, or an actions block whose buttons repeat an `action_id`
  (Slack: invalid_blocks; a block_id is unique within a message, an action_id within its block);
- opened a modal with an `input` block and no `submit` (Slack: invalid_arguments, "[ERROR] must define `submit`
  to use `input` block [json-pointer:/view/blocks/0/input]", as node-slack-sdk #875 quotes it);
- gave a block without an id, in an edit that moved blocks, the id another block of the message already had,
  so sending the message's blocks back (as an approval's "decided" edit does) would repeat it.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from tests.sandbox.slack.test_client_probe_round3 import fails

CHANNEL = "#alerts-servicenow"


def test_repeated_block_id_is_invalid_blocks(slack_client, slack_sandbox):
    before = len(slack_sandbox.messages(CHANNEL))
    blocks = [SectionBlock(text="first", block_id="incident"), DividerBlock(),
              SectionBlock(text="second", block_id="incident")]
    response = fails(slack_client.chat_postMessage, "invalid_blocks", channel=CHANNEL, text="x", blocks=blocks)
    assert response["response_metadata"]["messages"] == ["[ERROR] duplicate block_id [json-pointer:/blocks/2/block_id]"]
    assert len(slack_sandbox.messages(CHANNEL)) == before
    posted = slack_client.chat_postMessage(channel=CHANNEL, text="x", blocks=[
        SectionBlock(text="first", block_id="incident"), SectionBlock(text="second", block_id="incident-2")])
    fails(slack_client.chat_update, "invalid_blocks", channel=posted["channel"], ts=posted["ts"], text="y",
          blocks=blocks)


def test_repeated_action_id_in_one_block_is_invalid_blocks(slack_client):
    twice = ActionsBlock(elements=[ButtonElement(text="Approve", action_id="decide", style="primary", value="a"),
                                   ButtonElement(text="Deny", action_id="decide", style="danger", value="d")])
    response = fails(slack_client.chat_postMessage, "invalid_blocks", channel=CHANNEL, text="x", blocks=[twice])
    assert response["errors"] == ["duplicate action_id [json-pointer:/blocks/0/elements/1/action_id]"]
    # the same action_id in two blocks is fine
    one = ActionsBlock(elements=[ButtonElement(text="Open", action_id="open", url="https://example.com/a")])
    other = ActionsBlock(elements=[ButtonElement(text="Open", action_id="open", url="https://example.com/b")])
    assert slack_client.chat_postMessage(channel=CHANNEL, text="x", blocks=[one, other])["ok"]


def test_a_modal_with_an_input_needs_submit(slack_client, slack_sandbox):
    field = InputBlock(label="Reason", element=PlainTextInputElement(action_id="reason"), block_id="why")
    response = fails(slack_client.views_open, "invalid_arguments", trigger_id=slack_sandbox.new_trigger_id(),
                     view=View(type="modal", title="Deny request", blocks=[SectionBlock(text="INC1"), field]))
    assert response["response_metadata"]["messages"] == [
        "[ERROR] must define `submit` to use `input` block [json-pointer:/view/blocks/1/input]"]
    opened = slack_client.views_open(trigger_id=slack_sandbox.new_trigger_id(),
                                     view=View(type="modal", title="Deny request", submit="Deny", blocks=[field]))
    vid = opened["view"]["id"]
    fails(slack_client.views_update, "invalid_arguments", view_id=vid,
          view=View(type="modal", title="Deny request", blocks=[field]))
    fails(slack_client.views_update, "invalid_arguments", view_id=vid,
          view=View(type="modal", title="Deny request", submit="Deny", blocks=[field, field]))
    assert slack_client.views_update(view_id=vid, view=View(type="modal", title="Deny request", submit="Send",
                                                            blocks=[field]))["view"]["submit"]["text"] == "Send"
    # a modal without inputs needs none, nor does a Home tab
    assert slack_client.views_open(trigger_id=slack_sandbox.new_trigger_id(),
                                   view=View(type="modal", title="Info", blocks=[SectionBlock(text="ok")]))["ok"]


def test_edits_that_move_blocks_keep_block_ids_unique(slack_client):
    posted = slack_client.chat_postMessage(channel=CHANNEL, text="x", blocks=[
        SectionBlock(text="head"), SectionBlock(text="body"), ContextBlock(elements=[MarkdownTextObject(text="c")])])
    channel, ts = posted["channel"], posted["ts"]
    kept = posted["message"]["blocks"]
    # the first block goes, the second keeps the id Slack gave it, a new block comes after it
    edited = slack_client.chat_update(channel=channel, ts=ts, text="x", blocks=[
        kept[1], {"type": "section", "text": {"type": "mrkdwn", "text": "Approved by Amelia"}}, kept[2]])
    ids = [b["block_id"] for b in edited["message"]["blocks"]]
    assert len(set(ids)) == 3 and ids[0] == kept[1]["block_id"] and ids[2] == kept[2]["block_id"]
    read = slack_client.conversations_history(channel=channel, limit=1)["messages"][0]["blocks"]
    assert slack_client.chat_update(channel=channel, ts=ts, text="x", blocks=read)["ok"]  # sent back as read
