"""Who a message is from: the app's bot as Slack shows it on the messages it posts (`bot_id`, `app_id`,
`bot_profile`), and chat.postMessage's `username` / `icon_emoji` / `icon_url` (scope chat:write.customize),
which make the message a `subtype: bot_message` under that name and icon, without `user`, as Slack does
(ignored with the legacy `as_user=true`, which only a user token may send: `sandbox.slack.arg_rules`)."""

from __future__ import annotations

from typing import Any


def bot_message(ws: Any, text: str | None, blocks: Any = None, attachments: Any = None,
                thread_ts: Any = None) -> dict[str, Any]:
    """A message as the app's bot posts it (chat.postMessage, chat.postEphemeral, a response_url)."""
    message: dict[str, Any] = {"user": ws.bot_user_id, "type": "message", "text": text or "",
                               "bot_id": ws.bot_id, "app_id": ws.app_id, "team": ws.team_id,
                               "bot_profile": bot_profile(ws)}
    for key, value in (("blocks", blocks), ("attachments", attachments), ("thread_ts", thread_ts)):
        if value:
            message[key] = str(value) if key == "thread_ts" else value
    return message


def bot_profile(ws: Any) -> dict[str, Any]:
    """The app's bot as Slack describes it on each message the bot posts."""
    icons = {f"image_{n}": f"https://avatars.slack-edge.example/{ws.bot_id}_{n}.png" for n in (36, 48, 72)}
    return {"id": ws.bot_id, "deleted": False, "name": "Project X Integrations", "updated": 1_700_000_000,
            "app_id": ws.app_id, "icons": icons, "team_id": ws.team_id}


def customized(message: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """The bot's message under the `username` / icon the post asked for (unchanged without them)."""
    name, emoji, url = (str(args.get(k) or "") for k in ("username", "icon_emoji", "icon_url"))
    if not (name or emoji or url) or str(args.get("as_user")).lower() in ("1", "true"):
        return message
    icons = {"emoji": emoji} if emoji else {"image_64": url} if url else None
    out = {k: v for k, v in message.items() if k != "user"}
    out.update(subtype="bot_message", username=name or message["bot_profile"]["name"])
    if icons:
        out["icons"] = icons
    return out


def shown_attachments(attachments: Any) -> Any:
    """Legacy attachments as Slack keeps and shows them: numbered `id` 1..n in order (Slack's chat.postMessage
    example) and a `fallback` where none was given: "[no preview available]" for one made of blocks,
    "NO FALLBACK DEFINED" otherwise [unc: those two words, as Slack clients have shown them]."""
    if not isinstance(attachments, list):
        return attachments
    out = []
    for n, item in enumerate(attachments, 1):
        if isinstance(item, dict):
            item = {**item, "id": n}
            if not item.get("fallback"):
                item["fallback"] = "[no preview available]" if item.get("blocks") else "NO FALLBACK DEFINED"
        out.append(item)
    return out
