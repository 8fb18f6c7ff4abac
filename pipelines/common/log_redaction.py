"""Credentials out of the vendor libraries' DEBUG log lines.

At DEBUG botocore logs each request's headers (``X-Amz-Security-Token``, the session token), the string
it signs, and each response body: STS's AssumeRole answer carries the role's ``SecretAccessKey`` and
``SessionToken``. urllib3 logs every URL with its query (a presigned URL's ``X-Amz-Signature`` and
token), googleapiclient the URLs it requests. Anyone who turns DEBUG on (Dagster's ``python_logs``,
``python -m webhooks --log-level debug``, a test's ``caplog``) would have them in the log. A filter on
those loggers masks the AWS credential fields, URL query parameters that carry a credential, and the
values :func:`pipelines.common.entrypoint.secret_values` knows (secret variables, values read from Vault).
"""

from __future__ import annotations

import logging
import re

# A logger's filter sees only the records of that very logger, not of its children: the leaf loggers the
# libraries log through (``getLogger(__name__)``), not their packages.
LOGGERS = ("botocore.endpoint", "botocore.parsers", "botocore.auth", "botocore.hooks", "botocore.retryhandler",
           "botocore.awsrequest", "botocore.httpsession", "botocore.credentials", "urllib3.connectionpool",
           "urllib3.util.retry", "urllib3.connection", "s3transfer.tasks", "s3transfer.futures",
           "s3transfer.upload", "s3transfer.download", "s3transfer.utils", "googleapiclient.discovery",
           "googleapiclient.http", "google.auth.transport.requests", "msal.application", "msal.token_cache",
           "msal.authority", "msal.oauth2cli.oauth2", "msal.oauth2cli.oidc", "hvac.adapters", "hvac.api.vault_api_base",
           "hvac.v1")

_FIELD = r"SecretAccessKey|SessionToken|SecurityToken|secret_?access_?key|session_?token|access_?token|client_?secret"
_PATTERNS = (
    # <SessionToken>...</SessionToken> (STS's XML answer)
    (re.compile(rf"(<({_FIELD})>)[^<]*(</\2>)", re.IGNORECASE), r"\1***\3"),
    # "SessionToken": "..." / 'x-amz-security-token': b'...' (JSON, a headers dict's repr)
    (re.compile(rf"""((?:{_FIELD}|x-amz-security-token|authorization)['"]?\s*:\s*b?['"])[^'"]*(['"])""",
                re.IGNORECASE), r"\1***\2"),
    # x-amz-security-token:... (the canonical request botocore.auth logs, one header a line)
    (re.compile(r"^(x-amz-security-token:).*$", re.IGNORECASE | re.MULTILINE), r"\1***"),
    # ?X-Amz-Security-Token=...&X-Amz-Signature=... (a presigned URL), access_token=, key= (a URL's query)
    (re.compile(r"([?&](?:X-Amz-Security-Token|X-Amz-Signature|Signature|access_token|token|key|sig|"
                r"client_secret|code)=)[^&\s'\"]+", re.IGNORECASE), r"\1***"),
)


def mask_log_text(text: str) -> str:
    from pipelines.common.entrypoint import redact, secret_values

    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return redact(text, secret_values())


class RedactSecrets(logging.Filter):
    """Rewrites a record's message with :func:`mask_log_text`. A logger hands a record to its filters only
    at a level it logs, so at INFO this costs nothing for the libraries' DEBUG chatter."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
            masked = mask_log_text(text)
        except Exception:  # never raise inside logging (it would fail the library's own call)
            return True
        if masked != text:
            record.msg, record.args = masked, None
        return True


_FILTER = RedactSecrets()


def install() -> None:
    """Put the filter on the vendor libraries' loggers (once; a logger's filter sees its own records)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
