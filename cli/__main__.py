"""``python -m cli <command>``; see ``python -m cli --help``."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="one full sync cycle against the vendor sandbox (embedded default)")
    demo.add_argument("--size", type=int, default=2000, help="incidents in the sandbox (first run only)")
    demo.add_argument("--changes", type=int, default=None,
                      help="incidents the 'vendor' updates before a rerun (default: 1%% of the data)")
    demo.add_argument("--reset", action="store_true", help="forget the sandbox, warehouse and run history")
    rsync = sub.add_parser("reverse-sync", help="push one vendor's outbound mart (or --dry-run: print the plan)")
    rsync.add_argument("--vendor", required=True, choices=["servicenow", "jira", "onetrust"])
    rsync.add_argument("--dry-run", action="store_true", help="write nothing; print and record the plan")
    rsync.add_argument("--confirm-mass-change", action="store_true", help="let the run pass the mass-change guard")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from cli.demo import run_demo

        return run_demo(size=args.size, changes=args.changes, reset=args.reset)
    if args.command == "reverse-sync":
        from cli.reverse_sync import run_reverse_sync

        return run_reverse_sync(args.vendor, dry_run=args.dry_run, confirm_mass_change=args.confirm_mass_change)
    return 2


if __name__ == "__main__":
    sys.exit(main())
