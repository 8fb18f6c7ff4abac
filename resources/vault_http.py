"""The HTTP session every Vault client of :func:`resources.vault_auth.new_client` uses: no redirect off
``VAULT_ADDR``, a whole request (status line, headers, body) bounded by ``VAULT_TIMEOUT_SECONDS``, and an
HTML page answered as 200 named. Errors name the settings, never the address or the token."""

from __future__ import annotations

import threading
import time


class VaultAnswerError(ConnectionError):
    """Vault's address answered in a way no Vault does: a redirect to another address, an HTML page, or a
    body trickled past ``VAULT_TIMEOUT_SECONDS``. Its text names the settings, never the address or token."""


def _origin(url: str) -> tuple[str, str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or {"http": 80, "https": 443}.get(scheme)
    except ValueError:
        port = -1
    return scheme, (parts.hostname or "").lower(), port


def vault_session(timeout: float):
    """A requests session for Vault that (1) follows a redirect only within VAULT_ADDR's own scheme, host and
    port: requests strips ``Authorization`` on a cross-host redirect, not ``X-Vault-Token``, and a 307 re-sends
    the AppRole login's body (its secret id), so a redirect to another host handed both to it; (2) bounds the
    whole request, body included, by twice ``timeout`` (connecting, then answering): requests' own timeout
    bounds each socket read, and a Vault or proxy trickling its answer kept a run waiting without end;
    (3) refuses an HTML page answered as 200 (a proxy's sign-in page), which hvac hands back as a response
    object the callers cannot read."""
    import requests

    class VaultSession(requests.Session):
        def get_redirect_target(self, resp):
            target = super().get_redirect_target(resp)
            if target is not None:
                from urllib.parse import urljoin

                if _origin(urljoin(resp.url, target)) != _origin(resp.url):
                    resp.close()
                    raise VaultAnswerError(
                        f"Vault at VAULT_ADDR answered {resp.status_code} redirecting to another address, which "
                        "was not followed (the token or login would go with it): set VAULT_ADDR to the active "
                        "node or to the load balancer in front of the cluster")
            return target

        def request(self, method, url, *args, **kwargs):
            # in a worker thread, so a Vault trickling its status line and headers (each socket read short)
            # cannot hold the caller either; such a worker is left behind and ends with the connection
            deadline = time.monotonic() + 2 * timeout
            box: dict = {}

            def work():
                try:
                    box["resp"] = self._read(deadline, method, url, *args, **kwargs)
                except BaseException as exc:  # handed to the caller
                    box["exc"] = exc

            worker = threading.Thread(target=work, name="vault-request", daemon=True)
            worker.start()
            worker.join(2 * timeout + 0.25)
            if worker.is_alive():
                raise _too_slow()
            if "exc" in box:
                raise box["exc"]
            return box["resp"]

        def _read(self, deadline, method, url, *args, **kwargs):
            kwargs["stream"] = True
            resp = super().request(method, url, *args, **kwargs)
            chunks = []
            try:
                while chunk := resp.raw.read1(65536, decode_content=True):  # what has arrived, not 64 KiB
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        raise _too_slow()
            finally:
                resp.close()
            resp._content, resp._content_consumed = b"".join(chunks), True
            kind = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if resp.status_code == 200 and (kind in ("text/html", "application/xhtml+xml")
                                            or resp._content.lstrip()[:1] == b"<"):
                raise VaultAnswerError(
                    "Vault at VAULT_ADDR answered 200 with an HTML page, not Vault's JSON: VAULT_ADDR points at "
                    "something else (a proxy's sign-in page, a captive portal): set it to Vault's API address")
            return resp

    def _too_slow() -> VaultAnswerError:
        return VaultAnswerError(
            f"Vault at VAULT_ADDR took longer than twice VAULT_TIMEOUT_SECONDS={timeout:g} to answer (it kept sending, "
            "slowly): check the Vault or the proxy in front of it, or raise VAULT_TIMEOUT_SECONDS")

    session = VaultSession()
    session.verify = None  # hvac keeps a given session's verify=True over VAULT_CACERT; None leaves it hvac's
    return session
