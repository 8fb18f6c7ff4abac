"""End to end with a real clamd: the EICAR file arriving as a ServiceNow attachment and as a Jira
attachment is quarantined (a security alert, no store object) and appears in no mart; a clean PDF
attached to a change request is stored, and linked to its control with its page count and
classification."""

from __future__ import annotations

import duckdb
import pytest
import requests

from pipelines.evidence_stores import evidence_stores_source
from pipelines.jira import jira_source
from pipelines.servicenow import servicenow_source
from tests.dbt_helpers import dbt
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf

PDF = make_pdf(["Change approval: the change advisory board approved this change", "Implementation", "Backout"])


def _rows(settings, sql):
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _sn_upload(sb, table: str, file_name: str, data: bytes, ctype: str) -> str:
    creds, verify = sb.credentials, sb.ca_bundle or True
    auth = (creds["username"], creds["password"])
    record = requests.get(f"{sb.url}/api/now/table/{table}", params={"sysparm_limit": 1}, auth=auth,
                          verify=verify, timeout=30).json()["result"][0]
    r = requests.post(f"{sb.url}/api/now/attachment/file", auth=auth, verify=verify, timeout=30, data=data,
                      params={"table_name": table, "table_sys_id": record["sys_id"], "file_name": file_name},
                      headers={"Content-Type": ctype})
    r.raise_for_status()
    return r.json()["result"]["sys_id"]


def _jira_upload(sb, file_name: str, data: bytes) -> str:
    issue = next(i for i in sb.issues(fields=["labels"])
                 if any(label.startswith("control:") for label in i["fields"]["labels"]))
    r = requests.post(f"{sb.url}/rest/api/3/issue/{issue['key']}/attachments", timeout=30,
                      headers={"Authorization": f"Bearer {sb.credentials['pat']}", "X-Atlassian-Token": "no-check"},
                      files={"file": (file_name, data, "application/pdf")})
    r.raise_for_status()
    return r.json()[0]["id"]


@pytest.mark.slow
def test_eicar_is_quarantined_and_a_clean_pdf_is_linked(make_servicenow_sandbox, make_jira_sandbox,
                                                         duckdb_warehouse, clamd, monkeypatch, tmp_path):
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    monkeypatch.setenv("PROJECTX_EVIDENCE_STORE", "local")
    sn, jira = make_servicenow_sandbox(size=60), make_jira_sandbox(size=40)
    sn_eicar = _sn_upload(sn, "incident", "quarterly-report.pdf", EICAR, "application/pdf")
    sn_pdf = _sn_upload(sn, "change_request", "chg-approval.pdf", PDF, "application/pdf")
    jira_eicar = _jira_upload(jira, "evidence.pdf", EICAR)

    creds = sn.credentials
    duckdb_warehouse.pipeline("servicenow").run(servicenow_source(
        base_url=sn.url, client_id=creds["client_id"], client_secret=creds["client_secret"],
        username=creds["username"], password=creds["password"], verify=sn.ca_bundle or True),
        loader_file_format="parquet")
    duckdb_warehouse.pipeline("jira").run(jira_source(base_url=jira.url, auth_mode="pat",
                                                      pat=jira.credentials["pat"]), loader_file_format="parquet")
    duckdb_warehouse.pipeline("evidence_stores").run(evidence_stores_source())

    status = dict(_rows(duckdb_warehouse, "select sys_id, content_status from servicenow.attachments "
                                          f"where sys_id in ('{sn_eicar}', '{sn_pdf}')"))
    assert status == {sn_eicar: "quarantined", sn_pdf: "stored"}
    assert _rows(duckdb_warehouse, f"select content_status, storage_uri from jira.attachments where id = '{jira_eicar}'"
                 ) == [("quarantined", None)]
    alerts = _rows(duckdb_warehouse, "select kind, source from evidence_stores.library_alerts order by source")
    assert alerts == [("security_alert", "jira"), ("security_alert", "servicenow")]

    result = dbt(duckdb_warehouse, tmp_path / "target", "build", "--select", "+evidence_links", "+evidence_files",
                 "control_catalog", "--indirect-selection", "cautious")
    assert result.returncode == 0, result.stdout[-4000:]

    eicar_ids = (f"servicenow-attachment-{sn_eicar}", f"jira-attachment-{jira_eicar}")
    for table in ("evidence", "evidence_links"):
        assert _rows(duckdb_warehouse, f"select count(*) from marts.{table} where evidence_id in {eicar_ids}") == [(0,)]
    eicar_sha = _rows(duckdb_warehouse, f"select sha256 from servicenow.attachments where sys_id = '{sn_eicar}'")[0][0]
    assert _rows(duckdb_warehouse, f"select count(*) from marts.evidence_files where sha256 = '{eicar_sha}'") == [(0,)]
    assert _rows(duckdb_warehouse, f"select count(*) from marts.evidence where sha256 = '{eicar_sha}'") == [(0,)]

    linked = _rows(duckdb_warehouse, f"""
        select l.control_id, l.matched_by, f.page_count, f.evidence_class, f.mime_type, e.storage_uri
        from marts.evidence as e
        inner join marts.evidence_links as l on e.evidence_id = l.evidence_id
        inner join marts.evidence_files as f on e.sha256 = f.sha256
        where e.evidence_id = 'servicenow-attachment-{sn_pdf}'""")
    assert linked == [("SN-CHG-01", "classification:change_approval, record_table:change_request", 3,
                       "change_approval", "application/pdf", linked[0][5])]
    assert linked[0][5].startswith("file://")
