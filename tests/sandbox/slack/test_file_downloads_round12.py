"""A file's url_private / url_private_download fetched with a person's user token (xoxp-, from the OAuth
install, driven with slack_sdk 3.48): the bytes when that person can see the file (its owner, a member of a
private conversation it was shared in, anyone for a public channel's file), Slack's sign-in redirect (HTML,
never JSON) otherwise. Before round 12 only the preinstalled bot token could download a file."""

from __future__ import annotations

import requests

from tests.sandbox.slack.test_oauth_install import _code, _exchange, oauth_client, sb  # noqa: F401
from tests.sandbox.slack.test_user_tokens import EVERYDAY, _person, people  # noqa: F401


def _get(url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(url, headers=headers, allow_redirects=False, timeout=10)


def test_a_person_downloads_the_files_they_can_see(sb, people):  # noqa: F811
    bot, chen, amelia = people
    secret = amelia.conversations_create(name="amelia-vault", is_private=True)["channel"]["id"]
    hidden = amelia.files_upload_v2(channel=secret, content="vault bytes", filename="v.txt")["file"]
    for url in (hidden["url_private"], hidden["url_private_download"]):
        mine = _get(url, amelia.token)  # the owner, a member of the private channel
        assert (mine.status_code, mine.content) == (200, b"vault bytes")
        assert _get(url, bot.token).content == b"vault bytes"  # the bot sees every file
        refused = _get(url, chen.token)  # not in amelia-vault
        assert refused.status_code == 302 and "json" not in refused.headers["Content-Type"]
        assert refused.headers["Location"].startswith(f"https://{sb.workspace.domain}.slack.com/?redir=%2Ffiles-pri%2F")
        assert refused.text.startswith('<a href="https://') and refused.text.endswith("Found</a>.")
    chen_id = next(u for u, p in sb.workspace.users.items() if p["name"] == "chen.wei")
    amelia.conversations_invite(channel=secret, users=chen_id)
    assert _get(hidden["url_private_download"], chen.token).content == b"vault bytes"  # a member now

    random = sb.workspace.channel("random")["id"]
    public = chen.files_upload_v2(channel=random, content="for everyone", filename="p.txt")["file"]
    assert _get(public["url_private"], amelia.token).content == b"for everyone"


def test_a_file_in_a_dm_is_its_two_peoples(sb, people, oauth_client):  # noqa: F811
    _bot, chen, amelia = people
    dana = _person(sb, oauth_client, "dana.okafor")
    amelia_id = next(u for u, p in sb.workspace.users.items() if p["name"] == "amelia.hart")
    dm = chen.conversations_open(users=amelia_id)["channel"]["id"]
    note = chen.files_upload_v2(channel=dm, content="between us", filename="dm.txt")["file"]
    assert _get(note["url_private"], chen.token).content == b"between us"
    assert _get(note["url_private"], amelia.token).content == b"between us"
    assert _get(note["url_private"], dana.token).status_code == 302


def test_bad_tokens_and_missing_files_read_are_refused_with_html(sb, people, oauth_client):  # noqa: F811
    _bot, chen, _amelia = people
    own = chen.files_upload_v2(channel=sb.workspace.channel("random")["id"], content="mine", filename="m.txt")["file"]
    no_files = _person(sb, oauth_client, "chen.wei", tuple(s for s in EVERYDAY if s != "files:read"))
    assert _get(own["url_private"], no_files.token).status_code == 302  # files:read is needed [unc]
    for token in (None, "xoxp-1-2-3-nope"):
        page = _get(own["url_private"], token)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
        assert b"Sign in" in page.content
    chen.auth_revoke()
    assert b"Sign in" in _get(own["url_private"], chen.token).content
