"""Round 32: ServiceNow clients (pysnc unchanged, plain requests) against the sandbox: an id in a REST path
that is not 32 hex digits.

The instance matches a resource's path template segment by segment, so `GET /api/now/attachment/nope` is
the Attachment API's own 404, like the Table API's `GET /api/now/table/incident/nope` (which the sandbox
already answered so). The sandbox's Attachment, CMDB Instance, Import Set and Change routes took only hex
ids and answered such a path 400 "Requested URI does not represent any resource": pysnc's
``Attachment.get(id)`` then raised RequestException instead of returning False.

Also documented Change Management endpoints that were not served (400): one standard change template
(GET /change/standard/template/{sys_id}), the change models (GET /change/model[/{sys_id}]) and a change
created from a model (POST /change).
"""

from __future__ import annotations

import pysnc
import pytest
import requests
from pysnc.exceptions import NotFoundException

from tests.sandbox.servicenow.helpers import AUTH, client_fixtures

ODD_IDS = ("nope", "z" * 32, "ABC-def", "%C3%A4%C3%A4", "a" * 31, "a" * 33)


sb, _trust_the_sandbox, _ = client_fixtures()


def _session(sb) -> requests.Session:
    s = requests.Session()
    s.auth, s.verify, s.headers["Accept"] = AUTH, sb.ca_bundle, "application/json"
    return s


def _paths(sb) -> list[tuple[str, str]]:
    change = sb.records("change_request")[0]["sys_id"]
    return [("GET", "/api/now/attachment/{id}"), ("GET", "/api/now/attachment/{id}/file"),
            ("DELETE", "/api/now/attachment/{id}"), ("GET", "/api/now/attachment/{id}/attributes"),
            ("GET", "/api/now/cmdb/instance/cmdb_ci_server/{id}"), ("GET", "/api/now/import/u_imp_incident/{id}"),
            ("GET", "/api/sn_chg_rest/change/{id}"), ("PATCH", "/api/sn_chg_rest/change/{id}"),
            ("GET", "/api/sn_chg_rest/change/{id}/task"), ("GET", "/api/sn_chg_rest/change/{id}/nextstates"),
            ("GET", f"/api/sn_chg_rest/change/{change}/task/{{id}}"), ("GET", "/api/now/table/incident/{id}")]


def test_an_id_that_is_not_hex_is_each_apis_404_as_an_unknown_hex_id_is(sb):
    s = _session(sb)
    for method, template in _paths(sb):
        unknown = s.request(method, sb.url + template.format(id="0" * 32), json={} if method == "PATCH" else None)
        assert unknown.status_code == 404, (template, unknown.text)
        for odd in ODD_IDS:
            got = s.request(method, sb.url + template.format(id=odd), json={} if method == "PATCH" else None)
            assert (got.status_code, got.json()) == (404, unknown.json()), (method, template, odd, got.text)
            assert got.headers["Content-Type"].startswith("application/json")


def test_an_odd_id_without_credentials_is_401_not_404(sb):
    for method, template in _paths(sb):
        got = requests.request(method, sb.url + template.format(id="nope"), verify=sb.ca_bundle,
                               headers={"Accept": "application/json"})
        assert got.status_code == 401, (method, template, got.status_code)
        assert got.json()["error"]["message"] == "User Not Authenticated"


def test_the_hex_routes_still_serve_real_records_and_literal_segments(sb):
    s = _session(sb)
    ci = next(r for r in sb.records("cmdb_ci") if r["sys_class_name"] == "cmdb_ci_server")
    got = s.get(f"{sb.url}/api/now/cmdb/instance/cmdb_ci_server/{ci['sys_id']}")
    assert got.status_code == 200 and got.json()["result"]["attributes"]["name"] == ci["name"]
    templates = s.get(sb.url + "/api/sn_chg_rest/change/standard/template")  # a literal, not an id
    assert templates.status_code == 200 and templates.json()["result"]
    listed = s.get(sb.url + "/api/sn_chg_rest/change/normal", params={"sysparm_limit": "1"})
    assert listed.status_code == 200 and len(listed.json()["result"]) == 1
    assert s.post(sb.url + "/api/now/attachment/file").status_code == 400  # the upload, without its parameters


def test_pysnc_attachment_get_of_an_odd_id_is_false_and_its_file_not_found(sb):
    client = pysnc.ServiceNowClient(sb.url, AUTH, verify=sb.ca_bundle)
    for odd in ("nope", "z" * 32, "0" * 32):
        assert client.Attachment("incident").get(odd) is False, odd
        with pytest.raises(NotFoundException):
            client.attachment_api.get_file(odd, stream=False)
        gr = client.GlideRecord("incident")
        assert gr.get(odd) is False
    record = sb.records("incident")[0]["sys_id"]
    gr = client.GlideRecord("incident")
    assert gr.get(record)
    location = gr.add_attachment("r32.txt", b"round 32")
    attachment = client.Attachment("incident")
    assert attachment.get(location.rsplit("/", 1)[1]) and attachment.read() == b"round 32"


def test_one_standard_change_template_by_its_sys_id(sb):
    s = _session(sb)
    listed = s.get(sb.url + "/api/sn_chg_rest/change/standard/template").json()["result"]
    first = listed[0]["sys_id"]["value"]
    got = s.get(f"{sb.url}/api/sn_chg_rest/change/standard/template/{first}")
    assert got.status_code == 200, got.text
    one = got.json()["result"]
    assert {k: one[k] for k in listed[0]} == listed[0]
    assert all(set(v) == {"value", "display_value"} for v in one.values())
    for unknown in ("0" * 32, "nope"):
        missing = s.get(f"{sb.url}/api/sn_chg_rest/change/standard/template/{unknown}")
        assert missing.status_code == 404 and missing.json()["error"]["message"] == "No Record found"
    created = s.post(f"{sb.url}/api/sn_chg_rest/change/standard/{first}", json={})
    assert created.status_code == 200 and created.json()["result"]["type"]["value"] == "standard"


def test_change_models_list_one_and_a_change_created_from_a_model(sb):
    s = _session(sb)
    listed = s.get(sb.url + "/api/sn_chg_rest/change/model")
    assert listed.status_code == 200 and int(listed.headers["X-Total-Count"]) == len(listed.json()["result"]) >= 3
    models = {m["name"]["value"]: m for m in listed.json()["result"]}
    assert {"Normal", "Emergency", "Standard"} <= set(models)
    emergency = models["Emergency"]
    assert emergency["sys_class_name"] == {"value": "chg_model", "display_value": "Change Model"}
    assert emergency["record_preset"]["value"] == "type=emergency^EQ"
    assert emergency["table_name"]["value"] == "change_request"
    model_id = emergency["sys_id"]["value"]
    one = s.get(f"{sb.url}/api/sn_chg_rest/v1/change/model/{model_id}")
    assert one.status_code == 200 and one.json()["result"] == emergency
    assert s.get(f"{sb.url}/api/sn_chg_rest/change/model/{'0' * 32}").status_code == 404
    filtered = s.get(sb.url + "/api/sn_chg_rest/change/model", params={"name": "Emergency"}).json()["result"]
    assert [m["sys_id"]["value"] for m in filtered] == [model_id]
    created = s.post(sb.url + "/api/sn_chg_rest/change", json={"chg_model": model_id, "short_description": "r32 model"})
    assert created.status_code == 200, created.text
    change = created.json()["result"]
    assert change["type"]["value"] == "emergency" and change["short_description"]["value"] == "r32 model"
    assert sb.get("change_request", change["sys_id"]["value"])["type"] == "emergency"
    assert s.post(sb.url + "/api/sn_chg_rest/change", json={"chg_model": "nope"}).status_code == 400
    assert requests.post(sb.url + "/api/sn_chg_rest/change", json={}, verify=sb.ca_bundle).status_code == 401
