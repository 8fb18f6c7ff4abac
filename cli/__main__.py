"""``python -m cli <command>``; see ``python -m cli --help``."""

import argparse
import sys

from cli.errors import count, failure_line
from pipelines.common.entrypoint import debug_requested, print_traceback

REVERSE_SYNC_EXIT_STATUS = """exit status:
  0  every record written (or nothing to do; a dry run: the plan printed)
  1  some records were not written in this run: dead-lettered (the vendor refused them), paused (circuit
     open) or deferred (the vendor kept answering 429 past the run's bounds); each waits in
     reverse_sync.dead_letters and the next push sends it
  2  the push did not run: an unknown vendor, a missing or bad setting, its feature flag off
     (integration.<vendor>.enabled; a --dry-run still plans), or the vendor refusing us
  3  the mass-change guard stopped the run (rerun with --confirm-mass-change if the change is meant)
  4  another push to the vendor holds its lock (nothing written), or this push lost it midway (it stopped
     starting records; those it wrote are linked)"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="one full sync cycle against the vendor sandbox (embedded default)")
    demo.add_argument("--size", type=count(1), default=None,
                      help="incidents in the sandbox (first run only; default 2000, then what the first run seeded)")
    demo.add_argument("--changes", type=count(0), default=None,
                      help="incidents the 'vendor' updates before a rerun (default: 1%% of the data)")
    demo.add_argument("--reset", action="store_true", help="forget the sandbox, warehouse and run history")
    rsync = sub.add_parser("reverse-sync", help="push one vendor's outbound mart (or --dry-run: print the plan)",
                           epilog=REVERSE_SYNC_EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    rsync.add_argument("--vendor", required=True, choices=["servicenow", "jira", "onetrust"])
    rsync.add_argument("--dry-run", action="store_true", help="write nothing; print and record the plan")
    rsync.add_argument("--confirm-mass-change", action="store_true", help="let the run pass the mass-change guard")
    scale = sub.add_parser("scale-demo", help="one full cycle on Celery workers, PostgreSQL and RabbitMQ (scale-out)")
    scale.add_argument("--size", type=count(1), default=1000, help="incidents in the sandbox")
    scale.add_argument("--workers", type=count(1), default=2, help="Celery workers to start (default 2)")
    from cli.webhooks import add_parser as add_webhooks_parser

    add_webhooks_parser(sub)
    from cli.notifications import add_parser as add_notifications_parser

    add_notifications_parser(sub)
    sched = sub.add_parser("schedules", help="list, pause or resume schedules (as the UI's toggle does)")
    sched.add_argument("action", choices=["list", "pause", "resume"])
    sched.add_argument("names", nargs="*", help="schedule names (see `list`)")
    sched.add_argument("--all", action="store_true", help="every schedule of the deployment")
    vault = sub.add_parser("vault", help="install the per-connector Vault policies and AppRoles or Kubernetes roles "
                           "(operator token)")
    vault.add_argument("action", choices=["setup"])
    vault.add_argument("--env", required=True, choices=["dev", "stg", "prod"], help="the Vault path's environment")
    vault.add_argument("--out", required=True, help="file (0600) to write each connector's role and secret id to")
    vault.add_argument("--kubernetes-namespace", help="Kubernetes auth roles bound to the service accounts "
                       "projectx-<connector> in this namespace, instead of AppRoles")
    vault.add_argument("--kubernetes-host", help="the cluster's API address for Vault's kubernetes auth method "
                       "(default https://kubernetes.default.svc, right for a Vault inside the cluster)")
    vault.add_argument("--kubernetes-worker-account", help="the service account of the run and step workers, which "
                       "run every connector: bound to every role too (default projectx-worker; '' for none)")
    vault.add_argument("--kubernetes-ca-file", help="the cluster's CA certificate (PEM) for --kubernetes-host")
    args = parser.parse_args(argv)
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one sentence naming the fix, not a traceback (PROJECTX_DEBUG=1: the traceback)
        if debug_requested([]):
            print_traceback(exc)  # masked as the sentence is
            return 1
        print(failure_line(args.command, exc), file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "scale-demo":
        from cli.scale_demo import run_scale_demo

        return run_scale_demo(size=args.size, workers=args.workers)
    if args.command == "schedules":
        from cli.schedules import run as run_schedules

        return run_schedules(args.action, args.names, args.all)
    if args.command == "vault":
        from cli.vault import setup

        return setup(args.env, args.out, args.kubernetes_namespace, args.kubernetes_host, args.kubernetes_ca_file,
                     args.kubernetes_worker_account)
    if args.command == "demo":
        from cli.demo import run_demo

        return run_demo(size=args.size, changes=args.changes, reset=args.reset)
    if args.command == "reverse-sync":
        from cli.reverse_sync import run_reverse_sync

        return run_reverse_sync(args.vendor, dry_run=args.dry_run, confirm_mass_change=args.confirm_mass_change)
    if args.command == "webhooks":
        from cli.webhooks import run as run_webhooks

        return run_webhooks(args)
    if args.command == "notifications":
        from cli.notifications import run as run_notifications

        return run_notifications(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
