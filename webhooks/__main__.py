"""``python -m webhooks [--host 127.0.0.1] [--port 8000]``: serve the receiver with uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys


def _port(text: str) -> int:
    """An argparse type: a TCP port, 0 (any free one) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number: use 0-65535 (0 picks a free one)")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webhooks", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=8000)
    parser.add_argument("--log-level", default="info", type=str.lower,
                        choices=["critical", "error", "warning", "info", "debug", "trace"])
    args = parser.parse_args(argv)
    import uvicorn

    from webhooks.app import create_app
    from webhooks.receiver.server import server_options
    from webhooks.settings import MissingWebhookSecret, WebhookSettings

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:  # the endpoint secrets, once: in stg/prod only from Vault, and each one must be there
        settings = WebhookSettings.from_env().resolved()
    except (MissingWebhookSecret, PermissionError, ConnectionError, ValueError) as exc:
        print(f"python -m webhooks: not started: {exc}", file=sys.stderr)
        return 2
    logging.getLogger("webhooks").info("webhook receiver on http://%s:%d: %s", args.host, args.port,
                                       settings.describe())
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level,
                access_log=False, timeout_graceful_shutdown=5, **server_options(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
