"""The Calls API through slack_sdk's `WebClient` unchanged (round 14: every calls.* method was unknown_method,
though the app's install asks for calls:read / calls:write): register a Call, post it in a channel with a
`call` block, read, update, add and remove participants, end it; Slack's documented errors."""

from __future__ import annotations

from tests.sandbox.slack.test_client_probe_round3 import _human, fails


def test_a_call_from_add_to_end(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    external = {"external_id": "54321678", "display_name": "Kim Possible", "avatar_url": "https://x.example/a.jpg"}
    added = slack_client.calls_add(external_unique_id="025169F6", join_url="https://calls.example/1",
                                   created_by=amelia, date_start=1562002086, title="Incident bridge",
                                   external_display_id="705-292-868", users=[{"slack_id": amelia}, external])
    call = added["call"]
    assert call["id"].startswith("R") and call["date_start"] == 1562002086
    assert (call["external_unique_id"], call["join_url"], call["title"]) == (
        "025169F6", "https://calls.example/1", "Incident bridge")
    assert call["users"] == [{"slack_id": amelia}, external] and "desktop_app_join_url" not in call
    channel = slack_sandbox.workspace.channel("alerts-jira")["id"]
    posted = slack_client.chat_postMessage(channel=channel, text="bridge", blocks=[
        {"type": "call", "call_id": call["id"]}])
    assert posted["message"]["blocks"][0]["call_id"] == call["id"]
    assert slack_client.calls_info(id=call["id"])["call"] == call
    updated = slack_client.calls_update(id=call["id"], title="SEV1 bridge", desktop_app_join_url="callapp://join/1")
    assert updated["call"]["title"] == "SEV1 bridge" and updated["call"]["desktop_app_join_url"] == "callapp://join/1"
    bob = _human(slack_sandbox, "bruno.keller")
    slack_client.calls_participants_add(id=call["id"], users=[{"slack_id": bob}])
    slack_client.calls_participants_remove(id=call["id"], users=[external])
    assert slack_client.calls_info(id=call["id"])["call"]["users"] == [{"slack_id": amelia}, {"slack_id": bob}]
    assert slack_client.calls_end(id=call["id"], duration=600).data == {"ok": True}
    assert slack_client.calls_info(id=call["id"])["call"]["date_end"] == 1562002086 + 600


def test_calls_errors(slack_client, slack_sandbox):
    amelia = _human(slack_sandbox)
    bad = fails(slack_client.api_call, "invalid_arguments", api_method="calls.add", json={"created_by": amelia})
    assert bad["response_metadata"]["messages"] == ["[ERROR] missing required field: external_unique_id",
                                                    "[ERROR] missing required field: join_url"]
    fails(slack_client.calls_add, "invalid_created_by", external_unique_id="x", join_url="https://c.example/2",
          created_by="U000NOBODY")
    fails(slack_client.calls_add, "user_not_found", external_unique_id="x", join_url="https://c.example/2",
          created_by=amelia, users=[{"slack_id": "U000NOBODY"}])
    fails(slack_client.calls_add, "invalid_start_time", external_unique_id="x", join_url="https://c.example/2",
          created_by=amelia, date_start="soon")
    for call, kwargs in ((slack_client.calls_info, {}), (slack_client.calls_update, {"title": "t"}),
                         (slack_client.calls_end, {}),
                         (slack_client.calls_participants_add, {"users": [{"slack_id": amelia}]})):
        fails(call, "invalid_call_id", id="R000NOCALL", **kwargs)
    slack_sandbox.set_scopes(["chat:write", "calls:read"])
    answer = fails(slack_client.calls_add, "missing_scope", external_unique_id="x", join_url="https://c.example/2",
                   created_by=amelia)
    assert answer["needed"] == "calls:write"
    fails(slack_client.calls_info, "invalid_call_id", id="R000NOCALL")  # calls:read is enough to read
