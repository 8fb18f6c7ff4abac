"""A person submits or closes a modal the app opened with slack_sdk's views_open: Slack's signed
view_submission / view_closed form posts (checked with slack_sdk's SignatureVerifier), state.values shaped
per input type, and the app's response_action (errors, update, push, clear, or an empty answer)."""

from __future__ import annotations

import pytest
import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.slack.interactivity import ClickError
from tests.sandbox.slack import test_interactivity
from tests.sandbox.slack.test_interactivity import SECRET

app = test_interactivity.app  # the interactivity endpoint fixture

MODAL = {"type": "modal", "callback_id": "renewal", "notify_on_close": True, "private_metadata": "task-1",
         "title": {"type": "plain_text", "text": "Renew"}, "submit": {"type": "plain_text", "text": "Send"},
         "blocks": [
             {"type": "input", "block_id": "why", "label": {"type": "plain_text", "text": "Why"},
              "element": {"type": "plain_text_input", "action_id": "reason"}},
             {"type": "input", "block_id": "risk", "label": {"type": "plain_text", "text": "Risk"},
              "element": {"type": "static_select", "action_id": "level", "options": [
                  {"text": {"type": "plain_text", "text": "Low"}, "value": "low"},
                  {"text": {"type": "plain_text", "text": "High"}, "value": "high"}]}},
             {"type": "input", "block_id": "owner", "optional": True, "label": {"type": "plain_text", "text": "Who"},
              "element": {"type": "users_select", "action_id": "who"}},
             {"type": "input", "block_id": "when", "optional": True, "label": {"type": "plain_text", "text": "When"},
              "element": {"type": "datepicker", "action_id": "day"}}]}


@pytest.fixture
def opened(make_slack_sandbox, app):
    sb = make_slack_sandbox(interactivity_url=app.url, signing_secret=SECRET)
    client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    view = client.views_open(trigger_id=sb.new_trigger_id(), view=MODAL)["view"]
    return sb, client, view


def test_a_submission_is_a_signed_view_submission_with_typed_state_values(opened, app):
    sb, _client, view = opened
    amelia = next(u for u, p in sb.workspace.users.items() if p["name"] == "amelia.hart")
    result = sb.submit_view(view["id"], {"reason": "still needed", "level": "high", "who": amelia,
                                         "when": {"day": "2026-12-31"}}, user="amelia.hart")
    assert (result["ok"], result["status"], result["response_action"]) == (True, 200, None)
    [sent] = app.received
    assert sent["valid"] and sent["headers"]["content-type"] == "application/x-www-form-urlencoded"
    payload = sent["payload"]
    assert (payload["type"], payload["user"]["id"], payload["api_app_id"]) == ("view_submission", amelia,
                                                                               sb.workspace.app_id)
    assert payload["trigger_id"] and payload["response_urls"] == []
    shown = payload["view"]
    assert (shown["id"], shown["callback_id"], shown["private_metadata"], shown["hash"]) == (
        view["id"], "renewal", "task-1", view["hash"])
    assert shown["state"]["values"] == {
        "why": {"reason": {"type": "plain_text_input", "value": "still needed"}},
        "risk": {"level": {"type": "static_select", "selected_option": {
            "text": {"type": "plain_text", "text": "High"}, "value": "high"}}},
        "owner": {"who": {"type": "users_select", "selected_user": amelia}},
        "when": {"day": {"type": "datepicker", "selected_date": "2026-12-31"}}}
    # the empty answer closed it: it can be neither submitted again nor updated
    with pytest.raises(ClickError):
        sb.submit_view(view["id"], {"reason": "again", "level": "low"})
    with pytest.raises(SlackApiError) as info:
        _client.views_update(view_id=view["id"], view=MODAL)
    assert info.value.response["error"] == "not_found"


def test_required_inputs_and_unknown_options_cannot_be_submitted(opened, app):
    sb, _client, view = opened
    with pytest.raises(ClickError):
        sb.submit_view(view["id"], {"level": "low"})  # no reason
    with pytest.raises(ClickError):
        sb.submit_view(view["id"], {"reason": "x", "level": "medium"})
    assert app.received == []


def test_response_action_errors_keeps_it_open_and_update_replaces_it(opened, app):
    sb, client, view = opened
    app.answer = {"response_action": "errors", "errors": {"why": "Say more"}}
    result = sb.submit_view(view["id"], {"reason": "x", "level": "low"})
    assert (result["ok"], result["response_action"], result["errors"]) == (True, "errors", {"why": "Say more"})
    app.answer = {"response_action": "update", "view": {**MODAL, "title": {"type": "plain_text", "text": "Thanks"},
                                                        "blocks": []}}
    updated = sb.submit_view(view["id"], {"reason": "because the audit needs it", "level": "low"})["view"]
    assert (updated["id"], updated["title"]["text"]) == (view["id"], "Thanks") and updated["hash"] != view["hash"]
    app.answer = {"response_action": "push", "view": MODAL}
    pushed = sb.submit_view(view["id"])["view"]
    assert (pushed["previous_view_id"], pushed["root_view_id"]) == (view["id"], view["id"])
    app.answer = {"response_action": "clear"}
    assert sb.submit_view(pushed["id"], {"reason": "x", "level": "low"})["response_action"] == "clear"
    for gone in (view["id"], pushed["id"]):
        with pytest.raises(ClickError):
            sb.close_view(gone)
    app.answer = {"response_action": "nonsense"}
    again = client.views_open(trigger_id=sb.new_trigger_id(), view=MODAL)["view"]
    assert sb.submit_view(again["id"], {"reason": "x", "level": "low"})["error"] == "invalid_response"
    assert len(sb.interactions()) == 5


def test_closing_a_modal_sends_view_closed_only_with_notify_on_close(opened, app):
    sb, client, view = opened
    closed = sb.close_view(view["id"], user="chen.wei")
    assert closed["ok"] and closed["payload"]["type"] == "view_closed" and closed["payload"]["is_cleared"] is False
    assert app.received[-1]["valid"] and app.received[-1]["payload"]["view"]["id"] == view["id"]
    quiet = client.views_open(trigger_id=sb.new_trigger_id(), view={**MODAL, "notify_on_close": False})["view"]
    assert sb.close_view(quiet["id"]) is None and len(app.received) == 1


def test_submissions_over_the_sandbox_http_routes(opened, app):
    sb, _client, view = opened
    sent = requests.post(sb.url + "/_sandbox/view_submissions",
                         json={"view_id": view["id"], "values": {"reason": "x", "level": "low"}}).json()
    assert sent["ok"] and sent["payload"]["type"] == "view_submission"
    assert requests.post(sb.url + "/_sandbox/view_submissions", json={"view_id": view["id"]}).status_code == 400
    assert requests.post(sb.url + "/_sandbox/view_closures", json={"view_id": "V0NOPE"}).status_code == 400


def test_a_button_in_a_modal_or_home_tab_is_block_actions_from_the_view(opened, app):
    sb, client, _view = opened
    buttons = {"type": "actions", "block_id": "more", "elements": [
        {"type": "button", "action_id": "add_row", "text": {"type": "plain_text", "text": "Add"}, "value": "row"}]}
    modal = client.views_open(trigger_id=sb.new_trigger_id(), view={**MODAL, "blocks": [*MODAL["blocks"], buttons]})
    pressed = sb.click_view(modal["view"]["id"], "add_row", user="chen.wei", values={"reason": "half typed"})
    payload = pressed["payload"]
    assert pressed["ok"] and app.received[-1]["valid"]
    assert (payload["type"], payload["container"]) == ("block_actions", {"type": "view",
                                                                         "view_id": modal["view"]["id"]})
    assert [(a["action_id"], a["block_id"], a["value"]) for a in payload["actions"]] == [("add_row", "more", "row")]
    assert payload["view"]["state"]["values"]["why"] == {"reason": {"type": "plain_text_input", "value": "half typed"}}
    assert "response_url" not in payload and "message" not in payload
    # the app answers by pushing a view with the click's trigger_id
    assert client.views_push(trigger_id=payload["trigger_id"], view=MODAL)["view"]["previous_view_id"] == \
        modal["view"]["id"]
    amelia = next(u for u, p in sb.workspace.users.items() if p["name"] == "amelia.hart")
    home = client.views_publish(user_id=amelia, view={"type": "home", "blocks": [buttons]})["view"]
    assert sb.click_view(home["id"], "add_row", user=amelia)["payload"]["view"]["type"] == "home"
    with pytest.raises(ClickError):
        sb.click_view(home["id"], "no_such_button")
