"""User groups (@handles): usergroups.list / usergroups.users.list read them; usergroups.create / update /
disable / enable / users.update change them, as a bot with `usergroups:write` may on a paid workspace.

Two groups are seeded (GROUPS: @secops, @compliance). As Slack: `users` is listed only with
`include_users`, `user_count` only with `include_count`; a disabled group (`date_delete` set) is left out
of usergroups.list without `include_disabled` and is no_such_subteam to usergroups.users.list without it;
usergroups.users.update replaces the members (and enables a disabled group). Errors: no_such_subteam,
name_already_exists, handle_already_exists (a person's handle counts too), invalid_users (an unknown id),
no_users_provided, invalid_arguments (no name)."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from sandbox.slack.seed import slack_id
from sandbox.slack.webapi import SlackError, _flag, bad_args

if TYPE_CHECKING:
    from sandbox.slack.webapi import WebApi

# (handle, name, description, members' handles)
GROUPS = (("secops", "Security Operations", "Security on-call", ("amelia.hart", "chen.wei")),
          ("compliance", "Compliance Team", "Compliance deliverables", ("dana.okafor", "farah.haddad", "priya.nair")))


class UsergroupsApi:
    def __init__(self, api: WebApi) -> None:
        self.api, self.sb = api, api.sb
        self._lock = threading.Lock()
        ws = self.sb.workspace
        by_handle = {u["name"]: uid for uid, u in ws.users.items()}
        creator = next(u for u in ws.users if u != ws.bot_user_id)
        self._groups = [self._group(slack_id("S", ws.seed, handle), name, handle, description, creator,
                                    1_700_000_000, [by_handle[h] for h in members if h in by_handle])
                        for handle, name, description, members in GROUPS]
        self.methods = {"usergroups.list": self.list, "usergroups.users.list": self.users_list,
                        "usergroups.create": self.create, "usergroups.update": self.update,
                        "usergroups.disable": self.disable, "usergroups.enable": self.enable,
                        "usergroups.users.update": self.users_update}

    def _group(self, gid: str, name: str, handle: str, description: str, by: str, at: int,
               users: list[str]) -> dict[str, Any]:
        return {"id": gid, "team_id": self.sb.workspace.team_id, "is_usergroup": True, "is_subteam": True,
                "name": name, "description": description, "handle": handle, "is_external": False,
                "date_create": at, "date_update": at, "date_delete": 0, "auto_type": None, "auto_provision": False,
                "enterprise_subteam_id": "", "created_by": by, "updated_by": by, "deleted_by": None,
                "prefs": {"channels": [], "groups": []}, "users": users}

    @staticmethod
    def _shown(group: dict[str, Any], args: dict[str, Any], users: bool = True) -> dict[str, Any]:
        out = {**group, "prefs": {k: list(v) for k, v in group["prefs"].items()}, "users": list(group["users"])}
        if _flag(args.get("include_count")):
            out["user_count"] = len(group["users"])
        if not users:
            del out["users"]
        return out

    def _find(self, args: dict[str, Any], disabled_ok: bool = True) -> dict[str, Any]:
        group = next((g for g in self._groups if g["id"] == args.get("usergroup")), None)
        if group is None or (group["date_delete"] and not disabled_ok):
            raise SlackError("no_such_subteam")
        return group

    def _check_names(self, name: str | None, handle: str | None, but: dict[str, Any] | None = None) -> None:
        others = [g for g in self._groups if g is not but]
        if name and any(g["name"] == name for g in others):
            raise SlackError("name_already_exists")
        people = {u["name"] for u in self.sb.workspace.users.values()}
        if handle and (handle in people or any(g["handle"] == handle for g in others)):
            raise SlackError("handle_already_exists")

    def _channels(self, args: dict[str, Any]) -> list[str] | None:
        if args.get("channels") is None:
            return None
        return [self.api._channel({"channel": c.strip()})["id"] for c in str(args["channels"]).split(",") if c.strip()]

    def _touch(self, group: dict[str, Any]) -> None:
        group.update(date_update=int(time.time()), updated_by=self.sb.workspace.bot_user_id)

    def list(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"usergroups": [self._shown(g, args, _flag(args.get("include_users"))) for g in self._groups
                                   if not g["date_delete"] or _flag(args.get("include_disabled"))]}

    def users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            return {"users": list(self._find(args, _flag(args.get("include_disabled")))["users"])}

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name") or "").strip()
        if not name:
            raise bad_args("missing required field: name")
        handle = str(args.get("handle") or "").strip() or name.lower().replace(" ", "-")
        channels = self._channels(args) or []
        ws = self.sb.workspace
        with self._lock:
            self._check_names(name, handle)
            gid = slack_id("S", self.sb.seed, f"created:{handle}:{time.time_ns()}")
            group = self._group(gid, name, handle, str(args.get("description") or ""), ws.bot_user_id,
                                int(time.time()), [])
            group["prefs"]["channels"] = channels
            self._groups.append(group)
            return {"usergroup": self._shown(group, args)}

    def update(self, args: dict[str, Any]) -> dict[str, Any]:
        channels = self._channels(args)
        with self._lock:
            group = self._find(args)
            self._check_names(args.get("name"), args.get("handle"), but=group)
            for key in ("name", "handle", "description"):
                if args.get(key) is not None:
                    group[key] = str(args[key])
            if channels is not None:
                group["prefs"]["channels"] = channels
            self._touch(group)
            return {"usergroup": self._shown(group, args)}

    def _able(self, args: dict[str, Any], enabled: bool) -> dict[str, Any]:
        with self._lock:
            group = self._find(args)
            group.update(date_delete=0 if enabled else int(time.time()),
                         deleted_by=None if enabled else self.sb.workspace.bot_user_id)
            self._touch(group)
            return {"usergroup": self._shown(group, args)}

    def disable(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._able(args, False)

    def enable(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._able(args, True)

    def users_update(self, args: dict[str, Any]) -> dict[str, Any]:
        users = [u.strip() for u in str(args.get("users") or "").split(",") if u.strip()]
        if not users:
            raise SlackError("no_users_provided")
        if any(u not in self.sb.workspace.users for u in users):
            raise SlackError("invalid_users")
        with self._lock:
            group = self._find(args)
            group.update(users=list(dict.fromkeys(users)), date_delete=0, deleted_by=None)
            self._touch(group)
            return {"usergroup": self._shown(group, args)}
