"""Round 14 of Graph and SharePoint REST, through msgraph-sdk and office365-rest-python-client unchanged.

- ``delta`` on a folder other than the root: SharePoint refused it once ("view.delta can only be called on the
  root", OneDrive/onedrive-api-docs#214, #842) but supports it since 2021 (microsoft-graph-docs#13035 removed
  the limitation), so the emulator keeps answering it, scoped to the folder; the namespace-qualified
  ``microsoft.graph.delta()`` (and ``microsoft.graph.createLink``…) was 400 "unsupported segment".
- ``$batch`` with a ``dependsOn`` naming an unknown (or later) request: Graph refuses the whole batch with 400
  ("Invalid dependency for request Id …"); the emulator ran it and answered that step 424.
- ``createLink`` without ``scope``: the organisation's default link ("organization" here), not ``anonymous``.
- ``/me`` through msgraph-sdk with an app-only token: ODataError 400 BadRequest.
- The realm challenge ACS clients read (``HEAD {site}`` / ``GET _vti_bin/client.svc`` with an empty bearer):
  400 "Resource not found" and an empty realm before; now 401 and ``Bearer realm="<tenant id>",client_id=…``.
"""

from __future__ import annotations

import asyncio

import pytest
import requests

from tests.sandbox.sharepoint.test_client_probe import graph
from tests.sandbox.sharepoint.test_client_probe_more import _sdk
from tests.sandbox.sharepoint.test_rest_api import SP_SCOPE, _token

__all__ = ["graph"]
SHAREPOINT_APP = "00000003-0000-0ff1-ce00-000000000000"


def test_delta_on_a_folder_is_scoped_to_it_through_the_sdk(graph):
    w, s, base = graph
    folder = s.post(f"{base}/root/children", json={"name": "Scoped", "folder": {}}).json()
    s.put(f"{base}/root:/Scoped/in.txt:/content", data=b"in")
    s.put(f"{base}/root:/Elsewhere/out.txt:/content", data=b"out")

    async def run(_client, drive):
        first = await drive.items.by_drive_item_id(folder["id"]).delta.get()
        return first

    first = _sdk(w, run)
    assert sorted(i.name for i in first.value) == ["Scoped", "in.txt"]
    assert "/items/" + folder["id"] + "/delta" in first.odata_delta_link
    s.put(f"{base}/root:/Scoped/later.txt:/content", data=b"later")
    s.put(f"{base}/root:/Elsewhere/later.txt:/content", data=b"later")
    later = s.get(first.odata_delta_link).json()
    assert [i["name"] for i in later["value"]] == ["later.txt"]
    assert later["value"][0]["parentReference"]["id"] == folder["id"]


def test_namespace_qualified_functions_and_actions(graph):
    _, s, base = graph
    item = s.put(f"{base}/root:/NS/a.txt:/content", data=b"a").json()
    folder = item["parentReference"]["id"]
    r = s.get(f"{base}/items/{folder}/microsoft.graph.delta()")
    assert r.status_code == 200, r.text
    assert sorted(i["name"] for i in r.json()["value"]) == ["NS", "a.txt"]
    assert s.get(f"{base}/root/microsoft.graph.delta()").status_code == 200
    assert s.get(f"{base}/root/microsoft.graph.search(q='a')").status_code == 200
    link = s.post(f"{base}/items/{item['id']}/microsoft.graph.createLink", json={"type": "view"})
    assert link.status_code == 201 and link.json()["link"]["type"] == "view"
    assert s.get(f"{base}/items/{item['id']}/microsoft.graph.permissions").status_code == 400


def test_batch_depends_on_an_unknown_or_later_request_is_400(graph):
    w, s, _ = graph
    drive = f"/drives/{w.library_id}"
    for needs in (["nope"], ["2"], ["1", "3"]):
        r = s.post(f"{w.sandbox.graph_url}/$batch", json={"requests": [
            {"id": "1", "method": "PUT", "url": f"{drive}/root:/batched-{needs[0]}.txt:/content", "body": "YQ==",
             "headers": {"Content-Type": "text/plain"}},
            {"id": "2", "method": "GET", "url": f"{drive}/root", "dependsOn": needs},
            {"id": "3", "method": "GET", "url": f"{drive}/root"}]})
        assert r.status_code == 400, (needs, r.text)
        assert r.json()["error"]["code"] == "BadRequest"
        assert r.json()["error"]["message"].startswith("Invalid dependency for request Id 2")
        # the whole batch was refused: the first request did not run
        assert s.get(f"{w.sandbox.graph_url}{drive}/root:/batched-{needs[0]}.txt:").status_code == 404
    itself = s.post(f"{w.sandbox.graph_url}/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": f"{drive}/root", "dependsOn": ["1"]}]})
    assert itself.status_code == 400
    ok = s.post(f"{w.sandbox.graph_url}/$batch", json={"requests": [
        {"id": "4", "method": "GET", "url": f"{drive}/root"},
        {"id": "3", "method": "GET", "url": f"{drive}/root", "dependsOn": ["4"]}]})
    assert ok.status_code == 200 and [x["status"] for x in ok.json()["responses"]] == [200, 200]


def test_create_link_without_scope_makes_the_organisation_default(graph):
    from msgraph.generated.drives.item.items.item.create_link.create_link_post_request_body import (
        CreateLinkPostRequestBody,
    )

    w, s, base = graph
    item = s.put(f"{base}/root:/Share/default.txt:/content", data=b"d").json()

    async def run(_client, drive):
        target = drive.items.by_drive_item_id(item["id"])
        return await target.create_link.post(CreateLinkPostRequestBody(type="view"))

    link = _sdk(w, run)
    assert link.link.scope == "organization" and link.roles == ["read"]
    again = s.post(f"{base}/items/{item['id']}/createLink", json={"type": "view", "scope": "organization"})
    assert again.status_code == 200 and again.json()["id"] == link.id  # the same link, as Graph answers it
    w.sandbox.default_link_scope = "anonymous"  # a tenant whose default is "Anyone with the link"
    try:
        other = s.post(f"{base}/items/{item['id']}/createLink", json={"type": "edit"}).json()
    finally:
        del w.sandbox.default_link_scope
    assert other["link"]["scope"] == "anonymous"


def test_me_through_the_sdk_with_an_app_token(graph):
    """With msgraph's own middleware options (its UrlReplaceHandler turns ``/users/me-token-to-replace`` into
    ``/me``, as ``GraphServiceClient(credentials)`` sets it up); the shared ``_client`` helper leaves them out."""
    import ssl

    import httpx
    from azure.identity import ClientSecretCredential
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph import GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.graph_request_adapter import options
    from msgraph_core import BaseGraphRequestAdapter, GraphClientFactory

    w = graph[0]

    async def run():
        credential = ClientSecretCredential(w.tenant_id, w.client_id, w.client_secret, authority=w.sandbox.url,
                                            disable_instance_discovery=True)
        auth = AzureIdentityAuthenticationProvider(credential, scopes=["https://graph.microsoft.com/.default"],
                                                   allowed_hosts=[httpx.URL(w.sandbox.graph_url).host])
        http = GraphClientFactory.create_with_default_middleware(options=options, client=httpx.AsyncClient(
            verify=ssl.create_default_context(cafile=w.sandbox.ca_bundle)))
        adapter = BaseGraphRequestAdapter(auth, http_client=http)
        adapter.base_url = w.sandbox.graph_url
        client, out = GraphServiceClient(request_adapter=adapter), []
        with credential:
            for call in (client.me.get, client.me.drive.get):
                try:
                    await call()
                except ODataError as exc:
                    out.append((exc.response_status_code, exc.error.code, exc.error.message))
        return out

    expected = (400, "BadRequest", "/me request is only valid with delegated authentication flow.")
    assert asyncio.run(run()) == [expected, expected]


@pytest.mark.parametrize("path", ["/sites/GRC", "/sites/GRC/", "/_vti_bin/client.svc", "/sites/GRC/_vti_bin/client.svc",
                                  "/"])
def test_realm_challenge_with_an_empty_bearer(sharepoint, path):
    for headers in ({"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {}):
        for method in ("GET", "HEAD"):
            r = requests.request(method, sharepoint.sandbox.url + path, headers=headers, timeout=10)
            assert r.status_code == 401, (path, method, headers, r.text)
            challenge = r.headers["WWW-Authenticate"]
            assert challenge.startswith(f'Bearer realm="{sharepoint.tenant_id}",client_id="{SHAREPOINT_APP}"')


def test_acs_provider_reads_the_realm_and_rest_401s_name_it(sharepoint):
    from office365.runtime.auth.client_credential import ClientCredential
    from office365.runtime.auth.providers.acs_token_provider import ACSTokenProvider

    w = sharepoint
    site = f"{w.sandbox.url}/sites/GRC"
    provider = ACSTokenProvider(site, ClientCredential(w.client_id, w.client_secret))
    # the first step of acquire_token_for_app / with_client_credentials (the second goes to a host it hard-codes)
    assert provider._get_realm_from_target_url() == w.tenant_id
    r = requests.get(f"{site}/_api/web", timeout=10)
    assert r.status_code == 401 and f'realm="{w.tenant_id}"' in r.headers["WWW-Authenticate"]


def test_site_url_and_client_svc_with_a_valid_token(sharepoint):
    w = sharepoint
    headers = {"Authorization": "Bearer " + _token(w, SP_SCOPE)}
    page = requests.get(f"{w.sandbox.url}/sites/GRC", headers=headers, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    svc = requests.post(f"{w.sandbox.url}/sites/GRC/_vti_bin/client.svc/ProcessQuery", headers=headers, timeout=10)
    assert svc.status_code == 400  # CSOM is not emulated
    unknown = requests.get(f"{w.sandbox.url}/sites/Nowhere", headers=headers, timeout=10)
    assert unknown.status_code == 404
