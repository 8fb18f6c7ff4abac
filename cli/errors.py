"""How ``python -m cli`` ends when a command fails: one sentence on stderr naming the fix, not a traceback.

Exit status 1 (argparse's own usage errors stay 2). ``PROJECTX_DEBUG=1`` brings the traceback back.
Values of secret variables never appear in the sentence (``pipelines.common.entrypoint.redact``).
"""

from __future__ import annotations

import argparse
import sqlite3

from pipelines.common.entrypoint import DEBUG_ENV, damaged_duckdb, redact, secret_values, storage_hint


def count(minimum: int):
    """An argparse type: an integer of at least ``minimum``, refused with a usage error otherwise."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value
    return parse


def _hint(command: str, exc: BaseException) -> str:
    """What to check, for the failures an operator meets: a damaged inbox, a wrong path, Vault down."""
    name = type(exc).__name__
    if isinstance(exc, sqlite3.DatabaseError):
        return ("check PROJECTX_WEBHOOK_INBOX: it must name the receiver's SQLite inbox (restore a damaged file "
                "from a backup; a new path starts an empty inbox)")
    if damaged_duckdb(exc):
        return storage_hint(exc)
    if isinstance(exc, OSError) and getattr(exc, "filename", None):
        return "check that the path exists and this user may write there (PROJECTX_DATA_DIR, PROJECTX_WEBHOOK_INBOX)"
    if command == "vault" or "hvac" in type(exc).__module__:
        if name in ("Forbidden", "Unauthorized"):
            return "VAULT_TOKEN was refused: use an operator token allowed to write policies and AppRoles"
        if name in ("MissingSchema", "InvalidSchema", "InvalidURL"):
            return "VAULT_ADDR must be a full URL such as https://vault.example:8200"
        if name == "InvalidHeader":  # requests refused to send a header: the token's, with a pasted line break
            return ("VAULT_TOKEN holds a line break, a space or another character no header carries: set it again "
                    "as one line")
        if name == "VaultDown":
            return "Vault is sealed: unseal it (bao operator unseal) and run this again"
        return "check that Vault is running and unsealed at VAULT_ADDR"
    if "VAULT_ADDR" in str(exc):  # ours (resources.secrets): the sentence already names the fix
        return ""
    if "requests" in type(exc).__module__ or isinstance(exc, ConnectionError):
        return "check that the service at the configured address is running"
    if "DAGSTER_HOME" in str(exc) or name.startswith("Dagster"):
        return "check DAGSTER_HOME (an existing directory) and the storage its dagster.yaml names"
    return ""  # a ValueError of our settings names its variable and the values it takes


def failure_line(command: str, exc: BaseException) -> str:
    detail = " ".join(str(exc).split()) or type(exc).__name__
    if len(detail) > 400:
        detail = detail[:399] + "…"
    hint = _hint(command, exc)
    return redact(f"python -m cli {command} failed: {detail.rstrip('.')} ({type(exc).__name__})"
                  f"{'; ' + hint if hint else ''}. Set {DEBUG_ENV}=1 to see the traceback.", secret_values())
