"""Run a vendor emulator in the foreground.

    python -m sandbox --vendor servicenow --port 8081 --size 1000 --seed 42 [--tls] [--latency-ms 0]

Prints the URL, CA bundle path (with --tls) and the sandbox credentials; Ctrl-C stops it.
Vendors register in `VENDORS` (name -> factory taking the parsed options); `--vendor all` starts
servicenow, jira, onetrust, slack, smtp, gdrive and sharepoint on consecutive ports (port, port+1, ...).
gdrive and sharepoint always serve TLS and start seeded as their pytest fixtures are (`world.py`): their
credential files (service-account key JSON; certificate PEM) go into `--state-dir` (default: a new temp dir).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandbox.core.base import Sandbox


def _servicenow(opts: argparse.Namespace, port: int) -> Sandbox:
    from sandbox.servicenow import ServiceNowSandbox

    return ServiceNowSandbox(host=opts.host, port=port, seed=opts.seed, size=opts.size, tls=opts.tls,
                             latency_ms=opts.latency_ms, token_ttl_seconds=opts.token_ttl,
                             anchor=opts.anchor, max_concurrent_per_client=opts.max_concurrent)


def _jira(opts: argparse.Namespace, port: int) -> Sandbox:
    from sandbox.jira import JiraSandbox

    return JiraSandbox(host=opts.host, port=port, seed=opts.seed, size=opts.size, tls=opts.tls,
                       latency_ms=opts.latency_ms, token_ttl_seconds=opts.token_ttl,
                       max_concurrent_per_client=opts.max_concurrent)


def _onetrust(opts: argparse.Namespace, port: int) -> Sandbox:
    from sandbox.onetrust import OneTrustSandbox

    return OneTrustSandbox(host=opts.host, port=port, seed=opts.seed, size=opts.size, tls=opts.tls,
                           latency_ms=opts.latency_ms, token_ttl_seconds=opts.token_ttl)


def _slack(opts: argparse.Namespace, port: int) -> Sandbox:
    from sandbox.slack import SlackSandbox

    return SlackSandbox(host=opts.host, port=port, seed=opts.seed, tls=opts.tls, latency_ms=opts.latency_ms)


def _smtp(opts: argparse.Namespace, port: int) -> Any:
    from sandbox.smtp import SmtpSandbox

    return SmtpSandbox(host=opts.host, port=port, seed=opts.seed)


class Seeded:
    """A sandbox whose ``start()`` also seeds its world (``seed(sandbox, folder) -> world`` with a
    ``describe()``) and whose ``describe()`` adds the world's credentials and ids."""

    def __init__(self, sandbox: Sandbox, seed: Callable[[Any, Path], Any], folder: Path) -> None:
        self.sandbox, self.seed, self.folder, self.world = sandbox, seed, folder, None

    def start(self) -> Seeded:
        self.sandbox.start()
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.world = self.seed(self.sandbox, self.folder)
        return self

    def describe(self) -> dict[str, Any]:
        ca = self.sandbox.ca_bundle
        return {**self.sandbox.describe(), **self.world.describe(), "state_dir": str(self.folder),
                "trust_ca_env": f"REQUESTS_CA_BUNDLE={ca} HTTPLIB2_CA_CERTS={ca}"}

    def stop(self) -> None:
        self.sandbox.stop()


def state_dir(opts: argparse.Namespace) -> Path:
    """``--state-dir``, or (once per run) a new private temp dir, removed at exit (its credentials are
    only good for this run's emulators)."""
    if opts.state_dir is None:
        opts.state_dir = opts.temp_state_dir = tempfile.mkdtemp(prefix="sandbox-state-")
    return Path(opts.state_dir)


def _gdrive(opts: argparse.Namespace, port: int) -> Seeded:
    from sandbox.gdrive.app import DriveSandbox
    from sandbox.gdrive.world import seed_world

    sb = DriveSandbox(host=opts.host, port=port, seed=opts.seed, tls=True, latency_ms=opts.latency_ms,
                      token_ttl_seconds=opts.token_ttl)
    return Seeded(sb, seed_world, state_dir(opts) / "gdrive")


def _sharepoint(opts: argparse.Namespace, port: int) -> Seeded:
    from sandbox.sharepoint.app import GraphSandbox
    from sandbox.sharepoint.world import seed_world

    sb = GraphSandbox(host=opts.host, port=port, seed=opts.seed, tls=True, latency_ms=opts.latency_ms,
                      token_ttl_seconds=opts.token_ttl)
    return Seeded(sb, seed_world, state_dir(opts) / "sharepoint")


VENDORS: dict[str, Callable[[argparse.Namespace, int], Any]] = {
    "servicenow": _servicenow, "jira": _jira, "onetrust": _onetrust, "slack": _slack, "smtp": _smtp,
    "gdrive": _gdrive, "sharepoint": _sharepoint,
}


def _number(kind: type, minimum: float, maximum: float | None = None, what: str = "a number") -> Callable[[str], Any]:
    """An argparse type: ``kind`` within [minimum, maximum], refused with a usage error naming the range."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value != value or value < minimum or (maximum is not None and value > maximum):
            top = f" to {maximum}" if maximum is not None else " or more"
            raise argparse.ArgumentTypeError(f"{text} is out of range: use {minimum}{top}")
        return value
    return parse


def _anchor(text: str) -> str:
    from sandbox.core import parse_anchor

    try:
        parse_anchor(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date-time: use e.g. '2026-11-01 00:00:00'") from None
    return text


_PORT = _number(int, 0, 65535, "a port number")
_COUNT = _number(int, 0, what="a whole number")
_POSITIVE = _number(int, 1, what="a whole number")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m sandbox", description="Run vendor API emulators.")
    p.add_argument("--vendor", choices=[*VENDORS, "all"], default="servicenow")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_PORT, default=8081, help="0 picks a free port; 'all' uses port, port+1, ...")
    p.add_argument("--size", type=_COUNT, default=1000, help="main entity count (ServiceNow: incidents)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--tls", action="store_true",
                   help="serve HTTPS with the local sandbox CA (gdrive and sharepoint always do)")
    p.add_argument("--latency-ms", type=_number(float, 0), default=0.0, help="added to every response")
    p.add_argument("--token-ttl", type=_POSITIVE, default=1800, help="OAuth access token lifetime (s)")
    p.add_argument("--anchor", type=_anchor, default=None,
                   help="seed timestamps end here (default 2026-11-01 00:00:00)")
    p.add_argument("--max-concurrent", type=_POSITIVE, default=None, help="429 above N concurrent requests/client")
    p.add_argument("--state-dir", default=None, help="where gdrive/sharepoint write their key and certificate "
                   "files (default: a new temp dir, printed, removed at exit)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    names = list(VENDORS) if opts.vendor == "all" else [opts.vendor]
    sandboxes: list[Any] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # before starting: a SIGTERM still cleans up
    for i, name in enumerate(names):
        started = time.monotonic()
        sb = VENDORS[name](opts, opts.port + i if opts.port else 0).start()
        sandboxes.append(sb)
        info: dict[str, Any] = sb.describe()
        print(f"[{name}] ready in {time.monotonic() - started:.1f}s")
        for key, value in info.items():
            print(f"  {key:19} {value}")
    sys.stdout.flush()
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    for sb in sandboxes:
        sb.stop()
    if getattr(opts, "temp_state_dir", None):
        shutil.rmtree(opts.temp_state_dir, ignore_errors=True)
    print("stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
