"""Round 27: sizes in bytes are bigint from staging to ``marts.evidence_files``. An attachment of 2.5 GB (Jira)
or 3 GB (ServiceNow) was a failed build (Jira's cast to INTEGER) or a silent null (ServiceNow's nine-digit safe
cast), and the evidence stores' S3/SharePoint/Drive sizes were cast to INTEGER too."""

from __future__ import annotations

import duckdb

from tests.dbt_helpers import dbt

SN = ["sys_id", "file_name", "content_type", "size_bytes", "table_name", "table_sys_id", "download_link", "hash",
      "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count", "sha256",
      "storage_uri", "content_status", "content_error", "_dlt_load_id"]
JIRA = ["id", "issue_id", "issue_key", "filename", "mime_type", "size_bytes", "created", "author_account_id",
        "sha256", "storage_uri", "content_status", "content_error", "_dlt_load_id"]
SIZES = {"a-small": "1024", "b-3gb": "3000000000", "c-huge": "9" * 19, "d-text": "many"}


def test_sizes_past_two_gib_reach_staging_whole(duckdb_warehouse, tmp_path):
    with duckdb.connect(duckdb_warehouse.duckdb_path) as con:
        for schema, cols in (("servicenow", SN), ("jira", JIRA)):
            con.execute(f"create schema {schema}")
            extra = ", _tombstone boolean" if schema == "jira" else ""
            con.execute(f"create table {schema}.attachments ({', '.join(c + ' varchar' for c in cols)}{extra})")
        for key, size in SIZES.items():
            sn = {c: None for c in SN} | {"sys_id": key, "file_name": f"{key}.bin", "size_bytes": size,
                                           "sys_created_on": "2026-12-01 10:00:00", "sys_mod_count": "0",
                                           "sys_updated_on": "2026-12-01 10:00:00", "_dlt_load_id": "1764583200.1"}
            con.execute(f"insert into servicenow.attachments ({', '.join(SN)}) values ({', '.join('?' * len(SN))})",
                        [sn[c] for c in SN])
            jira = {c: None for c in JIRA} | {"id": key, "issue_id": "10001", "issue_key": "SEC-1", "size_bytes": size,
                                               "filename": f"{key}.bin", "created": "2026-12-01T10:00:00.000+0000",
                                               "_dlt_load_id": "1764583200.1"}
            con.execute(f"insert into jira.attachments ({', '.join(JIRA)}, _tombstone) values "
                        f"({', '.join('?' * len(JIRA))}, false)", [jira[c] for c in JIRA])
    built = dbt(duckdb_warehouse, tmp_path / "dbt", "run", "--select", "stg_servicenow__attachments",
                "stg_jira__attachments", "stg_servicenow__deletions")
    assert built.returncode == 0, built.stdout[-3000:]
    with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
        for model in ("stg_servicenow__attachments", "stg_jira__attachments"):
            got = dict(con.execute(f"select attachment_id, size_bytes from staging.{model}").fetchall())
            assert got == {"a-small": 1024, "b-3gb": 3_000_000_000, "c-huge": None, "d-text": None}, (model, got)
            kind = con.execute("select data_type from information_schema.columns where table_schema = 'staging' "
                               "and table_name = ? and column_name = 'size_bytes'", [model]).fetchone()[0]
            assert kind == "BIGINT", (model, kind)
