"""Round 22 audit of the Slack sandbox with slack_sdk's `WebClient` used unchanged: reactions.list pages by cursor +
limit (response_metadata.next_cursor, followed by the SDK's own iteration) and by the older count + page (`paging`);
files.getUploadURLExternal checks `length` (required, an integer, 0 is missing_argument, over 1 GB refused, a
snippet up to 1 MB) and alt_txt (1000 characters); files.completeUploadExternal completes a file once only."""

from __future__ import annotations

import pytest
import requests
from slack_sdk.errors import SlackApiError


def _fails(call, code: str, **kwargs):
    with pytest.raises(SlackApiError) as info:
        call(**kwargs)
    assert info.value.response.status_code == 200 and info.value.response["error"] == code
    return info.value.response


def _reacted(client, sb, n: int) -> tuple[str, list[str]]:
    general = sb.workspace.channel("general")["id"]
    stamps = [client.chat_postMessage(channel=general, text=f"m{i}")["ts"] for i in range(n)]
    for ts in stamps:
        client.reactions_add(channel=general, timestamp=ts, name="eyes")
    return general, stamps


def test_reactions_list_pages_by_cursor_and_the_sdk_follows_it(slack_client, slack_sandbox):
    general, stamps = _reacted(slack_client, slack_sandbox, 5)
    first = slack_client.reactions_list(limit=2)
    assert [i["message"]["ts"] for i in first["items"]] == stamps[::-1][:2]
    assert first["response_metadata"]["next_cursor"] and "paging" not in first
    pages = [[i["message"]["ts"] for i in page["items"]] for page in slack_client.reactions_list(limit=2)]
    assert pages == [stamps[4:2:-1], stamps[2:0:-1], stamps[:1]]
    last = slack_client.reactions_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    assert [i["message"]["ts"] for i in last["items"]] == stamps[2:0:-1]
    assert slack_client.reactions_list(limit=5)["response_metadata"]["next_cursor"] == ""
    assert all(i["channel"] == general and i["type"] == "message" for i in first["items"])
    _fails(slack_client.reactions_list, "invalid_cursor", cursor="not-a-cursor")


def test_reactions_list_pages_by_count_and_page(slack_client, slack_sandbox):
    _, stamps = _reacted(slack_client, slack_sandbox, 5)
    second = slack_client.reactions_list(count=2, page=2)
    assert [i["message"]["ts"] for i in second["items"]] == stamps[2:0:-1]
    assert second["paging"] == {"count": 2, "total": 5, "page": 2, "pages": 3}
    whole = slack_client.reactions_list()
    assert len(whole["items"]) == 5 and whole["paging"] == {"count": 100, "total": 5, "page": 1, "pages": 1}
    assert slack_client.reactions_list(count=2, page=4)["items"] == []


def test_get_upload_url_checks_length_and_alt_text(slack_client):
    got = _fails(slack_client.files_getUploadURLExternal, "invalid_arguments", filename="a.txt", length="many")
    assert got["response_metadata"]["messages"] == ["[ERROR] must be an integer [json-pointer:/length]"]
    _fails(slack_client.files_getUploadURLExternal, "missing_argument", filename="a.txt", length=0)
    _fails(slack_client.files_getUploadURLExternal, "invalid_arguments", filename="a.txt", length=-5)
    _fails(slack_client.files_getUploadURLExternal, "file_upload_size_restricted", filename="a.bin", length=1024**3 + 1)
    assert slack_client.files_getUploadURLExternal(filename="a.bin", length=1024**3)["file_id"]
    _fails(
        slack_client.files_getUploadURLExternal,
        "snippet_too_large",
        filename="a.py",
        length=1024**2 + 1,
        snippet_type="python",
    )
    assert slack_client.files_getUploadURLExternal(filename="a.py", length=1024**2, snippet_type="python")["ok"]
    _fails(slack_client.files_getUploadURLExternal, "alt_txt_too_large", filename="a.png", length=3, alt_txt="x" * 1001)
    assert slack_client.files_getUploadURLExternal(filename="a.png", length=3, alt_txt="x" * 1000)["ok"]
    no_length = _fails(
        slack_client.api_call,
        "invalid_arguments",
        api_method="files.getUploadURLExternal",
        params={"filename": "a.txt"},
    )
    assert no_length["response_metadata"]["messages"] == ["[ERROR] missing required field: length"]


def test_complete_upload_external_completes_a_file_once(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    fid = slack_client.files_upload_v2(channel=general, filename="x.txt", content="hello")["files"][0]["id"]
    before = len(slack_sandbox.messages())
    _fails(slack_client.files_completeUploadExternal, "file_not_found", files=[{"id": fid}], channel_id=general)
    assert len(slack_sandbox.messages()) == before  # the refused second completion shared nothing
    assert slack_client.files_info(file=fid)["file"]["shares"]["public"][general][0]["ts"]
    assert len(slack_client.files_info(file=fid)["file"]["shares"]["public"][general]) == 1


def test_complete_upload_external_refuses_one_id_listed_twice(slack_client):
    up = slack_client.files_getUploadURLExternal(filename="y.txt", length=2)
    assert requests.post(up["upload_url"], data=b"hi", timeout=10).status_code == 200
    _fails(slack_client.files_completeUploadExternal, "file_not_found", files=[{"id": up["file_id"]}] * 2)
    done = slack_client.files_completeUploadExternal(files=[{"id": up["file_id"], "title": "Y"}])
    assert [(f["id"], f["title"]) for f in done["files"]] == [(up["file_id"], "Y")]  # the refused call spent nothing


def test_uploads_carry_slacks_file_type_identifiers(slack_client, slack_sandbox):
    general = slack_sandbox.workspace.channel("general")["id"]
    files = slack_client.files_upload_v2(
        channel=general,
        file_uploads=[
            {"content": "a", "filename": "notes.txt"},
            {"content": "{}", "filename": "data.json"},
            {"content": b"\x00\x01", "filename": "blob"},
        ],
    )["files"]
    shown = {f["name"]: (f["filetype"], f["pretty_type"], f["mode"]) for f in files}
    assert shown == {
        "notes.txt": ("text", "Plain Text", "hosted"),
        "data.json": ("json", "JSON", "hosted"),
        "blob": ("binary", "Binary", "hosted"),
    }
    snippet = slack_client.files_upload_v2(channel=general, filename="s.py", content="print(1)", snippet_type="python")
    f = slack_client.files_info(file=snippet["files"][0]["id"])["file"]
    assert (f["filetype"], f["pretty_type"], f["mode"], f["editable"]) == ("python", "Python", "snippet", True)
    assert [x["id"] for x in slack_client.files_list(types="snippets")["files"]] == [f["id"]]
