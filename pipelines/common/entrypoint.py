"""How ``python -m pipelines.<vendor>`` ends when a sync fails: one sentence on stderr, not a traceback.

The sentence is the cause a person can act on (the innermost vendor error, e.g. "credentials refused"
or "token endpoint unreachable"), the URL that was tried, and how to see the traceback: ``--debug``
on the command line or ``PROJECTX_DEBUG=1``. Values of secret variables (``*SECRET*``, ``*TOKEN*``,
``*PASSWORD*``, ``*PAT``) never appear in it: they are replaced by ``***``. Exit status 1.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Mapping

from pipelines.common.warehouse_backup import damaged_duckdb

DEBUG_ENV = "PROJECTX_DEBUG"
DEBUG_FLAG = "--debug"
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|(^|_)PAT$|API_KEY", re.IGNORECASE)
_NAMES_A_VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
# The password of a URL's user part (``https://user:pass@host``): a base URL variable is no secret by name.
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*):[^/\s@]*@")


def debug_requested(argv: Iterable[str] | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """True with ``--debug`` among the arguments or PROJECTX_DEBUG set to 1/true/yes."""
    args = sys.argv[1:] if argv is None else list(argv)
    env = os.environ if environ is None else environ
    return DEBUG_FLAG in args or env.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def print_traceback(exc: BaseException) -> None:
    """The traceback ``--debug`` / PROJECTX_DEBUG=1 asks for, with secret values masked as in the one-line
    sentence: an exception's own text may quote one (requests' InvalidHeader quotes the header's value: a
    VAULT_TOKEN with a pasted line break; a URL with its password)."""
    import traceback

    print(redact("".join(traceback.format_exception(exc)), secret_values()), file=sys.stderr, end="", flush=True)


def root_cause(exc: BaseException) -> BaseException:
    """The exception a person can act on: the innermost vendor error in the chain, else the innermost one.

    dlt wraps a source's error twice (ResourceExtractionError, then PipelineStepFailed); the vendor's
    own message sits at the bottom of that chain."""
    from pipelines.common.http import VendorError

    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        # `raise ... from None` hides the context on purpose: the new error already says it better.
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    vendor_errors = [e for e in chain if isinstance(e, VendorError)]
    return vendor_errors[-1] if vendor_errors else chain[-1]


# Credentials this process read from somewhere other than the environment (Vault in stg/prod, the Jira
# refresh-token store): :func:`secret_values` masks them as it masks the secret variables.
# At most _REMEMBER_AT_MOST, the latest kept (a long-lived process reads a fresh access token every hour).
_REMEMBERED: dict[str, None] = {}
_REMEMBER_AT_MOST = 512
_REMEMBER_LOCK = threading.Lock()  # token refreshes run on several threads at once
# A value shorter than this is masked only where it stands as a word of its own: a 2-character secret
# masked inside every word would leave a message unreadable (and say which letters it is).
MIN_SUBSTRING = 6


def remember_secret(*values: object) -> None:
    """Mask ``values`` (credentials read from Vault or a token store) wherever :func:`secret_values` is used."""
    with _REMEMBER_LOCK:
        for value in values:
            if isinstance(value, str) and value.strip():
                _REMEMBERED.pop(value.strip(), None)
                _REMEMBERED[value.strip()] = None
        while len(_REMEMBERED) > _REMEMBER_AT_MOST:
            _REMEMBERED.pop(next(iter(_REMEMBERED)), None)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the variables that hold secrets and of the credentials read from Vault (longest first,
    so a value inside another is masked too)."""
    env = os.environ if environ is None else environ
    # as the clients read them (trimmed: a CRLF .env leaves "\r" on each), at least 3 characters for a variable
    # (`..._TOKEN_TTL=1` is no secret, and masking "1" as a word would garble "HTTP/1.1" in every line)
    values = {v.strip() for k, v in env.items() if _SECRET_NAME.search(k) and v and len(v.strip()) >= 3}
    with _REMEMBER_LOCK:
        values |= set(_REMEMBERED)
    return sorted(values, key=len, reverse=True)


def encodings(value: str) -> set[str]:
    """``value`` as a vendor may echo it: as sent in a form or a query (percent-encoded, ``+`` for space),
    inside a JSON string (escaped, ``\\u00e9`` or as is) and, for a Basic credential, decoded."""
    out = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    from urllib.parse import quote, quote_plus

    # a value with lone surrogates (non-UTF-8 bytes in the environment) has no percent-encoded form
    with contextlib.suppress(UnicodeEncodeError):
        out |= {quote(value, safe=""), quote_plus(value, safe=""), quote(value)}
    if value.startswith("Basic "):
        try:
            pair = base64.b64decode(value[6:], validate=True).decode("utf-8")
        except ValueError:
            pair = ""
        if ":" in pair:
            out |= encodings(pair.split(":", 1)[1]) | {pair}
    return {v for v in out if v}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret value (also percent-encoded or JSON-escaped) and each URL's password
    replaced by ``***``. A value shorter than :data:`MIN_SUBSTRING` is masked where it is a word of its own."""
    values: set[str] = set()
    for value in secrets:
        if value:
            values |= encodings(value)
    for value in sorted(values, key=len, reverse=True):
        if len(value) >= MIN_SUBSTRING:
            text = text.replace(value, "***")
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", "***", text)
    return _URL_PASSWORD.sub(r"\1:***@", text)


_BAD_URL = ("MissingSchema", "InvalidSchema", "InvalidURL", "LocationParseError")


def storage_hint(exc: BaseException) -> str:
    """What to check when the local files are wrong: a damaged warehouse file, a path that cannot be written."""
    if damaged_duckdb(exc):
        return ("check PROJECTX_DUCKDB_PATH: the warehouse file there cannot be opened and no last good copy "
                "(<file>.lastgood) replaced it; move it and its .wal aside (keep them), then restore the last "
                "backup to that path, or leave it empty to start a new warehouse that every vendor reloads in "
                "full (README: a damaged warehouse)")
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return "check that the path exists and this user may write there (PROJECTX_DATA_DIR, PROJECTX_DUCKDB_PATH)"
    return ""


def unsendable_header(exc: BaseException) -> bool:
    """A header value (a token, most likely) with a character outside Latin-1: Python's text for it quotes
    that character of the secret and where it stands."""
    return isinstance(exc, UnicodeEncodeError) and exc.encoding == "latin-1"


def unsendable_header_detail(vendor: str, auth_hint: str | None = None) -> str:
    return (f"a value sent in an HTTP header holds a character headers cannot carry (outside Latin-1, e.g. a "
            f"pasted curly quote or dash): check {auth_hint or f'the {vendor.upper()}_ credentials'} for it "
            "(or its Vault key) and paste the value again as plain text")


def failure_message(vendor: str, url: str | None, exc: BaseException, secrets: Iterable[str] = (),
                    auth_hint: str | None = None) -> str:
    """One line: what failed and why, the URL tried, where the traceback is. ``auth_hint`` (the settings
    to check) is added to a refusal (401/403) whose own message names no setting."""
    cause = root_cause(exc)
    detail = " ".join(str(cause).split()) or type(cause).__name__
    detail = detail.rstrip(".")
    refused = getattr(cause, "status", None) in (401, 403)
    if unsendable_header(cause):
        detail = unsendable_header_detail(vendor, auth_hint)
    elif auth_hint and refused and not _NAMES_A_VARIABLE.search(detail):
        detail += f"; check {auth_hint}"
    elif not _NAMES_A_VARIABLE.search(detail) and (hint := storage_hint(cause)):
        detail += f"; {hint}"
    elif type(cause).__name__ in _BAD_URL and url and not _NAMES_A_VARIABLE.search(detail):
        detail += f"; {vendor.upper()}_BASE_URL must be a full URL such as https://host[:port] (port 1-65535)"
    where = f" (URL tried: {url})" if url else ""
    return redact(f"The {vendor} sync failed{where}: {detail}. Run again with {DEBUG_FLAG} "
                  f"(or {DEBUG_ENV}=1) to see the traceback.", secrets)


def check_arguments(vendor: str) -> None:
    """A source's command line takes only ``--debug``: ``--help`` prints the usage (exit 0), anything
    else exits 2. Called before the settings are read, so ``--help`` works with none of them set."""
    if DEBUG_FLAG in sys.argv:
        sys.argv.remove(DEBUG_FLAG)
        os.environ[DEBUG_ENV] = "1"
    usage = (f"python -m pipelines.{vendor.lower()} [{DEBUG_FLAG}]: one sync of {vendor} into the warehouse; "
             "its settings come from the environment (README 'Configuration')")
    if sys.argv[1:] and sys.argv[1] in ("-h", "--help"):
        print(usage)
        sys.exit(0)
    if sys.argv[1:]:  # a mistyped flag must not start a sync that ignores it
        print(f"{usage}. Unexpected argument(s): {' '.join(sys.argv[1:])}", file=sys.stderr)
        sys.exit(2)
    from resources.secrets import STRICT_ENVIRONMENTS

    env_name = os.environ.get("PROJECTX_ENV", "local").strip().lower()
    if env_name in STRICT_ENVIRONMENTS:  # this command reads its credentials from the environment only
        sys.exit(f"python -m pipelines.{vendor.lower()} reads its credentials from environment variables (local "
                 f"use), but PROJECTX_ENV={env_name} reads secrets only from Vault: run the {vendor} sync from "
                 f"Dagster (it reads integrations/{env_name}/{vendor.lower()}), or unset PROJECTX_ENV for a local run")


def run_cli(vendor: str, url: str | None, run: Callable[[], object], auth_hint: str | None = None) -> None:
    """Run a source's command line; on failure print one sentence and exit 1 (``--debug``: re-raise)."""
    check_arguments(vendor)
    try:
        run()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        if debug_requested([]):
            print_traceback(exc)
            sys.exit(1)
        print(failure_message(vendor, url, exc, secret_values(), auth_hint), file=sys.stderr, flush=True)
        sys.exit(1)
