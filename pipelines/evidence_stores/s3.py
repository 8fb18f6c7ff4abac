"""Evidence prefixes in S3 as evidence: every object dropped under a watched prefix passes the Evidence
Library (scan, metadata, classification, store) and becomes an ``s3_files`` row.

Prefixes: ``EVIDENCE_S3_INGEST_PREFIXES``, comma-separated, each ``inbox/`` (in ``EVIDENCE_S3_BUCKET``) or
``s3://bucket/prefix``. They are listed with ``list_objects_v2`` (paginated) through the same STS
AssumeRole session as the S3 evidence store (``AWS_ROLE_ARN`` / ``AWS_EXTERNAL_ID``).

Grain: one row per object (``file_id`` = ``s3://bucket/key``), merged on it. Incremental: S3 has no
change feed, so each run lists the prefixes and compares every object's ETag (and LastModified) with
what the last runs loaded, read from ``s3_files`` itself (not from dlt state, which would grow with the
bucket: ``pipelines.common.evidence.stored_files``); only new or changed objects are downloaded
(``GetObject`` with ``IfMatch`` on the listed ETag, so what is read is what was listed). A key that was
there last time and is no longer listed is captured as deleted (``is_deleted``). A version the library
already handled (``source_ref`` = ``s3://bucket/key@etag``) is not downloaded again, so a re-run stores
nothing twice, even without the state; an object left ``pending`` is read again on the next run.

Faults (spec §2.6): 5xx and throttling (429, SlowDown) are retried by botocore (standard mode, 3
retries); what still fails leaves the object ``pending`` with the reason and an error event. Access
denied raises a permission task naming the bucket, the prefix and the role; a listing that fails
deletes nothing. A quota error pauses ingestion from S3 (``library_pauses``): while paused, new
objects are listed and recorded ``pending``, not downloaded. An object listed over the library's size
limit is left ``pending`` with the reason, not downloaded (it was read into memory whole, any size,
before the limit was checked; it is looked at again each run: in once the limit is raised).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from dlt.sources import DltResource

from pipelines.common.evidence import storable_text, stored_files, with_note
from resources.evidence.base import StoreError, StorePermissionError, StoreQuotaError, StoreUnavailable
from resources.evidence.library import EvidenceLibrary
from resources.evidence.s3 import PERMISSION_CODES, QUOTA_CODES
from resources.evidence.s3_auth import RoleCredentials, RoleSettings

PROVIDER = "s3"
RETRIES = 3
KEPT = ("bucket", "prefix", "object_key", "name", "etag", "last_modified", "size_bytes", "sha256", "storage_uri")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def parse_prefixes(spec: str | list[str], default_bucket: str | None = None) -> list[tuple[str, str]]:
    """``inbox/`` or ``s3://bucket/prefix`` items -> [(bucket, prefix)]."""
    items = spec.split(",") if isinstance(spec, str) else spec
    out: list[tuple[str, str]] = []
    for raw in (i.strip() for i in items):
        if not raw:
            continue
        if raw.startswith("s3://"):
            bucket, _, prefix = raw[5:].partition("/")
        else:
            bucket, prefix = default_bucket or "", raw
        if not bucket:
            raise StoreError(f"EVIDENCE_S3_INGEST_PREFIXES item {raw!r} names no bucket: write s3://bucket/prefix or "
                             "set EVIDENCE_S3_BUCKET")
        out.append((bucket, prefix.lstrip("/")))
    return list(dict.fromkeys(out))


def s3_client(role: RoleSettings | None = None):
    """An S3 client on the assumed role's refreshing session; botocore retries 5xx/429/SlowDown 3 times
    (``max_attempts`` in botocore's retry config counts the retries, not the first try)."""
    config = Config(retries={"mode": "standard", "max_attempts": RETRIES}, s3={"addressing_style": "path"},
                    connect_timeout=10, read_timeout=60)
    return RoleCredentials(role or RoleSettings.from_env()).session().client("s3", config=config)


class S3Ingest:
    def __init__(self, client, prefixes: list[tuple[str, str]], library: EvidenceLibrary,
                 role_arn: str | None = None):
        self.client, self.prefixes, self.library, self.role_arn = client, prefixes, library, role_arn

    def error(self, exc: Exception, action: str, bucket: str, prefix: str) -> StoreError:
        where = f"s3://{bucket}/{prefix}"
        if isinstance(exc, BotoCoreError):
            return StoreUnavailable(f"S3 {action} on {where} failed after {RETRIES} retries ({type(exc).__name__}): "
                                    "check AWS_ENDPOINT_URL_S3 and the network path")
        code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) if isinstance(exc, ClientError) \
            else 0
        if code in QUOTA_CODES or status == 507:
            return StoreQuotaError(f"S3 answered {action} on {where} with a quota error ({code or status}): raise "
                                   "the quota; evidence ingestion from S3 is paused until then")
        if code in PERMISSION_CODES or status == 403:
            return StorePermissionError(
                f"S3 denied {action} on {where} ({code or status}): grant the role "
                f"{self.role_arn or '(default credentials)'} s3:ListBucket on arn:aws:s3:::{bucket} (prefix "
                f"{prefix or '*'}) and s3:GetObject on arn:aws:s3:::{bucket}/{prefix}*", resource=where)
        return StoreUnavailable(f"S3 {action} on {where} failed after {RETRIES} retries ({code or status}): "
                                "it is read again on the next run")

    def alert(self, exc: StoreError, filename: str | None) -> None:
        self.library.source_failed(PROVIDER, exc, filename)

    def own(self, bucket: str, key: str) -> bool:
        """An object the library itself stored (a prefix over the whole evidence bucket must not feed it back)."""
        store = self.library.store
        return getattr(store, "name", "") == "s3" and store.bucket == bucket and key.startswith(
            f"{store.prefix}objects/")

    def listing(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                out += [o for o in page.get("Contents", []) if not o["Key"].endswith("/")
                        and not self.own(bucket, o["Key"])]
        except (ClientError, BotoCoreError) as exc:
            raise self.error(exc, "ListObjectsV2", bucket, prefix) from None
        return out

    def row(self, bucket: str, prefix: str, obj: dict[str, Any]) -> dict[str, Any]:
        key, etag = obj["Key"], str(obj.get("ETag") or "").strip('"')
        stored_key, note = storable_text(key, "object key")
        file_id = _file_id(bucket, key)
        modified = obj.get("LastModified")
        base = {"file_id": file_id, "bucket": bucket, "prefix": prefix, "object_key": stored_key,
                "name": stored_key.rsplit("/", 1)[-1], "etag": etag,
                "last_modified": modified.isoformat() if hasattr(modified, "isoformat") else modified,
                "size_bytes": int(obj.get("Size") or 0), "is_deleted": False, "seen_at": _now()}
        ref = f"{file_id}@{etag or base['last_modified']}"
        base["source_ref"] = ref
        settled = self.library.settled_row(PROVIDER, ref, base, "S3")
        if settled is not None:
            return {**settled, "reason": with_note(settled["reason"], note)}
        over = self.library.over_limit(base["size_bytes"], "S3 bucket")
        if over:  # never read into memory whole: it stays in the bucket
            return {**base, "status": "pending", "reason": with_note(over, note)}
        try:
            kwargs = {"IfMatch": obj["ETag"]} if obj.get("ETag") else {}
            content = self.client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404"):  # gone between the listing and the download
                return {**base, "status": "deleted", "is_deleted": True}
            if code in ("PreconditionFailed", "412"):  # replaced meanwhile: the next listing has its new ETag
                return {**base, "status": "pending", "reason": "the object changed while it was read; read again "
                        "on the next run"}
            err = self.error(exc, "GetObject", bucket, prefix)
            self.alert(err, base["name"])
            return {**base, "status": "pending", "reason": str(err)[:500]}
        except BotoCoreError as exc:
            err = self.error(exc, "GetObject", bucket, prefix)
            self.alert(err, base["name"])
            return {**base, "status": "pending", "reason": str(err)[:500]}
        outcome = self.library.ingest(content, base["name"] or stored_key, PROVIDER,
                                      [f"s3-prefix:s3://{bucket}/{prefix}"], ref)
        return {**base, "status": outcome.status, "sha256": outcome.sha256, "storage_uri": outcome.storage_uri,
                "reason": with_note(outcome.reason, note)}


def _file_id(bucket: str, key: str) -> str:
    """``s3://bucket/key``, with a NUL in the key escaped, as it is stored (``storable_text``)."""
    return f"s3://{bucket}/{storable_text(key, 'object key')[0]}"


def _covered(entry: dict[str, Any], listed: list[tuple[str, str]]) -> bool:
    return any(entry["bucket"] == b and entry["object_key"].startswith(p) for b, p in listed)


def s3_files_resource(prefixes: list[tuple[str, str]], library: EvidenceLibrary | None = None,
                      client=None) -> DltResource:
    def rows() -> Iterator[dict[str, Any]]:
        state = dlt.current.resource_state()
        role = RoleSettings.from_env()
        ingest = S3Ingest(client or s3_client(role), prefixes, library or EvidenceLibrary.from_env(), role.role_arn)
        known, retry_ids = stored_files("s3_files", KEPT, state)  # what each object last was; pending ones
        retry = set(retry_ids)
        seen: set[str] = set()
        listed: list[tuple[str, str]] = []
        for bucket, prefix in prefixes:
            try:
                objects = ingest.listing(bucket, prefix)
            except StoreError as exc:  # nothing is deleted or forgotten: the next run lists it again
                ingest.alert(exc, None)  # (their pending rows stay pending in s3_files)
                continue
            listed.append((bucket, prefix))
            for obj in objects:
                file_id = _file_id(bucket, obj["Key"])
                if file_id in seen:  # overlapping prefixes
                    continue
                seen.add(file_id)
                prev = known.get(file_id)
                etag = str(obj.get("ETag") or "").strip('"')
                modified = obj.get("LastModified")
                modified = modified.isoformat() if hasattr(modified, "isoformat") else modified
                if prev is not None and file_id not in retry and (prev["etag"], prev["last_modified"]) == (
                        etag, modified):
                    continue  # unchanged since the last listing: not downloaded, no row
                row = ingest.row(bucket, prefix, obj)
                if row["status"] == "deleted":
                    known.pop(file_id, None)
                    yield row
                    continue
                known[file_id] = {k: row.get(k) for k in KEPT}
                yield row
        for file_id in [f for f, e in known.items() if f not in seen and _covered(e, listed)]:
            yield {**known.pop(file_id), "file_id": file_id, "status": "deleted", "is_deleted": True,
                   "seen_at": _now()}

    text = {c: {"data_type": "text", "nullable": True} for c in
            ("bucket", "prefix", "object_key", "name", "etag", "last_modified", "sha256", "storage_uri", "reason",
             "source_ref", "status", "seen_at")}
    return dlt.resource(rows, name="s3_files", primary_key="file_id", write_disposition="merge",
                        columns={**text, "size_bytes": {"data_type": "bigint", "nullable": True},
                                 "is_deleted": {"data_type": "bool", "nullable": True}})


def prefixes_from_env() -> list[tuple[str, str]]:
    return parse_prefixes(os.environ.get("EVIDENCE_S3_INGEST_PREFIXES", ""), os.environ.get("EVIDENCE_S3_BUCKET"))
