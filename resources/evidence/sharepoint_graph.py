"""Microsoft Graph for the SharePoint evidence store: the client, signed in with a certificate, and the
mapping of Graph and Entra ID failures to the store errors of ``base``.

Client choice: ``msgraph-sdk`` (kiota, httpx) with ``azure-identity``'s ``CertificateCredential``.
Both take their endpoints as settings (the credential an ``authority`` host, the request adapter a
``base_url``), so the same code talks to Microsoft and to the sandbox's Graph and Entra ID emulator;
``office365-rest-python-client`` builds its Graph and login URLs from fixed Microsoft hosts and could
not be pointed anywhere else. msgraph-sdk is async only: ``GraphCalls`` runs one event loop on a
thread of its own and waits for each call, so the store stays synchronous for its callers.

Retries are ours, not kiota's (its handler is switched off): every call is tried once and retried 3
times (spec §2.6) on 429 (after ``Retry-After``), 5xx other than 507 and network errors, so an upload
fragment, which kiota never retries, is retried like everything else.
"""

from __future__ import annotations

import asyncio
import os
import re
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from resources.evidence.base import StoreError, StorePermissionError, StoreQuotaError, StoreUnavailable

T = TypeVar("T")
RETRIES = 3
MAX_WAIT_SECONDS = 30.0
MICROSOFT_LOGIN = "https://login.microsoftonline.com"
MICROSOFT_GRAPH = "https://graph.microsoft.com/v1.0"
SCOPES = ["https://graph.microsoft.com/.default"]
CONFLICT: Any = object()  # ``GraphCalls.run(conflict_ok=True)``: Graph answered 409 (nameAlreadyExists)
MODIFIED: Any = object()  # ``GraphCalls.run(modified_ok=True)``: Graph answered 412 (an If-Match no longer held)


def _cert_password() -> str:
    """The certificate's password: Vault ``integrations/<env>/evidence`` key ``sharepoint_cert_password``
    (the evidence AppRole), else ``SHAREPOINT_CERT_PASSWORD`` locally; in stg/prod only Vault's."""
    from resources.environment import current_environment
    from resources.secrets import SecretStore

    return SecretStore(current_environment().vault_prefix).vendor("evidence")["sharepoint_cert_password"] or ""


@dataclass(frozen=True)
class SharePointSettings:
    """Where and as whom: the app registration and its certificate, the site and library (drive) ids."""

    tenant_id: str
    client_id: str
    cert_path: str
    cert_password: str
    site_id: str
    library_id: str
    folder: str = "ProjectX Evidence"
    authority: str = MICROSOFT_LOGIN
    graph_url: str = MICROSOFT_GRAPH

    @classmethod
    def from_env(cls) -> SharePointSettings:
        env = os.environ.get
        return cls(env("TENANT_ID", ""), env("CLIENT_ID", ""), env("CERT_PATH", ""),
                   _cert_password(), env("SHAREPOINT_SITE_ID", ""),
                   env("SHAREPOINT_LIBRARY_ID", ""), env("SHAREPOINT_EVIDENCE_FOLDER") or "ProjectX Evidence",
                   (env("SHAREPOINT_AUTHORITY_HOST") or MICROSOFT_LOGIN).rstrip("/"),
                   (env("SHAREPOINT_GRAPH_URL") or MICROSOFT_GRAPH).rstrip("/"))

    def check(self) -> None:
        missing = [name for name, value in (("TENANT_ID", self.tenant_id), ("CLIENT_ID", self.client_id),
                                            ("CERT_PATH", self.cert_path), ("SHAREPOINT_SITE_ID", self.site_id),
                                            ("SHAREPOINT_LIBRARY_ID", self.library_id)) if not value]
        if missing:
            raise StoreError(f"the SharePoint evidence store needs {', '.join(missing)} (spec §2.6: the Azure AD "
                             "app, its certificate and the site and document library ids)")

    def who(self) -> str:
        return f"app CLIENT_ID={self.client_id} in tenant TENANT_ID={self.tenant_id}"


def graph_client(settings: SharePointSettings):
    """A ``GraphServiceClient`` signed in with the certificate at ``CERT_PATH``; its request adapter."""
    import httpx
    from azure.identity import CertificateCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph import GraphServiceClient
    from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

    settings.check()
    try:
        credential = CertificateCredential(
            settings.tenant_id, settings.client_id, settings.cert_path, password=settings.cert_password or None,
            authority=settings.authority, disable_instance_discovery=settings.authority != MICROSOFT_LOGIN)
    except (OSError, ValueError, TypeError) as exc:
        raise StoreError(f"cannot load the SharePoint certificate at CERT_PATH={settings.cert_path} "
                         f"({type(exc).__name__}): it must be a PEM file with the private key and the certificate, "
                         "or a PFX; check SHAREPOINT_CERT_PASSWORD is its password") from None
    ca = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("SSL_CERT_FILE")
    verify: Any = ssl.create_default_context(cafile=ca) if ca else True
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(verify=verify, timeout=httpx.Timeout(120, connect=10)),
        options={RetryHandlerOption.get_key(): RetryHandlerOption(delay=0, max_retries=0, should_retry=False)})
    host = httpx.URL(settings.graph_url).host
    auth = AzureIdentityAuthenticationProvider(credential, scopes=SCOPES, allowed_hosts=[host])
    adapter = BaseGraphRequestAdapter(auth, parse_node_factory=_lenient_json(), http_client=http)
    adapter.base_url = settings.graph_url
    return GraphServiceClient(request_adapter=adapter), adapter


def _lenient_json():
    """Graph's answers parsed as every vendor's JSON is (``pipelines.common.pages.loads``): a name with bytes
    that are not UTF-8 comes back with them as lone surrogates, for the caller to record escaped, instead of
    failing the whole delta page (kiota decodes strictly, so one such name stopped every later run there).
    Other content types go to kiota's registry, as before."""
    import re

    from kiota_abstractions.serialization import ParseNodeFactory, ParseNodeFactoryRegistry
    from kiota_serialization_json.json_parse_node import JsonParseNode

    from pipelines.common.pages import loads

    class LenientJson(ParseNodeFactory):
        def get_valid_content_type(self) -> str:
            return "application/json"

        def get_root_parse_node(self, content_type: str, content: bytes):
            kind = re.sub(r"[^/]+\+", "", (content_type or "").split(";")[0].strip().lower())  # vnd.x+json too
            if kind == "application/json" and content:
                return JsonParseNode(loads(content))
            return ParseNodeFactoryRegistry().get_root_parse_node(content_type, content)

    return LenientJson()


def status_of(exc: BaseException) -> tuple[int | None, str, float | None]:
    """(HTTP status, Graph error code, Retry-After seconds) of a failed call; status None: no answer."""
    from kiota_abstractions.api_error import APIError

    if not isinstance(exc, APIError):
        return None, "", None
    code = getattr(getattr(exc, "error", None), "code", None) or ""
    headers = {k.lower(): v for k, v in (exc.response_headers or {}).items()}
    retry_after = headers.get("retry-after")
    if isinstance(retry_after, list | tuple | set):
        retry_after = next(iter(retry_after), None)
    return exc.response_status_code, str(code), _seconds(retry_after)


def _seconds(retry_after: Any) -> float | None:
    """``Retry-After`` as seconds to wait: delay-seconds, or an HTTP-date (RFC 9110; the time left, 0 when past);
    None (the caller's backoff) for anything else: a negative or NaN value went to time.sleep(), whose
    ValueError escaped the store as no store error at all."""
    if retry_after is None:
        return None
    text = str(retry_after).strip()
    try:
        wait = float(text)
    except ValueError:
        from datetime import UTC, datetime
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        when = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return wait if wait >= 0 else None  # NaN fails the comparison too (inf is capped by the caller)


def store_error(exc: BaseException, action: str, settings: SharePointSettings) -> StoreError:
    """The store error for a call that failed (after the retries when it was transient)."""
    from azure.core.exceptions import ClientAuthenticationError

    library = f"library SHAREPOINT_LIBRARY_ID={settings.library_id} of site SHAREPOINT_SITE_ID={settings.site_id}"
    if isinstance(exc, ClientAuthenticationError):
        codes = ", ".join(dict.fromkeys(re.findall(r"AADSTS\d+", str(exc)))) or "no token"
        return StorePermissionError(
            f"Entra ID refused to sign in {settings.who()} ({codes}) for SharePoint {action}: check that CERT_PATH="
            f"{settings.cert_path} holds the certificate uploaded to that app registration (and "
            "SHAREPOINT_CERT_PASSWORD its password), and that CLIENT_ID and TENANT_ID are the app's",
            resource=f"app registration {settings.client_id}")
    status, code, _ = status_of(exc)
    if status == 507 or code == "quotaLimitReached":
        return StoreQuotaError(f"SharePoint {library} is over its storage quota ({action}): free space or raise "
                               "the site quota; evidence ingestion to SharePoint is paused until then")
    if status in (401, 403):
        return StorePermissionError(
            f"SharePoint refused {action} ({status} {code}): grant {settings.who()} write access to the {library} "
            "(Files.ReadWrite.All, or Sites.Selected with a write grant on the site)", resource=library)
    if status is not None and 400 <= status < 500 and status != 429:
        message = str(getattr(getattr(exc, "error", None), "message", None) or "")[:200]
        hint = {404: "check SHAREPOINT_SITE_ID and SHAREPOINT_LIBRARY_ID"}.get(status, "")
        if "not recognized" in message:
            hint = "create the library columns EvidenceSha256 (single line of text) and EvidenceMetadata (multiple "
            hint += "lines of text)"
        return StoreError(f"SharePoint refused {action} ({status} {code}: {message}) on the {library}"
                          + (f": {hint}" if hint else ""))
    if status is None:
        return StoreUnavailable(f"SharePoint {action} failed after {RETRIES} retries ({type(exc).__name__}): check "
                                "the network path and SHAREPOINT_GRAPH_URL")
    return StoreUnavailable(f"SharePoint {action} failed after {RETRIES} retries ({status} {code}): retry later")


def transient(exc: BaseException) -> bool:
    import httpx

    status, code, _ = status_of(exc)
    if status is None:
        return isinstance(exc, httpx.TransportError | OSError | asyncio.TimeoutError)
    return status == 429 or (status >= 500 and status != 507 and code != "quotaLimitReached")


class GraphCalls:
    """Runs msgraph-sdk coroutines on a private event loop thread, with the retry policy above."""

    def __init__(self, settings: SharePointSettings, backoff: float = 0.5):
        self.settings = settings
        self.backoff = backoff
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="sharepoint-graph", daemon=True)
        self.thread.start()
        self.attempts = 0

    def run(self, make: Callable[[], Awaitable[T]], action: str, missing_ok: bool = False,
            conflict_ok: bool = False, modified_ok: bool = False) -> T | None:
        """``make()`` (a fresh coroutine per attempt), retried; None for a 404 when ``missing_ok``; ``CONFLICT``
        for a 409 when ``conflict_ok`` (a write with ``conflictBehavior=fail`` found the name taken); ``MODIFIED``
        for a 412 when ``modified_ok`` (a write with ``If-Match`` found the item changed since)."""
        for attempt in range(RETRIES + 1):
            self.attempts += 1
            try:
                return asyncio.run_coroutine_threadsafe(make(), self.loop).result()
            except Exception as exc:
                status, _, wait = status_of(exc)
                if missing_ok and status == 404:
                    return None
                if conflict_ok and status == 409:
                    return CONFLICT
                if modified_ok and status == 412:
                    return MODIFIED
                if attempt == RETRIES or not transient(exc):
                    raise store_error(exc, action, self.settings) from None
                time.sleep(min(wait if wait is not None else self.backoff * 2**attempt, MAX_WAIT_SECONDS))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
