"""The user-token-only methods a person calls on their own behalf (a user token, `sandbox.slack.oauth`):
reminders.add / list / info / delete / complete, stars.add / list / remove, users.profile.set (their own
profile; users.profile.get and users.info reflect it), dnd.setSnooze / endSnooze / endDnd (dnd.info shows
the snooze), users.identity (Sign in with Slack: only a token with identity.* scopes; any other user token
answers not_allowed_token_type [unc]). search.*: `sandbox.slack.search`. A bot token answers
not_allowed_token_type to all of them (`takes`), as Slack; each needs its user scope (`sandbox.slack.scopes`:
reminders:write / reminders:read, stars:write / stars:read, users.profile:write, dnd:write, search:read).

Reminders' `time` [unc: Slack's parser is far broader]: a Unix timestamp, "in 5 minutes" / "in 2 hours" /
"in 3 days" (also without "in"), "tomorrow" (9:00 in the person's time zone), "today at 17:30",
"tomorrow at 3pm", "at 9am" (today, or tomorrow once passed), "every day" / "every week" (recurring, no
`time`); anything else is cannot_parse. Reminding someone else is cannot_add_others [unc], the bot
cannot_add_bot. A recurring reminder cannot be completed (cant_complete [unc]).
"""

from __future__ import annotations

import json
import re
import threading
from typing import TYPE_CHECKING, Any

from sandbox.slack import paging
from sandbox.slack.actor import actor_id
from sandbox.slack.arg_numbers import whole
from sandbox.slack.photos import write_profile
from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import USER_TOKEN_ONLY, SlackError, _limit, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

PERSON_METHODS = ("search.messages", "search.files", "search.all", "reminders.add", "reminders.list",
                  "reminders.info", "reminders.delete", "reminders.complete", "stars.add", "stars.list",
                  "stars.remove", "users.profile.set", "dnd.setSnooze", "dnd.endSnooze", "dnd.endDnd",
                  "users.identity", "users.setPhoto", "users.deletePhoto")
PROFILE_FIELDS = ("first_name", "last_name", "real_name", "display_name", "title", "phone", "skype", "pronouns",
                  "status_text", "status_emoji", "status_expiration")
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600,
          "d": 86_400, "day": 86_400, "w": 604_800, "week": 604_800}
# [0-9], not \d: '٣' was a digit to it; at most 9 of them: 5,000 were int()'s ValueError, a 500 [round 27]
_RELATIVE = re.compile(r"(?:in\s+)?([0-9]{1,9}|an?|one)\s*"
                       r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|weeks?)")
_AT = re.compile(r"(?:(today|tomorrow)\s*)?(?:at\s+([0-9]{1,2})(?::([0-9]{2}))?\s*(am|pm)?)?")
_EVERY = {"every day": "daily", "every weekday": "weekdays", "every week": "weekly", "every month": "monthly",
          "every year": "yearly", "daily": "daily", "weekly": "weekly"}


def takes(kind: str, scopes: tuple[str, ...], method: str) -> bool:
    """Whether a token of `kind` may call `method` at all (not_allowed_token_type otherwise): the
    user-token-only methods take user tokens (those emulated here; users.identity only with identity.*);
    admin.* never takes a bot token (Slack's admin methods name user tokens only)."""
    if method.startswith("admin."):
        return kind != "bot"
    if kind == "app" or method not in USER_TOKEN_ONLY:
        return True
    if kind != "user" or method not in PERSON_METHODS:
        return False
    return method != "users.identity" or any(s.startswith("identity.") for s in scopes)


class PersonalApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        self._reminders: dict[str, dict[str, Any]] = {}
        self._stars: dict[str, list[dict[str, Any]]] = {}  # user id -> starred items, oldest first
        self._star_seq = 0
        self._snooze: dict[str, float] = {}  # user id -> snooze end
        self.dnd_info_bot = api.methods["dnd.info"]
        self.methods = {
            "reminders.add": self.reminder_add, "reminders.list": self.reminder_list,
            "reminders.info": self.reminder_info, "reminders.delete": self.reminder_delete,
            "reminders.complete": self.reminder_complete, "stars.add": self.star_add, "stars.list": self.star_list,
            "stars.remove": self.star_remove, "users.profile.set": self.profile_set,
            "dnd.setSnooze": self.set_snooze, "dnd.endSnooze": self.end_snooze, "dnd.endDnd": self.end_dnd,
            "dnd.info": self.dnd_info, "users.identity": self.identity}

    def _now(self) -> float:
        return self.sb.oauth.now()

    # --- reminders -----------------------------------------------------------------------------------
    def parse_time(self, value: str, uid: str) -> tuple[int | None, str | None]:
        """(Unix time, None) or (None, recurrence frequency); cannot_parse otherwise."""
        text, now = " ".join(value.strip().lower().split()), self._now()
        if re.fullmatch(r"[0-9]{9,11}(\.[0-9]+)?", text):  # not \d: '٣' is a digit to it [round 27]
            return int(float(text)), None
        if text in _EVERY:
            return None, _EVERY[text]
        rel = _RELATIVE.fullmatch(text)
        if rel:
            count = 1 if rel.group(1) in ("a", "an", "one") else int(rel.group(1))
            unit = rel.group(2).rstrip("s") or "s"
            return int(now + count * _UNITS.get(unit, _UNITS.get(unit[:3], 60))), None
        at = _AT.fullmatch(text)
        if not text or not at or not (at.group(1) or at.group(2)):
            raise SlackError("cannot_parse")
        hour, minute = int(at.group(2) or 9), int(at.group(3) or 0)
        if at.group(4) == "pm" and hour < 12:
            hour += 12
        if at.group(4) == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            raise SlackError("cannot_parse")
        offset = int(self.sb.workspace.users[uid].get("tz_offset") or 0)
        local = now + offset
        day_start = local - local % 86_400
        when = day_start + hour * 3600 + minute * 60 + (86_400 if at.group(1) == "tomorrow" else 0)
        if at.group(1) is None and when <= local:
            when += 86_400  # "at 9am" once 9am has passed: tomorrow
        return int(when - offset), None

    def reminder_add(self, args: dict[str, Any]) -> dict[str, Any]:
        me, ws = actor_id(self.sb), self.sb.workspace
        if not str(args.get("text") or "").strip():
            raise bad_args("missing required field: text")
        if not str(args.get("time") or "").strip():
            raise bad_args("missing required field: time")
        target = str(args.get("user") or me)
        if target not in ws.users:
            raise SlackError("user_not_found")
        if target == ws.bot_user_id:
            raise SlackError("cannot_add_bot")
        if target != me:
            raise SlackError("cannot_add_others")
        at, every = self.parse_time(str(args["time"]), me)
        with self._lock:
            rid = slack_id("Rm", self.sb.seed, f"reminder:{len(self._reminders)}:{me}", 9)
            reminder: dict[str, Any] = {"id": rid, "creator": me, "user": target, "text": str(args["text"]),
                                        "recurring": every is not None}
            if every is None:
                reminder.update(time=at, complete_ts=0)
            else:
                reminder["recurrence"] = {"frequency": every}
            self._reminders[rid] = reminder
            return {"reminder": dict(reminder)}

    def _reminder(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("reminder"):
            raise bad_args("missing required field: reminder")
        found = self._reminders.get(str(args["reminder"]))
        if found is None or actor_id(self.sb) not in (found["creator"], found["user"]):
            raise SlackError("not_found")
        return found

    def reminder_list(self, args: dict[str, Any]) -> dict[str, Any]:
        me = actor_id(self.sb)
        with self._lock:
            return {"reminders": [dict(r) for r in self._reminders.values() if me in (r["creator"], r["user"])]}

    def reminder_info(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"reminder": dict(self._reminder(args))}

    def reminder_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            del self._reminders[self._reminder(args)["id"]]
        return {}

    def reminder_complete(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            reminder = self._reminder(args)
            if reminder["recurring"] or reminder["complete_ts"]:
                raise SlackError("cant_complete")
            reminder["complete_ts"] = int(self._now())
        return {}

    # --- stars -----------------------------------------------------------------------------------------
    def _star_item(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("file"):
            f = self.api.files._file({"file": args["file"]})
            return {"type": "file", "file": f["id"]}
        if not args.get("channel"):
            raise SlackError("no_item_specified")
        channel = self.api._channel(args)
        if not args.get("timestamp"):
            return {"type": "channel", "channel": channel["id"]}
        stored = self.sb.find_message(channel["id"], str(args["timestamp"]))
        if stored is None:
            raise SlackError("message_not_found")
        return {"type": "message", "channel": channel["id"], "ts": stored["ts"]}

    @staticmethod
    def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
        return all(a.get(k) == b.get(k) for k in ("type", "channel", "ts", "file"))

    def star_add(self, args: dict[str, Any]) -> dict[str, Any]:
        item = self._star_item(args)
        with self._lock:
            mine = self._stars.setdefault(actor_id(self.sb), [])
            if any(self._same(s, item) for s in mine):
                raise SlackError("already_starred")
            self._star_seq += 1  # the star's place for a stable stars.list cursor (`sandbox.slack.paging`)
            mine.append({**item, "date_create": int(self._now()), "seq": self._star_seq})
        return {}

    def star_remove(self, args: dict[str, Any]) -> dict[str, Any]:
        item = self._star_item(args)
        with self._lock:
            mine = self._stars.get(actor_id(self.sb), [])
            hit = next((s for s in mine if self._same(s, item)), None)
            if hit is None:
                raise SlackError("not_starred")
            mine.remove(hit)
        return {}

    def star_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """The person's starred items, newest first, paged by `count` + `page` (and `cursor` + `limit`)."""
        with self._lock:
            mine = list(reversed(self._stars.get(actor_id(self.sb), [])))
        items: list[tuple[str, dict[str, Any]]] = []
        for star in mine:
            out: dict[str, Any] = {"type": star["type"], "date_create": star["date_create"]}
            if star["type"] == "message":
                stored = self.sb.find_message(star["channel"], star["ts"])
                if stored is None:
                    continue
                message = {k: v for k, v in stored["message"].items() if k != "metadata"}
                out.update(channel=star["channel"], message={**message, "is_starred": True, "permalink":
                                                             self.api._link(star["channel"], star["ts"])})
            elif star["type"] == "channel":
                out["channel"] = star["channel"]
            else:
                out["file"] = self.api.files.info({"file": star["file"]})["file"]
            items.append((str(star["seq"]), out))
        count, page = whole(args.get("count") or 100), whole(args.get("page") or 1)  # not int() [round 27]
        if count is None or page is None:
            raise SlackError("invalid_arguments")
        count, page = _limit(args, 0, 1000) or max(count, 1), max(page, 1)
        if args.get("cursor"):  # a stable cursor: the next page's first star (`sandbox.slack.paging`)
            shown, cursor, start = paging.page(items, args["cursor"], count, "star", lambda it: it[0],
                                               paging.int_key, descending=True)
        else:
            start = (page - 1) * count
            shown = items[start:start + count]
            cursor = paging.encode("star", items[start + count][0]) if start + count < len(items) else ""
        return {"items": [it[1] for it in shown],
                "paging": {"count": count, "total": len(items), "page": start // count + 1,
                           "pages": max((len(items) + count - 1) // count, 1)},
                "response_metadata": {"next_cursor": cursor}}

    # --- profile ---------------------------------------------------------------------------------------
    def profile_set(self, args: dict[str, Any]) -> dict[str, Any]:
        """Set the person's own profile: `profile` (a JSON object or its string) or `name` + `value`;
        another person's (`user`) is not_admin [unc: Slack lets admins of paid teams]."""
        me, ws = actor_id(self.sb), self.sb.workspace
        if args.get("user") and args["user"] != me:
            raise SlackError("not_admin" if args["user"] in ws.users else "user_not_found")
        changes = args.get("profile")
        if isinstance(changes, str) and changes:
            try:
                changes = json.loads(changes)
            except ValueError as exc:
                raise SlackError("invalid_profile") from exc
        if not changes and args.get("name"):
            changes = {str(args["name"]): args.get("value", "")}
        if not isinstance(changes, dict) or not changes:
            raise SlackError("invalid_profile")

        def change(profile: dict[str, Any], user: dict[str, Any]) -> None:
            for key, value in changes.items():
                if key not in PROFILE_FIELDS:
                    continue  # email, image and custom fields are not changed here [unc]
                if key == "status_text" and len(str(value)) > 100:
                    raise SlackError("too_long")
                if key == "status_emoji" and value and not re.fullmatch(r":[a-z0-9_+'\-]+:", str(value)):
                    raise SlackError("profile_status_set_failed_not_valid_emoji")
                if key == "status_expiration" and whole(value or 0) is None:  # int(): 'x' a 500, '٣' 3 [round 27]
                    raise bad_args("status_expiration must be an integer")  # [unc] Slack's wording
                profile[key] = whole(value or 0) if key == "status_expiration" else str(value)
            if ("first_name" in changes or "last_name" in changes) and "real_name" not in changes:
                profile["real_name"] = f"{profile['first_name']} {profile['last_name']}".strip()
            profile["real_name_normalized"] = profile["real_name"]
            profile["display_name_normalized"] = profile["display_name"]
            user["real_name"] = profile["real_name"]

        # under the profile lock, on a copy put in place whole; bumps `updated` (`sandbox.slack.photos`)
        return {"profile": dict(write_profile(self.sb, me, change))}

    # --- dnd ---------------------------------------------------------------------------------------------
    def _snoozing(self, uid: str) -> float | None:
        end = self._snooze.get(uid)
        return end if end is not None and end > self._now() else None

    def set_snooze(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("num_minutes"):
            raise SlackError("missing_duration")
        minutes = whole(args["num_minutes"])  # not int(): '٣' read as 3, 1e999 a 500 [round 27]
        if minutes is None:
            raise SlackError("invalid_arguments")
        if minutes < 1:
            raise SlackError("missing_duration")
        end = int(self._now()) + minutes * 60
        self._snooze[actor_id(self.sb)] = end
        return {"snooze_enabled": True, "snooze_endtime": end, "snooze_remaining": minutes * 60,
                "snooze_is_indefinite": False}

    def end_snooze(self, args: dict[str, Any]) -> dict[str, Any]:
        me = actor_id(self.sb)
        if self._snoozing(me) is None:
            raise SlackError("snooze_not_active")
        self._snooze.pop(me, None)
        return {"dnd_enabled": False, "next_dnd_start_ts": 1, "next_dnd_end_ts": 1, "snooze_enabled": False}

    def end_dnd(self, args: dict[str, Any]) -> dict[str, Any]:
        self._snooze.pop(actor_id(self.sb), None)  # ends a snooze too [unc]
        return {}

    def dnd_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """dnd.info: the caller's own info (default) shows their snooze's end and remaining seconds; another
        person's only whether they snooze [unc]."""
        me = actor_id(self.sb)
        uid = str(args.get("user") or me)
        body = self.dnd_info_bot({**args, "user": uid})
        end = self._snoozing(uid)
        body["snooze_enabled"] = end is not None
        if end is not None and uid == me:
            body.update(snooze_endtime=int(end), snooze_remaining=int(end - self._now()),
                        snooze_is_indefinite=False)
        return body

    # --- Sign in with Slack --------------------------------------------------------------------------------
    def identity(self, args: dict[str, Any]) -> dict[str, Any]:
        """users.identity: name and id (identity.basic), `email` (identity.email), `image_*`
        (identity.avatar), the team's name and domain (identity.team)."""
        me, ws, grants = actor_id(self.sb), self.sb.workspace, self.sb.grants
        user = ws.users[me]
        out_user: dict[str, Any] = {"name": user["real_name"], "id": me}
        team: dict[str, Any] = {"id": ws.team_id}
        if grants.has("identity.email"):
            out_user["email"] = user["profile"].get("email", "")
        if grants.has("identity.avatar"):
            out_user.update({k: v for k, v in user["profile"].items() if k.startswith("image_")})
        if grants.has("identity.team"):
            team.update(name=ws.team, domain=ws.domain)
        return {"user": out_user, "team": team}
