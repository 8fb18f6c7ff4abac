"""pins.add / pins.remove / pins.list on kept messages: no_item_specified, message_not_found, not_in_channel,
is_archived, already_pinned, no_pin; a pinned message carries `pinned_to` (as in conversations.history)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.actor import actor_id
from sandbox.slack.webapi import SlackError

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi


class PinsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._pins: dict[str, list[dict[str, Any]]] = {}  # channel id -> [{"ts", "created", "created_by"}]
        self.methods = {"pins.add": self.pins_add, "pins.remove": self.pins_remove, "pins.list": self.pins_list}

    def _pin_target(self, args: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        if not args.get("timestamp"):
            raise SlackError("no_item_specified")
        channel = self.api._channel(args)
        stored = self.sb.find_message(channel["id"], str(args["timestamp"]))
        if stored is None:
            raise SlackError("message_not_found")
        return channel, stored

    def pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._pin_target(args)
        if channel["is_archived"]:
            raise SlackError("is_archived")
        with self._lock:
            pins = self._pins.setdefault(channel["id"], [])
            if any(p["ts"] == stored["ts"] for p in pins):
                raise SlackError("already_pinned")
            pins.append({"ts": stored["ts"], "created": int(time.time()),
                         "created_by": actor_id(self.sb)})
            stored["message"]["pinned_to"] = [channel["id"]]
        return {}

    def pins_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, stored = self._pin_target(args)
        with self._lock:
            pins = self._pins.get(channel["id"], [])
            hit = next((p for p in pins if p["ts"] == stored["ts"]), None)
            if hit is None:
                raise SlackError("no_pin")
            pins.remove(hit)
            stored["message"].pop("pinned_to", None)
        return {}

    def count(self, channel_id: str) -> int:
        """conversations.history's `pin_count`: the channel's pinned messages still there."""
        with self._lock:
            pins = list(self._pins.get(channel_id, []))
        return sum(1 for pin in pins if self.sb.find_message(channel_id, pin["ts"]) is not None)

    def pins_list(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.api._channel(args)
        with self._lock:
            pins = list(self._pins.get(channel["id"], []))
        items = []
        for pin in reversed(pins):
            stored = self.sb.find_message(channel["id"], pin["ts"])
            if stored is None:
                continue
            message = {k: v for k, v in stored["message"].items() if k != "metadata"}
            message["permalink"] = self.api._link(channel["id"], pin["ts"])
            items.append({"type": "message", "created": pin["created"], "created_by": pin["created_by"],
                          "channel": channel["id"], "message": message})
        return {"items": items}
