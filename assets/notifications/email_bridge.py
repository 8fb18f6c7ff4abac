"""``email_bridge/inbound``: copy the e-mail bridge's spool into the warehouse for ``marts.evidence``.

The bridge (``webhooks/email_bridge.py``) writes only its SQLite spool; this asset merges the spool's
``evidence`` and ``quarantine`` rows into ``email_bridge.evidence`` / ``email_bridge.quarantine`` of
the warehouse (same grain: one row per body or attachment; one per quarantined message and address),
keyed by their ids, so a rerun copies nothing twice. Runs before dbt in ``full_sync``.
"""


import sqlite3

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from resources.warehouse import Connection, WarehouseResource
from webhooks.email_bridge import SCHEMA as SPOOL_SCHEMA
from webhooks.email_bridge import spool_path

KEY = AssetKey(["email_bridge", "inbound"])
TABLES = {
    "evidence": ("evidence_id", "message_key varchar, bridge_address varchar, adapter varchar, source_email varchar, "
                 "subject varchar, evidence_type varchar, title varchar, content_type varchar, size_bytes bigint, "
                 "sha256 varchar, storage_uri varchar, tags varchar, received_at timestamp"),
    "quarantine": ("quarantine_id", "bridge_address varchar, source_email varchar, reason varchar, sha256 varchar, "
                   "storage_uri varchar, received_at timestamp"),
}


def ensure_tables(conn: Connection) -> None:
    conn.execute("create schema if not exists email_bridge")
    for table, (key, columns) in TABLES.items():
        conn.execute(f"create table if not exists email_bridge.{table} ({key} varchar primary key, {columns})")


def copy_spool(conn: Connection, spool: sqlite3.Connection) -> dict[str, int]:
    """Insert the spool rows the warehouse lacks; returns new rows per table."""
    ensure_tables(conn)
    added = {}
    for table, (key, _) in TABLES.items():
        have = {r[key] for r in conn.query(f"select {key} from email_bridge.{table}")}
        cur = spool.execute(f"select * from {table}")
        rows = [r for r in cur.fetchall() if r[0] not in have]
        if rows:
            marks = ", ".join(["%s"] * len(rows[0]))
            for row in rows:
                conn.execute(f"insert into email_bridge.{table} values ({marks})", row)
        added[table] = len(rows)
    conn.raw.commit()
    return added


@asset(key=KEY, group_name="email_bridge", pool="warehouse", kinds={"email", "python"},
       description="Evidence and quarantined messages received by the inbound e-mail bridge (spec 2.5), copied "
                   "from its spool into the warehouse (email_bridge.evidence / email_bridge.quarantine).")
def email_bridge_inbound(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    path = spool_path()
    spool = sqlite3.connect(str(path)) if path.exists() else sqlite3.connect(":memory:")
    try:
        for statement in SPOOL_SCHEMA:
            spool.execute(statement)
        with warehouse.connect() as conn:
            added = copy_spool(conn, spool)
            quarantined = int(conn.scalar("select count(*) from email_bridge.quarantine"))
    finally:
        spool.close()
    if quarantined:
        context.log.warning("%d inbound e-mail(s) in email_bridge.quarantine await review", quarantined)
    return MaterializeResult(metadata={"new_evidence": MetadataValue.int(added["evidence"]),
                                       "new_quarantined": MetadataValue.int(added["quarantine"]),
                                       "quarantined_total": MetadataValue.int(quarantined)})
