"""Round 22 of the slack_sdk probe (`WebClient` used unchanged): files.info / files.list / files.delete did not
know the app's remote files (files.remote.add's), which Slack shows there (`is_external` true, `external_type`
app, listed with types=all); dialog.open opened a dialog for an app with no Interactivity Request URL, where
Slack answers app_missing_action_url."""

from __future__ import annotations

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_slack_round21 import DIALOG, _add


def _upload(client, sb, name="notes.txt"):
    general = sb.workspace.channel("general")["id"]
    return client.files_upload_v2(channel=general, filename=name, content="hello")["files"][0]["id"]


def test_files_info_shows_a_remote_file(slack_client):
    added = _add(slack_client)["file"]
    info = slack_client.files_info(file=added["id"])
    f = info["file"]
    assert (f["id"], f["is_external"], f["external_type"], f["mode"]) == (added["id"], True, "app", "external")
    assert (f["external_id"], f["external_url"], f["url_private"]) == (
        "doc-1", "https://docs.example/doc-1", "https://docs.example/doc-1")
    assert not any(k.startswith("_") for k in f) and info["comments"] == []
    slack_client.files_remote_remove(external_id="doc-1")
    fails(slack_client.files_info, "file_not_found", file=added["id"])


def test_files_list_mixes_hosted_and_remote_files_newest_first(slack_client, slack_sandbox):
    hosted = _upload(slack_client, slack_sandbox)
    remote = _add(slack_client)["file"]["id"]
    listed = slack_client.files_list()
    assert [f["id"] for f in listed["files"]] == [remote, hosted] and listed["paging"]["total"] == 2
    shown = {f["id"]: f for f in listed["files"]}
    assert shown[remote]["is_external"] is True and shown[hosted]["is_external"] is False
    assert [f["id"] for f in slack_client.files_list(types="all")["files"]] == [remote, hosted]
    assert slack_client.files_list(types="images")["files"] == []
    page = slack_client.files_list(count=1, page=2)
    assert [f["id"] for f in page["files"]] == [hosted] and page["paging"]["pages"] == 2
    general = slack_sandbox.workspace.channel("general")["id"]
    assert [f["id"] for f in slack_client.files_list(channel=general)["files"]] == [hosted]
    slack_client.files_remote_share(file=remote, channels=general)
    assert [f["id"] for f in slack_client.files_list(channel=general)["files"]] == [remote, hosted]


def test_files_delete_takes_a_remote_file_away(slack_client):
    fid = _add(slack_client)["file"]["id"]
    assert slack_client.files_delete(file=fid)["ok"]
    fails(slack_client.files_remote_info, "file_not_found", external_id="doc-1")
    assert slack_client.files_list()["files"] == []


def test_dialog_open_needs_an_interactivity_request_url(slack_client, slack_sandbox):
    tid = slack_sandbox.new_trigger_id()
    fails(slack_client.dialog_open, "app_missing_action_url", trigger_id=tid, dialog=DIALOG)
    slack_sandbox.configure_interactivity("http://127.0.0.1:9/slack/interactions")
    assert slack_client.dialog_open(trigger_id=tid, dialog=DIALOG)["ok"]  # the refused call left the trigger


def test_dialog_open_over_socket_mode_needs_no_url(slack_client, slack_sandbox):
    slack_sandbox.configure_socket_mode(True)
    assert slack_client.dialog_open(trigger_id=slack_sandbox.new_trigger_id(), dialog=DIALOG)["ok"]


def test_conversations_mark_refuses_a_ts_that_is_not_one(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    ts = slack_client.chat_postMessage(channel=general, text="read up to here")["ts"]
    assert slack_client.conversations_mark(channel=general, ts=ts)["ok"]
    assert slack_client.conversations_info(channel=general)["channel"]["last_read"] == ts
    for bad in ("abc", "1.2.3", "-5"):
        fails(slack_client.conversations_mark, "invalid_timestamp", channel=general, ts=bad)
    assert slack_client.conversations_info(channel=general)["channel"]["last_read"] == ts


def test_history_bounds_are_checked_in_an_empty_channel_too(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    assert slack_client.conversations_history(channel=general)["messages"] == []
    fails(slack_client.conversations_history, "invalid_ts_latest", channel=general, latest="abc")
    fails(slack_client.conversations_history, "invalid_ts_oldest", channel=general, oldest="nan")
    ts = slack_client.chat_postMessage(channel=general, text="parent")["ts"]
    fails(slack_client.conversations_replies, "invalid_ts_latest", channel=general, ts=ts, latest="soon")
    assert [m["ts"] for m in slack_client.conversations_history(channel=general, oldest="0")["messages"]] == [ts]
