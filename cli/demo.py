"""The main job, for a person: start the vendor sandbox, run ``full_sync`` once, print a summary.

Everything stays on the embedded default: the DuckDB warehouse and the Dagster run history live
under ``data/`` and ``.dagster_home/`` (so ``dagster dev`` shows the run afterwards). The sandbox
keeps its state in ``data/sandbox/``, like a real vendor between two syncs; on a rerun it first
plays "the vendor": it updates a few incidents, so the delta sync has something to move.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

from pipelines.common.warehouse import REPO_ROOT, WarehouseSettings

DATA_DIR = REPO_ROOT / "data"
DAGSTER_HOME = REPO_ROOT / ".dagster_home"
SANDBOX_STATE = DATA_DIR / "sandbox"
DEFAULT_SIZE = 2000


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# sha256 of earlier versions of resources/dagster.yaml: an instance still on one of them, unedited, is
# moved to the current template (same storage files; see resources/dagster_storage.py).
EARLIER_INSTANCE_TEMPLATES = {
    "5746569bd64554077333f8b511d533e4c5b92b8d15a41324bff13f17e5bbb6bb": "stock SQLite storage classes",
}


def ensure_dagster_home(home: Path | None = None) -> None:
    """The instance's settings from resources/dagster.yaml (telemetry off, the `warehouse` pool, SQLite
    storage with kept engines), as `make setup` installs them: copied when there are none, and over an
    unedited earlier version of the template; a dagster.yaml someone edited is left alone."""
    home = home or Path(os.environ.get("DAGSTER_HOME") or DAGSTER_HOME)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.exists():
        earlier = EARLIER_INSTANCE_TEMPLATES.get(hashlib.sha256(config.read_bytes()).hexdigest())
        if earlier is None:
            return
        _say(f"Dagster instance {home}: dagster.yaml updated from the earlier template ({earlier})")
    shutil.copyfile(REPO_ROOT / "resources" / "dagster.yaml", config)


def _configure_vendor_env(jira, onetrust) -> None:
    """Jira with an API token (Basic auth, JIRA_AUTH_MODE=pat) and OneTrust with OAuth client credentials."""
    j, o = jira.credentials, onetrust.credentials
    os.environ.update(JIRA_BASE_URL=jira.url, JIRA_AUTH_MODE="pat", JIRA_USER_EMAIL=j["email"],
                      JIRA_API_TOKEN=j["api_token"], ONETRUST_BASE_URL=onetrust.url,
                      ONETRUST_CLIENT_ID=o["client_id"], ONETRUST_CLIENT_SECRET=o["client_secret"])
    os.environ.pop("JIRA_PAT", None)
    os.environ.pop("ONETRUST_API_TOKEN", None)


def _configure_notification_env(slack, smtp) -> None:
    """Slack and SMTP emulators; locally every route is the Developer DM (spec 4), a sandbox person here."""
    os.environ.update(SLACK_BOT_TOKEN=slack.bot_token, SLACK_API_URL=slack.url + "/api/", SMTP_HOST=smtp.host,
                      SMTP_PORT=str(smtp.port), SMTP_STARTTLS="false", SMTP_FROM_ADDRESS="projectx@localhost")
    os.environ.setdefault("PROJECTX_DEVELOPER_EMAIL", "amelia.hart@projectx.example")


def _configure_env(sandbox) -> None:
    os.environ.setdefault("PROJECTX_ENV", "local")
    os.environ.setdefault("PROJECTX_WAREHOUSE", "duckdb")
    os.environ.setdefault("PROJECTX_DUCKDB_PATH", str(DATA_DIR / "warehouse.duckdb"))
    os.environ.setdefault("PROJECTX_DATA_DIR", str(DATA_DIR))
    os.environ["DAGSTER_HOME"] = os.environ.get("DAGSTER_HOME", str(DAGSTER_HOME))
    ensure_dagster_home(Path(os.environ["DAGSTER_HOME"]))
    creds = sandbox.credentials
    os.environ["SERVICENOW_BASE_URL"] = sandbox.url
    os.environ["SERVICENOW_OAUTH_CLIENT_ID"] = creds["client_id"]
    os.environ["SERVICENOW_OAUTH_CLIENT_SECRET"] = creds["client_secret"]
    os.environ["SERVICENOW_USER"] = creds["username"]
    os.environ["SERVICENOW_PASSWORD"] = creds["password"]
    if sandbox.ca_bundle:
        os.environ["REQUESTS_CA_BUNDLE"] = str(sandbox.ca_bundle)


def saved_size(state_dir: Path) -> int | None:
    """The incident count an earlier demo seeded the sandbox with (None: no earlier demo)."""
    path = state_dir / "servicenow.json"
    if not path.exists():
        return None
    try:
        return int(json.loads(path.read_text())["size"])
    except (ValueError, KeyError, TypeError):
        raise SystemExit(f"{path} is not a sandbox state this demo can read: start over with "
                         "`make demo ARGS=--reset`") from None


def demo_size(requested: int | None, saved: int | None) -> int:
    """The sandbox size to run with: the saved one on a rerun, else the requested one (default 2,000).

    A rerun keeps its vendor data, as a real vendor does; asking for another size then means
    starting over, which this says in one line instead of failing deep inside the sandbox."""
    if saved is None:
        return requested or DEFAULT_SIZE
    if requested is not None and requested != saved:
        raise SystemExit(
            f"The sandbox in data/sandbox/ holds the {saved:,} incidents an earlier demo seeded; --size only "
            f"applies to a first run. To seed {requested:,}, start over: make demo ARGS=\"--reset --size "
            f"{requested}\" (this also forgets the warehouse and the run history).")
    return saved


def run_demo(size: int | None = None, changes: int | None = None, reset: bool = False) -> int:
    if os.environ.get("PROJECTX_WAREHOUSE", "duckdb") != "duckdb":
        sys.exit("The demo runs on the embedded default: unset PROJECTX_WAREHOUSE (or set it to duckdb)")
    if reset:
        for path in (DATA_DIR, DAGSTER_HOME):
            shutil.rmtree(path, ignore_errors=True)
        _say("reset: removed data/ and .dagster_home/")
    # before any sandbox starts: a data dir that cannot be made fails here in one sentence naming it,
    # not as the receiver's start-up traceback
    Path(os.environ.get("PROJECTX_DATA_DIR") or DATA_DIR).mkdir(parents=True, exist_ok=True)
    from sandbox.jira import JiraSandbox
    from sandbox.onetrust import OneTrustSandbox
    from sandbox.servicenow import ServiceNowSandbox
    from webhooks.local import beside_sandbox, inbox_summary

    size = demo_size(size, saved_size(SANDBOX_STATE))
    rerun = (SANDBOX_STATE / "servicenow.json").exists()
    SANDBOX_STATE.mkdir(parents=True, exist_ok=True)
    _say(f"starting the vendor sandboxes: ServiceNow ({'resuming saved state' if rerun else f'{size:,} incidents'}), "
         f"Jira ({size // 4:,} issues), OneTrust ({size // 10:,} records per register)")
    from sandbox.slack import SlackSandbox
    from sandbox.smtp import SmtpSandbox

    with ServiceNowSandbox(size=size, tls=True, state_path=SANDBOX_STATE) as sandbox, \
            JiraSandbox(size=size // 4, tls=True) as jira, OneTrustSandbox(size=size // 10, tls=True) as onetrust, \
            beside_sandbox(sandbox, jira) as receiver, SlackSandbox() as slack, SmtpSandbox() as smtp:
        _configure_env(sandbox)
        _configure_vendor_env(jira, onetrust)
        _configure_notification_env(slack, smtp)
        _say(f"ServiceNow {sandbox.url}, Jira {jira.url}, OneTrust {onetrust.url} (TLS, CA {sandbox.ca_bundle})")
        if rerun:
            n = changes if changes is not None else max(1, len(sandbox.records("incident")) // 100)
            touched = sandbox.touch("incident", n=n)
            _say(f"the vendor updated {len(touched)} incidents since the last sync")
        _say(f"webhook receiver {receiver.url}: {inbox_summary(sandbox)}")
        settings = WarehouseSettings.from_env()
        _say(f"warehouse: {settings.describe()}; Dagster home: {os.environ['DAGSTER_HOME']}")
        started = time.monotonic()
        result = _execute_full_sync()
        elapsed = time.monotonic() - started
        from cli.summary import print_summary

        print_summary(result, settings, sandbox, elapsed)
        _say(f"notifications: {len(slack.messages())} Slack message(s) in the Developer DM of "
             f"{os.environ['PROJECTX_DEVELOPER_EMAIL']}, {len(smtp.messages())} e-mail(s) (a rerun sends only "
             "what is new; the ledger is notifications.delivery_ledger)")
        return 0 if result.success else 1


def _execute_full_sync():
    from dagster import DagsterInstance

    from assets.dbt import prepare_manifest
    from assets.ingestion import LIVE_SYNC_TAG, current_partition_key

    _say("preparing the dbt manifest")
    prepare_manifest()
    _say("loading definitions")
    import definitions

    job = definitions.build_definitions().resolve_job_def("full_sync")
    partition = current_partition_key()
    _say(f"running job full_sync for partition {partition} (the live sync): ingest -> dbt build -> reverse sync "
         "(Dagster logs follow)")
    with DagsterInstance.get() as instance:
        return job.execute_in_process(
            instance=instance, partition_key=partition, tags={LIVE_SYNC_TAG: "true"},
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
        )
