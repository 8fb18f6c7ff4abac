"""Round 21 of the slack_sdk probe (`WebClient` used unchanged): files.remote.add / info / list / share /
update / remove answered unknown_method; they are now served as Slack documents them (remote_files:* scopes,
Slack's remote file object, add as an upsert, previews sent as multipart/form-data), and so is the legacy
dialog.open (its own trigger error codes)."""

from __future__ import annotations

import time

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_client_probe_round6 import _headers

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
DIALOG = {"callback_id": "ride-1", "title": "Request a Ride", "submit_label": "Request",
          "elements": [{"type": "text", "label": "Pickup Location", "name": "loc_origin"}]}


def _add(client, ext="doc-1", **kw):
    return client.files_remote_add(external_id=ext, external_url=f"https://docs.example/{ext}",
                                   title=kw.pop("title", "Incident runbook"), **kw)


def test_remote_file_add_answers_slacks_remote_file_object(slack_client, slack_sandbox):
    added = _add(slack_client, preview_image=PNG, indexable_file_contents=b"runbook escalation steps")
    f = added["file"]
    assert f["id"].startswith("F") and (f["external_id"], f["external_url"]) == ("doc-1", "https://docs.example/doc-1")
    assert (f["mimetype"], f["filetype"], f["pretty_type"], f["mode"]) == (
        "application/vnd.slack-remote", "remote", "Remote", "external")
    assert f["is_external"] is True and f["external_type"] == "app" and f["url_private"] == f["external_url"]
    assert (f["name"], f["title"], f["size"]) == ("Incident runbook", "Incident runbook", 0)
    assert f["user"] == slack_sandbox.workspace.bot_user_id and f["channels"] == [] and f["shares"] == {}
    assert f["has_rich_preview"] is False  # the preview is still being processed in this answer, as documented
    headers = _headers(added)
    assert headers["x-accepted-oauth-scopes"] == "remote_files:write"
    granted = set(headers["x-oauth-scopes"].split(","))
    assert {"remote_files:read", "remote_files:write", "remote_files:share"} <= granted
    info = slack_client.files_remote_info(external_id="doc-1")
    assert info["file"]["id"] == f["id"] and info["file"]["has_rich_preview"] is True
    assert _headers(info)["x-accepted-oauth-scopes"] == "remote_files:read"
    assert slack_client.files_remote_info(file=f["id"])["file"]["external_id"] == "doc-1"


def test_add_is_an_upsert_and_update_changes_the_record(slack_client):
    fid = _add(slack_client)["file"]["id"]
    again = slack_client.files_remote_add(external_id="doc-1", external_url="https://docs.example/moved",
                                          title="Runbook v2")
    assert again["file"]["id"] == fid and again["file"]["url_private"] == "https://docs.example/moved"
    updated = slack_client.files_remote_update(file=fid, title="Runbook v3", filetype="gdoc")
    assert (updated["file"]["title"], updated["file"]["name"], updated["file"]["filetype"]) == (
        "Runbook v3", "Runbook v3", "gdoc")
    assert slack_client.files_remote_info(external_id="doc-1")["file"]["title"] == "Runbook v3"
    assert len(slack_client.files_remote_list()["files"]) == 1


def test_share_posts_the_file_and_list_filters_by_channel(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    fid = _add(slack_client)["file"]["id"]
    other = _add(slack_client, "doc-2", title="Other")["file"]["id"]
    shared = slack_client.files_remote_share(external_id="doc-1", channels=[general])
    assert shared["file"]["channels"] == [general] and general in shared["file"]["shares"]["public"]
    assert _headers(shared)["x-accepted-oauth-scopes"] == "remote_files:share"
    posted = slack_sandbox.messages("general")[-1]["message"]
    assert [x["id"] for x in posted["files"]] == [fid] and posted["files"][0]["mode"] == "external"
    listed = slack_client.files_remote_list()
    assert [x["id"] for x in listed["files"]] == [other, fid] and listed["response_metadata"]["next_cursor"] == ""
    assert [x["id"] for x in slack_client.files_remote_list(channel=general)["files"]] == [fid]
    first = slack_client.files_remote_list(limit=1)
    assert [x["id"] for x in first["files"]] == [other]
    rest = slack_client.files_remote_list(limit=1, cursor=first["response_metadata"]["next_cursor"])
    assert [x["id"] for x in rest["files"]] == [fid] and rest["response_metadata"]["next_cursor"] == ""
    assert slack_client.files_remote_list(ts_to=str(time.time() - 3600))["files"] == []
    fails(slack_client.files_remote_list, "invalid_cursor", cursor="garbage")


def test_remote_file_errors(slack_client, slack_sandbox):
    fid = _add(slack_client)["file"]["id"]
    fails(slack_client.files_remote_info, "file_not_found", file="F0000000000")
    fails(slack_client.files_remote_info, "file_not_found", external_id="nope")
    fails(slack_client.files_remote_info, "too_many_ids", file=fid, external_id="doc-1")
    answer = fails(slack_client.files_remote_add, "invalid_arguments", external_id="x", external_url="https://x",
                   title="")
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required field: title"]
    fails(slack_client.files_remote_add, "bad_image", external_id="x", external_url="https://x", title="t",
          preview_image=b"not an image")
    fails(slack_client.files_remote_add, "invalid_external_id", external_id="x" * 256, external_url="https://x",
          title="t")
    fails(slack_client.files_remote_share, "channel_not_found", file=fid, channels="C0NOSUCH00")
    fails(slack_client.files_remote_share, "not_in_channel", file=fid,
          channels=slack_sandbox.workspace.channel("random")["id"])
    fails(slack_client.files_remote_update, "file_not_found", external_id="nope", title="t")
    assert slack_client.files_remote_remove(external_id="doc-1")["ok"]
    fails(slack_client.files_remote_info, "file_not_found", file=fid)
    fails(slack_client.files_remote_remove, "file_not_found", file=fid)


def test_remote_files_need_their_scopes(slack_client, slack_sandbox):
    _add(slack_client)
    slack_sandbox.set_scopes(["chat:write", "remote_files:read"])
    assert slack_client.files_remote_info(external_id="doc-1")["ok"]
    answer = fails(slack_client.files_remote_add, "missing_scope", external_id="d", external_url="https://x",
                   title="t")
    assert (answer["needed"], answer["provided"]) == ("remote_files:write", "chat:write,remote_files:read")
    general = slack_sandbox.workspace.channel("general")["id"]
    assert fails(slack_client.files_remote_share, "missing_scope", external_id="doc-1",
                 channels=general)["needed"] == "remote_files:share"


def test_dialog_open_exchanges_a_trigger_once(slack_client, slack_sandbox):
    slack_sandbox.configure_interactivity("http://127.0.0.1:9/slack/interactions")  # round 22: needed to open
    tid = slack_sandbox.new_trigger_id()
    assert slack_client.dialog_open(trigger_id=tid, dialog=DIALOG)["ok"]
    assert slack_sandbox.api.dialogs.opened[-1] == {"trigger_id": tid, "dialog": DIALOG}
    fails(slack_client.dialog_open, "trigger_exchanged", trigger_id=tid, dialog=DIALOG)
    fails(slack_client.dialog_open, "invalid_trigger", trigger_id="garbage", dialog=DIALOG)
    unknown = "1700000000001.123.0123456789abcdef0123456789abcdef"  # well-formed, never issued
    fails(slack_client.dialog_open, "expired_trigger_id", trigger_id=unknown, dialog=DIALOG)
    bad = fails(slack_client.dialog_open, "validation_errors", trigger_id=slack_sandbox.new_trigger_id(),
                dialog={**DIALOG, "title": "x" * 25, "elements": []})
    assert len(bad["response_metadata"]["messages"]) == 2
    fails(slack_client.dialog_open, "missing_trigger", trigger_id="", dialog=DIALOG)
