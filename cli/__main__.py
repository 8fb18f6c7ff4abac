"""``python -m cli <command>``; see ``python -m cli --help``."""

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="one full sync cycle against the vendor sandbox (embedded default)")
    demo.add_argument("--size", type=int, default=None,
                      help="incidents in the sandbox (first run only; default 2000, then what the first run seeded)")
    demo.add_argument("--changes", type=int, default=None,
                      help="incidents the 'vendor' updates before a rerun (default: 1%% of the data)")
    demo.add_argument("--reset", action="store_true", help="forget the sandbox, warehouse and run history")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from cli.demo import run_demo

        return run_demo(size=args.size, changes=args.changes, reset=args.reset)
    return 2


if __name__ == "__main__":
    sys.exit(main())
