"""Round 23 review of the ServiceNow sandbox: a sys_user row's ``active`` / ``locked_out`` written through the Table
API as "0" / "False" / "FALSE" or "1" / "TRUE" bars (or frees) the login as the booleans do (only the exact
strings "true" / "false" did, so a PATCH of active "0" left the account signing in)."""

from __future__ import annotations

import pytest
import requests

SIZE = 20
JSON = {"Accept": "application/json"}


def _status(sb, creds) -> int:
    return requests.get(f"{sb.url}/api/now/table/incident", params={"sysparm_limit": "1"}, verify=sb.ca_bundle,
                        headers={"Accept": "application/json"}, auth=creds, timeout=10).status_code


@pytest.mark.parametrize(("field", "barring", "freeing"), [
    ("active", ["0", "False", "FALSE", " false ", False], ["1", "True", "TRUE", True]),
    ("locked_out", ["1", "TRUE", "True", True], ["0", "FALSE", "False", False]),
])
def test_boolean_spellings_written_by_patch_bar_and_free_the_login(env, field, barring, freeing):
    sb, _, session = env
    name = f"r23.review.{field}"
    user = sb.add_user(name, "Secret-12", roles=("itil",))
    creds = (name, "Secret-12")
    url = f"{sb.url}/api/now/table/sys_user/{user['sys_id']}"
    admin = (sb.credentials.username, sb.credentials.password)
    assert _status(sb, creds) == 200
    for bar, free in zip(barring, freeing * 2, strict=False):
        assert session.patch(url, json={field: bar}, auth=admin, headers=JSON, timeout=10).status_code == 200
        assert _status(sb, creds) == 401, (field, bar)
        assert session.patch(url, json={field: free}, auth=admin, headers=JSON, timeout=10).status_code == 200
        assert _status(sb, creds) == 200, (field, free)
