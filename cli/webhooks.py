"""``python -m cli webhooks {status,dead-letters,replay}``: the webhook inbox from the shell.

- ``status``: events per source and state, quarantined payloads, rejections in the last 24 hours.
- ``dead-letters``: events that failed 10 processing attempts, with their last error.
- ``replay [--seq N ...]``: put dead letters (all, or these) back in line, attempts reset; the
  ``webhook_inbox`` sensor processes them on its next tick.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from cli.errors import count
from webhooks.inbox import EventQueue, open_database
from webhooks.settings import WebhookSettings


def add_parser(sub) -> None:
    p = sub.add_parser("webhooks", help="the webhook inbox: status, dead letters, replay")
    cmds = p.add_subparsers(dest="webhooks_command", required=True)
    cmds.add_parser("status", help="events per source and state")
    cmds.add_parser("dead-letters", help="events that failed 10 processing attempts")
    replay = cmds.add_parser("replay", help="put dead letters back in line for the sensor")
    replay.add_argument("--seq", type=count(1), nargs="*", help="only these events (default: every dead letter)")


def run(args: argparse.Namespace, settings: WebhookSettings | None = None) -> int:
    settings = settings or WebhookSettings.from_env()
    db = open_database(settings)
    try:
        queue = EventQueue(db)
        if args.webhooks_command == "status":
            print(json.dumps(queue.health(), indent=2, sort_keys=True))
        elif args.webhooks_command == "dead-letters":
            dead = queue.dead_letters()
            for d in dead:
                when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(d["dead_at"]))
                print(f"{d['seq']}\t{d['source']}\t{d['event_type']}\t{d['delivery_id']}\t{when}Z\t{d['last_error']}")
            print(f"{len(dead)} dead letter(s)")
        else:
            unknown = sorted(set(args.seq or ()) - {d["seq"] for d in queue.dead_letters()})
            n = queue.replay(args.seq or None)
            print(f"replayed {n} dead letter(s): the webhook_inbox sensor processes them on its next tick")
            if unknown:  # a mistyped --seq must not look like a replay that happened
                print(f"no dead letter with --seq {' '.join(map(str, unknown))}: see `python -m cli webhooks "
                      "dead-letters` for the ones there are", file=sys.stderr)
                return 1
        return 0
    finally:
        db.close()
