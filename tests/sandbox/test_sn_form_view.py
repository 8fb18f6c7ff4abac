"""ServiceNow sandbox: the record form a deep link opens (`/<table>.do?sys_id=`)."""

import urllib.error
import urllib.request

import pytest


def test_form_view_opens_a_record_and_404s_otherwise(servicenow_sandbox):
    incident = servicenow_sandbox.records("incident")[0]
    with urllib.request.urlopen(f"{servicenow_sandbox.url}/incident.do?sys_id={incident['sys_id']}") as page:
        assert page.status == 200 and incident["number"].encode() in page.read()
    for bad in ("incident.do?sys_id=nope", "incident.do", "no_such_table.do?sys_id=" + incident["sys_id"],
                "incident.do?sys_id=%3Cscript%3E"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{servicenow_sandbox.url}/{bad}")
        assert err.value.code == 404
