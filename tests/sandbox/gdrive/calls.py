"""Helpers for the Drive emulator's client tests: a refused call's status and first error item, and raw
HTTP calls (``requests``) for whole error envelopes."""

from __future__ import annotations

import pytest
import requests
from googleapiclient.errors import HttpError


def refused(call) -> tuple[int, dict]:
    with pytest.raises(HttpError) as err:
        call.execute()
    return err.value.resp.status, err.value.error_details[0]


def raw(gdrive, method: str, path: str, headers: dict[str, str] | None = None, **kwargs) -> requests.Response:
    """``method path`` on the emulator as the service account (with ``headers`` besides), outside
    googleapiclient."""
    token = gdrive.sandbox.tokens.issue(gdrive.client_email, gdrive.client_email, "")["access_token"]
    return requests.request(method, gdrive.sandbox.url + path, headers={"Authorization": f"Bearer {token}",
                                                                        **(headers or {})},
                            verify=gdrive.sandbox.ca_bundle, timeout=10, **kwargs)
