"""``python -m pipelines.onetrust``: sync OneTrust into the warehouse using the spec's env vars.

- ``ONETRUST_API_TOKEN``: static bearer API key; when unset, OAuth client credentials from
  ``ONETRUST_CLIENT_ID`` / ``ONETRUST_CLIENT_SECRET`` (our addition; the sandbox issues these).
- ``ONETRUST_REGION`` (us, eu, de, uk, apac, trial, uat or a tenant host; default us) picks the host
  unless ``ONETRUST_BASE_URL`` is set. ``ONETRUST_TIMEOUT_SECONDS`` (default 30) bounds every request.
- ``ONETRUST_RECONCILE`` (default true): read every listing whole, to repair gaps and find deletes.

A failure prints one sentence naming the URL tried; ``--debug`` (or ``PROJECTX_DEBUG=1``) shows the traceback.
"""

import sys

from pipelines.common.concurrency import sync_concurrency
from pipelines.common.entrypoint import check_arguments, run_cli
from pipelines.common.runner import ca_verify, env, run_source
from pipelines.onetrust import onetrust_source
from pipelines.onetrust.settings import (
    DEFAULT_DETAIL_WORKERS,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_SECONDS,
    REGION_HOSTS,
    config_hint,
)


def _timeout() -> float:
    raw = env("ONETRUST_TIMEOUT_SECONDS", str(DEFAULT_TIMEOUT_SECONDS))
    try:
        return float(raw)
    except ValueError:
        sys.exit(f"ONETRUST_TIMEOUT_SECONDS={raw!r} is not a number of seconds: set e.g. 30")


def _url_tried() -> str:
    """The host the source talks to: ONETRUST_BASE_URL, else the region's (an unknown region is a tenant host)."""
    region = env("ONETRUST_REGION", DEFAULT_REGION) or DEFAULT_REGION
    return env("ONETRUST_BASE_URL") or f"https://{REGION_HOSTS.get(region.lower(), region)}"


def main() -> None:
    check_arguments("OneTrust")  # before the settings: `--help` needs none
    if not env("ONETRUST_API_TOKEN") and not (env("ONETRUST_CLIENT_ID") and env("ONETRUST_CLIENT_SECRET")):
        sys.exit("Set ONETRUST_API_TOKEN, or ONETRUST_CLIENT_ID and ONETRUST_CLIENT_SECRET, and run again")
    try:
        source = onetrust_source(
            base_url=env("ONETRUST_BASE_URL"),
            region=env("ONETRUST_REGION", DEFAULT_REGION),
            api_token=env("ONETRUST_API_TOKEN"),
            client_id=env("ONETRUST_CLIENT_ID"),
            client_secret=env("ONETRUST_CLIENT_SECRET"),
            timeout_seconds=_timeout(),
            reconcile=env("ONETRUST_RECONCILE", "true").lower() not in ("0", "false", "no"),
            verify=ca_verify(),
            detail_workers=sync_concurrency("onetrust", DEFAULT_DETAIL_WORKERS),
        )
    except ValueError as exc:
        sys.exit(str(exc))
    run_cli("OneTrust", _url_tried(), lambda: run_source("onetrust", source),
            auth_hint=config_hint(static_token=bool(env("ONETRUST_API_TOKEN"))))


if __name__ == "__main__":
    main()
