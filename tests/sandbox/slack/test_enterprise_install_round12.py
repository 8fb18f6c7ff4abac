"""Enterprise Grid org-wide installs, as slack_sdk 3.48's OAuth flow and installation store see them:
oauth.v2.access answers `is_enterprise_install: true`, `enterprise` set and `team` null; auth.test, event
envelopes and interaction payloads name the same org, so an installation saved from the OAuth answer is
found again from an event's authorization (what bolt does). Before round 12 every install was a standalone
workspace's."""

from __future__ import annotations

import requests
from slack_sdk import WebClient
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation

from tests.sandbox.slack.test_events_api import _subscribe, app  # noqa: F401  (the Events app fixture)
from tests.sandbox.slack.test_oauth_install import _code, _exchange, oauth_client, sb  # noqa: F401


def _installation(body: dict) -> Installation:
    """What an app's OAuth redirect handler builds from the answer (slack_sdk's documented recipe)."""
    enterprise, team = body.get("enterprise") or {}, body.get("team") or {}
    return Installation(app_id=body["app_id"], enterprise_id=enterprise.get("id"),
                        enterprise_name=enterprise.get("name"), team_id=team.get("id"), team_name=team.get("name"),
                        bot_token=body.get("access_token"), bot_id=None, bot_user_id=body.get("bot_user_id"),
                        bot_scopes=body.get("scope"), user_id=body["authed_user"]["id"],
                        user_token=body["authed_user"].get("access_token"),
                        is_enterprise_install=body.get("is_enterprise_install"), token_type=body.get("token_type"))


def test_an_org_wide_install_has_an_enterprise_and_no_team(sb, oauth_client, tmp_path):  # noqa: F811
    settings = sb.configure_enterprise(org_wide=True)
    org = settings["enterprise"]
    assert org["id"].startswith("E") and settings["org_wide"] is True
    body = _exchange(sb, oauth_client, _code(sb, user_scopes=("search:read",))).data
    assert (body["is_enterprise_install"], body["enterprise"], body["team"]) == (True, org, None)
    assert body["access_token"].startswith("xoxb-") and body["authed_user"]["access_token"].startswith("xoxp-")
    tested = WebClient(token=body["access_token"], base_url=sb.url + "/api/").auth_test()
    assert (tested["is_enterprise_install"], tested["enterprise_id"]) == (True, org["id"])

    store = FileInstallationStore(base_dir=str(tmp_path))
    store.save(_installation(body))
    found = store.find_installation(enterprise_id=org["id"], team_id=None, is_enterprise_install=True)
    assert found is not None and found.bot_token == body["access_token"]


def test_events_and_interactions_name_the_org(sb, app, tmp_path):  # noqa: F811
    requests.put(sb.url + "/_sandbox/enterprise", json={"org_wide": True, "name": "Project X Group"}, timeout=5)
    org = sb.enterprise.settings()["enterprise"]
    assert org["name"] == "Project X Group"
    _subscribe(sb, app, "message.channels")
    sb.post_as_user("general", "hello org", user="amelia.hart")
    assert sb.wait_for_events(5)
    event = app.received[-1]["payload"]
    assert (event["enterprise_id"], event["context_enterprise_id"], event["team_id"]) == (
        org["id"], org["id"], sb.workspace.team_id)
    [auth] = event["authorizations"]
    assert (auth["enterprise_id"], auth["team_id"], auth["is_enterprise_install"]) == (org["id"], None, True)

    sb.configure_interactivity(app.url)
    shortcut = sb.run_shortcut("new_task")["payload"]
    assert (shortcut["enterprise"], shortcut["is_enterprise_install"]) == (org, True)
    sb.configure_command("/renew", app.url)
    command = sb.run_command("/renew", "x")["payload"]
    assert (command["enterprise_id"], command["enterprise_name"], command["is_enterprise_install"]) == (
        org["id"], org["name"], "true")


def test_a_standalone_workspace_is_the_default(sb, oauth_client):  # noqa: F811
    body = _exchange(sb, oauth_client, _code(sb)).data
    assert body["is_enterprise_install"] is False and body["enterprise"] is None
    assert body["team"] == {"id": sb.workspace.team_id, "name": sb.workspace.team}
    tested = WebClient(token=body["access_token"], base_url=sb.url + "/api/").auth_test()
    assert tested["is_enterprise_install"] is False and "enterprise_id" not in tested
    assert sb.enterprise.command_fields() == {"is_enterprise_install": "false"}
