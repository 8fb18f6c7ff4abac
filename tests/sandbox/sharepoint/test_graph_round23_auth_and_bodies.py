"""Probe round 23 of Graph tokens and bodies:

- a token issued for SharePoint (``https://contoso.sharepoint.com/.default``, as ``ClientContext`` asks for) was
  taken by Graph; Graph answers 401 InvalidAuthenticationToken "… Invalid audience." (msgraph-sdk: ODataError).
- a body that is not JSON was 500 generalException (the emulator's own JSONDecodeError); Graph answers 400
  BadRequest "Unable to read JSON request payload …"."""

from __future__ import annotations

import asyncio

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _token

__all__ = ["graph"]


def test_a_sharepoint_token_is_not_a_graph_token(graph):
    w, s, base = graph
    sp = {"Authorization": "Bearer " + _token(w, SP_SCOPE)}
    for url in (base, f"{base}/root/children", f"{w.sandbox.graph_url}/sites/{w.site_id}"):
        r = requests.get(url, headers=sp, timeout=10)
        assert r.status_code == 401, url
        assert r.json()["error"]["code"] == "InvalidAuthenticationToken"
        assert "Invalid audience" in r.json()["error"]["message"]
    assert s.get(base).status_code == 200  # the Graph token still works
    # and SharePoint REST still takes its own token (and refuses the Graph one, as before)
    assert requests.get(f"{w.site_url}/_api/web", headers={**sp, "Accept": "application/json"},
                        timeout=10).status_code == 200
    assert requests.get(f"{w.site_url}/_api/web", headers={"Authorization": s.headers["Authorization"]},
                        timeout=10).status_code == 401


def test_msgraph_with_a_sharepoint_scope_gets_invalid_audience(graph):
    import ssl

    import httpx
    from azure.identity import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

    w, _, _ = graph

    async def run():
        credential = ClientSecretCredential(w.tenant_id, w.client_id, w.client_secret, authority=w.sandbox.url,
                                            disable_instance_discovery=True)
        auth = AzureIdentityAuthenticationProvider(credential, scopes=[SP_SCOPE],
                                                   allowed_hosts=[httpx.URL(w.sandbox.graph_url).host])
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=ssl.create_default_context(cafile=w.sandbox.ca_bundle)))
        adapter = BaseGraphRequestAdapter(auth, http_client=http)
        adapter.base_url = w.sandbox.graph_url
        with credential, pytest.raises(ODataError) as info:
            await GraphServiceClient(request_adapter=adapter).drives.by_drive_id(w.library_id).get()
        return info.value

    error = asyncio.run(run())
    assert error.response_status_code == 401 and error.error.code == "InvalidAuthenticationToken"


def test_a_body_that_is_not_json_is_400(graph):
    _, s, base = graph
    for method, url in (("POST", f"{base}/root/children"), ("PATCH", f"{base}/root:/x.txt"),
                        ("POST", f"{base}/root:/big.bin:/createUploadSession")):
        if method == "PATCH":
            assert s.put(f"{base}/root:/x.txt:/content", data=b"x").status_code in (200, 201)
        r = s.request(method, url, data="{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (method, url, r.text)
        assert r.json()["error"]["code"] == "BadRequest"
        assert r.json()["error"]["message"].startswith("Unable to read JSON request payload")
