"""AI-app calls through slack_sdk unchanged: assistant.threads.setStatus / setTitle / setSuggestedPrompts and
streamed replies with slack_sdk's chat_stream() helper (chat.startStream / appendStream / stopStream); all
answered unknown_method before."""

from __future__ import annotations

from tests.sandbox.slack.test_client_probe_round3 import _human, fails


def test_a_streamed_reply_grows_in_its_thread_and_ends_with_its_blocks(slack_client, slack_sandbox):
    ws, amelia = slack_sandbox.workspace, _human(slack_sandbox)
    question = slack_client.chat_postMessage(channel="#general", text="what changed?")
    streamer = slack_client.chat_stream(channel=question["channel"], thread_ts=question["ts"], buffer_size=5,
                                        recipient_team_id=ws.team_id, recipient_user_id=amelia)
    streamer.append(markdown_text="Three **tickets** ")
    streamer.append(markdown_text="moved ")
    stopped = streamer.stop(markdown_text="to Done.", blocks=[{"type": "divider"}])
    message = stopped["message"]
    assert message["text"] == "Three **tickets** moved to Done." and message["thread_ts"] == question["ts"]
    assert [b["type"] for b in message["blocks"]] == ["divider"] and message["bot_id"] == ws.bot_id
    replies = slack_client.conversations_replies(channel=question["channel"], ts=question["ts"])["messages"]
    assert [m["text"] for m in replies] == ["what changed?", "Three **tickets** moved to Done."]
    ts = stopped["ts"]
    fails(slack_client.chat_appendStream, "message_not_in_streaming_state", channel=question["channel"], ts=ts,
          markdown_text="late")
    fails(slack_client.chat_appendStream, "message_not_found", channel=question["channel"], ts=question["ts"],
          markdown_text="not a stream")


def test_a_bot_tokens_stream_names_its_recipient(slack_client, slack_sandbox):
    question = slack_client.chat_postMessage(channel="#general", text="q")
    fails(slack_client.chat_startStream, "missing_recipient_team_id", channel=question["channel"],
          thread_ts=question["ts"], markdown_text="x", recipient_user_id=_human(slack_sandbox))
    fails(slack_client.chat_startStream, "missing_recipient_user_id", channel=question["channel"],
          thread_ts=question["ts"], markdown_text="x", recipient_team_id=slack_sandbox.workspace.team_id)
    answer = fails(slack_client.chat_startStream, "invalid_arguments", channel=question["channel"], thread_ts="",
                   recipient_team_id="T1", recipient_user_id="U1")
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required field: thread_ts"]


def test_assistant_thread_status_title_and_prompts_are_kept(slack_client, slack_sandbox):
    dm = slack_client.conversations_open(users=_human(slack_sandbox))["channel"]["id"]
    thread = slack_client.chat_postMessage(channel=dm, text="How can I help?")["ts"]
    assert slack_client.assistant_threads_setStatus(channel_id=dm, thread_ts=thread, status="is thinking...",
                                                    loading_messages=["Reading the tickets"])["ok"]
    slack_client.assistant_threads_setTitle(channel_id=dm, thread_ts=thread, title="Ticket summary")
    prompts = [{"title": "Summarise", "message": "Summarise this week"}]
    slack_client.assistant_threads_setSuggestedPrompts(channel_id=dm, thread_ts=thread, prompts=prompts)
    assert slack_sandbox.api.assistant.threads[(dm, thread)] == {
        "status": "is thinking...", "loading_messages": ["Reading the tickets"], "title": "Ticket summary",
        "prompts": prompts}
    set_status = slack_client.assistant_threads_setStatus  # (`fails` takes its own `status`)
    fails(lambda **kw: set_status(status="x", **kw), "channel_not_found", channel_id="D000NOPE", thread_ts=thread)
    fails(slack_client.assistant_threads_setSuggestedPrompts, "invalid_arguments", channel_id=dm, thread_ts=thread,
          prompts=[{"title": "t", "message": "m"}] * 5)
