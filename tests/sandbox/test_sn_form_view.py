"""ServiceNow sandbox: the record form a deep link opens (`/<table>.do?sys_id=`), for a signed-in user
(one that is not is sent to /login.do: `servicenow/test_round9_access_ui.py`)."""

import requests


def test_form_view_opens_a_record_and_404s_otherwise(servicenow_sandbox):
    sb = servicenow_sandbox
    auth = (sb.credentials.username, sb.credentials.password)
    incident = sb.records("incident")[0]
    page = requests.get(f"{sb.url}/incident.do?sys_id={incident['sys_id']}", auth=auth, timeout=10)
    assert page.status_code == 200 and incident["number"] in page.text
    for bad in ("incident.do?sys_id=nope", "incident.do", "no_such_table.do?sys_id=" + incident["sys_id"],
                "incident.do?sys_id=%3Cscript%3E"):
        assert requests.get(f"{sb.url}/{bad}", auth=auth, timeout=10).status_code == 404
