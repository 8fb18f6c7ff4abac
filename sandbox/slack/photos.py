"""users.setPhoto / users.deletePhoto: a person sets or removes their own profile photo (user tokens only, as
Slack; a bot token answers not_allowed_token_type; scope users.profile:write).

users.setPhoto takes the `image` as a multipart/form-data file (slack_sdk sends it so), with optional
`crop_x` / `crop_y` / `crop_w`; it answers `{"ok": true}`, Slack's documented example, and the person's
profile (users.info / users.profile.get) gets a new `avatar_hash` and `image_*` URLs, `is_custom_image` true.
Errors, as Slack documents them: bad_image (no image, or bytes that are no JPEG, GIF or PNG), too_large (over
10 MB here [unc: Slack says "excessive dimensions"; it reads pixels, not bytes]). users.deletePhoto puts the
seeded default avatar back and answers `{"ok": true}`. Both bump the user's `updated`, as users.profile.set does.

Every profile write (these two and users.profile.set, `sandbox.slack.personal`) goes through `write_profile`:
under one lock, on a copy that then replaces the profile whole, so a users.list / users.info answer being
serialized at the same time (outside any lock) never sees the dict change size under it.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import actor_id
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox
    from sandbox.slack.webapi import WebApi

SIZES = (24, 32, 48, 72, 192, 512)
IMAGE_MAX = 10 * 1024**2
_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
PROFILE_LOCK = threading.Lock()  # every profile write, in every sandbox of the process
Change = Callable[[dict[str, Any], dict[str, Any]], None]  # (profile copy, user) -> None


def write_profile(sb: SlackSandbox, uid: str, change: Change) -> dict[str, Any]:
    """Apply `change(profile, user)` to a copy of the user's profile under PROFILE_LOCK, then put the copy in
    place and bump `updated` (nothing changes when `change` raises). Answers the new profile."""
    with PROFILE_LOCK:
        user = sb.workspace.users[uid]
        profile = dict(user["profile"])
        change(profile, user)
        user["profile"], user["updated"] = profile, int(sb.oauth.now())
    return profile


class PhotoApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self.methods = {"users.setPhoto": self.set_photo, "users.deletePhoto": self.delete_photo}

    def set_photo(self, args: dict[str, Any]) -> dict[str, Any]:
        image = args.get("image")
        if not isinstance(image, bytes) or not image.startswith(_MAGIC):
            raise SlackError("bad_image")
        if len(image) > IMAGE_MAX:
            raise SlackError("too_large")
        uid = actor_id(self.sb)
        digest = hashlib.sha256(image).hexdigest()[:12]
        write_profile(self.sb, uid, lambda profile, _user: profile.update(
            avatar_hash=digest, is_custom_image=True,
            image_original=f"https://avatars.slack-edge.example/{uid}_{digest}_original.png",
            **{f"image_{n}": f"https://avatars.slack-edge.example/{uid}_{digest}_{n}.png" for n in SIZES}))
        return {}

    def delete_photo(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = actor_id(self.sb)

        def default(profile: dict[str, Any], _user: dict[str, Any]) -> None:
            profile.pop("image_original", None)
            profile.pop("is_custom_image", None)  # back to the seeded default avatar (`sandbox.slack.seed._user`)
            profile.update(avatar_hash=hashlib.sha256(uid.encode()).hexdigest()[:12],
                           **{f"image_{n}": f"https://avatars.slack-edge.example/{uid}_{n}.png" for n in SIZES})

        write_profile(self.sb, uid, default)
        return {}
