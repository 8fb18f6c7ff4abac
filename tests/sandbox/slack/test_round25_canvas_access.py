"""Round 25 review: canvases keep to who may see and change them, as Slack documents (a caller with no access:
canvas_not_found, "not visible to the calling user"; too little access: restricted_action); sections.lookup
rejects malformed `section_types` with invalid_arguments (a number or nested list was a 500, "h1" was split
into letters); users.setPhoto / deletePhoto bump the user's `updated` and write the profile under the profile
lock, so users.list serialized meanwhile is never a "dict changed size" 500. Driven with slack_sdk 3.48."""

from __future__ import annotations

import threading

import pytest
from slack_sdk import WebClient

from tests.sandbox.slack.test_client_probe_round3 import fails
from tests.sandbox.slack.test_oauth_install import oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_round25_sdk_suite import MARKDOWN, _png
from tests.sandbox.slack.test_user_tokens import _person, _uid

DOC = {"type": "markdown", "markdown": MARKDOWN}
ADD = [{"operation": "insert_at_end", "document_content": {"type": "markdown", "markdown": "- more"}}]
HEY = {"contains_text": "Hey"}


@pytest.fixture
def trio(sb, oauth_client):  # noqa: F811
    bot = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
    return bot, _person(sb, oauth_client, "chen.wei"), _person(sb, oauth_client, "amelia.hart")


def _hidden(client: WebClient, canvas: str) -> None:
    """No access at all: every canvas method answers canvas_not_found, as for a canvas that does not exist."""
    fails(client.canvases_sections_lookup, "canvas_not_found", canvas_id=canvas, criteria=HEY)
    fails(client.canvases_edit, "canvas_not_found", canvas_id=canvas, changes=ADD)
    fails(client.canvases_delete, "canvas_not_found", canvas_id=canvas)
    fails(client.canvases_access_set, "canvas_not_found", canvas_id=canvas, access_level="write",
          user_ids=[client.auth_test()["user_id"]])
    fails(client.canvases_access_delete, "canvas_not_found", canvas_id=canvas,
          user_ids=[client.auth_test()["user_id"]])


def test_a_persons_canvas_is_theirs_until_they_grant_access(sb, trio):  # noqa: F811
    bot, chen, amelia = trio
    amelia_id, bot_id = _uid(sb, "amelia.hart"), bot.auth_test()["user_id"]
    canvas = chen.canvases_create(title="Chen's", document_content=DOC)["canvas_id"]
    _hidden(amelia, canvas)
    _hidden(bot, canvas)

    chen.canvases_access_set(canvas_id=canvas, access_level="read", user_ids=[amelia_id])
    assert len(amelia.canvases_sections_lookup(canvas_id=canvas, criteria=HEY)["sections"]) == 1
    fails(amelia.canvases_edit, "restricted_action", canvas_id=canvas, changes=ADD)
    fails(amelia.canvases_delete, "restricted_action", canvas_id=canvas)

    chen.canvases_access_set(canvas_id=canvas, access_level="write", user_ids=[amelia_id, bot_id])
    amelia.canvases_edit(canvas_id=canvas, changes=ADD)
    bot.canvases_edit(canvas_id=canvas, changes=ADD)
    more = chen.canvases_sections_lookup(canvas_id=canvas, criteria={"contains_text": "more"})["sections"]
    assert len(more) == 2
    for writer in (amelia, bot):  # write is not ownership: no deleting, no (re-)granting
        fails(writer.canvases_delete, "restricted_action", canvas_id=canvas)
        fails(writer.canvases_access_set, "restricted_action", canvas_id=canvas, access_level="write",
              user_ids=[_uid(sb, "chen.wei")])
        fails(writer.canvases_access_delete, "restricted_action", canvas_id=canvas, user_ids=[amelia_id])

    chen.canvases_access_delete(canvas_id=canvas, user_ids=[amelia_id])
    _hidden(amelia, canvas)
    bot.canvases_sections_lookup(canvas_id=canvas, criteria=HEY)  # the bot's grant stays

    chen.canvases_access_set(canvas_id=canvas, access_level="owner", user_ids=[bot_id])
    chen.canvases_edit(canvas_id=canvas, changes=ADD)  # the previous owner keeps write [unc]
    fails(chen.canvases_delete, "restricted_action", canvas_id=canvas)
    fails(chen.canvases_access_set, "invalid_arguments", canvas_id=canvas, access_level="owner",
          user_ids=[amelia_id, bot_id])
    bot.canvases_delete(canvas_id=canvas)
    fails(chen.canvases_edit, "canvas_not_found", canvas_id=canvas, changes=ADD)


def test_a_channel_grant_reaches_its_members_only(sb, trio):  # noqa: F811
    bot, chen, amelia = trio
    room = bot.conversations_create(name="canvas-room")["channel"]["id"]
    bot.conversations_invite(channel=room, users=_uid(sb, "amelia.hart"))
    canvas = bot.canvases_create(title="Bot's", document_content=DOC)["canvas_id"]
    _hidden(amelia, canvas)

    bot.canvases_access_set(canvas_id=canvas, access_level="write", channel_ids=[room])
    amelia.canvases_edit(canvas_id=canvas, changes=ADD)
    fails(amelia.canvases_delete, "restricted_action", canvas_id=canvas)
    _hidden(chen, canvas)  # not in the channel

    bot.canvases_access_delete(canvas_id=canvas, channel_ids=[room])
    _hidden(amelia, canvas)


def test_a_channel_canvas_is_written_by_the_channels_members(sb, trio):  # noqa: F811
    bot, chen, amelia = trio
    room = bot.conversations_create(name="canvas-tab")["channel"]["id"]
    bot.conversations_invite(channel=room, users=_uid(sb, "amelia.hart"))
    canvas = bot.conversations_canvases_create(channel_id=room, document_content=DOC)["canvas_id"]
    amelia.canvases_edit(canvas_id=canvas, changes=ADD)
    assert len(amelia.canvases_sections_lookup(canvas_id=canvas, criteria={"contains_text": "more"})[
        "sections"]) == 1
    fails(amelia.canvases_delete, "restricted_action", canvas_id=canvas)
    _hidden(chen, canvas)
    bot.canvases_delete(canvas_id=canvas)


@pytest.mark.parametrize("criteria", [{"section_types": 5}, {"section_types": [["h1"]]}, {"section_types": "h1"},
                                      {"section_types": ["h4"]}, {"section_types": {"h1": 1}},
                                      {"contains_text": 5}, {"section_types": ["h1"], "contains_text": ["x"]}])
def test_sections_lookup_takes_a_list_of_known_section_types(slack_client, criteria):
    canvas = slack_client.canvases_create(title="Types", document_content=DOC)["canvas_id"]
    fails(slack_client.canvases_sections_lookup, "invalid_arguments", canvas_id=canvas, criteria=criteria)
    both = slack_client.canvases_sections_lookup(canvas_id=canvas, criteria={"section_types": ["h1", "h2"]})
    assert len(both["sections"]) == 2


def test_set_photo_and_delete_photo_bump_updated(sb, trio):  # noqa: F811
    bot, chen, _ = trio
    me = _uid(sb, "chen.wei")
    seeded = bot.users_info(user=me)["user"]["updated"]
    chen.users_setPhoto(image=_png())
    photo = bot.users_info(user=me)["user"]["updated"]
    assert photo > seeded and abs(photo - sb.oauth.now()) < 5
    sb.advance_clock(3600)
    chen.users_deletePhoto()
    assert bot.users_info(user=me)["user"]["updated"] >= photo + 3600


def test_profile_writes_while_users_list_is_served(sb, trio):  # noqa: F811
    bot, chen, _ = trio
    errors: list[BaseException] = []

    def lister() -> None:
        try:
            for _ in range(25):
                assert bot.users_list()["ok"]
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=lister)
    thread.start()
    for i in range(25):
        chen.users_setPhoto(image=_png()) if i % 2 == 0 else chen.users_deletePhoto()
        chen.users_profile_set(profile={"title": f"Title {i}"})
    thread.join(60)
    assert not errors and not thread.is_alive()
    assert bot.users_info(user=_uid(sb, "chen.wei"))["user"]["profile"]["title"] == "Title 24"
