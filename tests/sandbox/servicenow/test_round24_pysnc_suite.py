"""Round 24: what PySNC's own test suite (test/test_snc_api*.py, run against a developer instance) reads
from every instance: the out-of-box admin user 6816f79cc0a8016401c5a33be04be441 and the demo data's
Finance department headed by Natasha Ingram (`sandbox.servicenow.well_known`)."""

from __future__ import annotations

import pytest
from pysnc.query import Query
from pysnc.record import GlideElement

from tests.sandbox.conftest import AUTH

SIZE = 60
ADMIN = "6816f79cc0a8016401c5a33be04be441"


def test_get_the_admin_user_as_pysnc_tests_do(env):
    _sb, client, _session = env
    gr = client.GlideRecord("sys_user")
    assert gr.get(ADMIN)
    assert (gr.user_name, gr.name, gr.email) == ("admin", "System Administrator", "admin@example.com")
    assert gr.get_link(no_stack=True).endswith(f"sys_user.do?sys_id={ADMIN}")
    gr = client.GlideRecord("sys_user")
    assert gr.get("sys_id", ADMIN) and gr.user_name == "admin"
    gr = client.GlideRecord("sys_user")
    assert not gr.get("bunk") and not gr.get("sys_id", "bunk")
    gr = client.GlideRecord("sys_user")
    q = Query()
    q.add_query("sys_id", ADMIN)
    q.add_query("second", "asdf")  # an unknown field: ignored
    gr.query(q)
    assert len(gr) == 1


def test_dotwalk_with_element_as_pysnc_tests_it(env):
    _sb, client, _session = env
    gr = client.GlideRecord("sys_user")
    gr.fields = "sys_id,active,email,department,department.name,department.dept_head,department.dept_head.email"
    assert gr.get(ADMIN)
    assert gr.department == "a581ab703710200044e0bfc8bcbe5de8" and gr.department.name == "Finance"
    assert gr.department.dept_head == "46c5bf6ca9fe1981010713e3ac7d3384"
    assert type(gr.department.dept_head) is GlideElement and not gr.department.dept_head.nil()
    assert gr.department.dept_head.email == "natasha.ingram@example.com"
    with pytest.raises(AttributeError, match="nor GlideElement"):
        gr.department.description  # noqa: B018  (not among the fields)


def test_extra_long_query_goes_through_the_batch_api_and_finds_admin(env):
    _sb, client, _session = env
    gr = client.GlideRecord("sys_user")
    for _ in range(2300):
        gr.add_query("AAAA", "BBBB")
    gr.add_query("sys_id", ADMIN)
    assert len(gr.get_encoded_query()) > 23000
    gr.query()
    assert len(gr) == 1 and gr.next() and gr.sys_id == ADMIN


def test_admin_has_the_admin_role_but_cannot_sign_in(env):
    sb, client, session = env
    gr = client.GlideRecord("sys_user_has_role")
    gr.add_query("user", ADMIN)
    gr.fields = "role.name"
    gr.query()
    assert [r.get_value("role.name") for r in gr] == ["admin"]
    assert session.get(f"{sb.url}/api/now/table/sys_user/{ADMIN}", auth=("admin", "admin")).status_code == 401
    me = session.get(f"{sb.url}/api/now/table/sys_user", auth=AUTH, params={"sysparm_query": "user_name=" + AUTH[0]})
    assert len(me.json()["result"]) == 1  # the integration user is still there, still the last seeded row
    assert sb.records("sys_user")[-1]["user_name"] == AUTH[0]
