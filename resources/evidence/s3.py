"""S3 evidence store (``PROJECTX_EVIDENCE_STORE=s3``): bucket ``EVIDENCE_S3_BUCKET``, objects at
``<prefix>objects/<sha[:2]>/<sha>``, server-side encryption on every write (``AES256`` by default;
``EVIDENCE_S3_KMS_KEY_ID`` selects SSE-KMS), through a role assumed with STS (see ``s3_auth``).

Uploads go through boto3's managed transfer, multipart above 8 MiB. Each request is retried by
botocore (standard mode: 5xx, 429/throttling, timeouts; with s3transfer's own retry an upload is
tried 4 times, i.e. retried 3 times as spec §2.6 asks; the tests count the attempts); what still fails is mapped to
the store errors of ``base`` with a message that names the bucket and what to change.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from urllib.parse import quote, unquote

from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from resources.evidence.base import (
    ContentMismatch,
    StoredObject,
    StoreError,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    check_address,
    clean_metadata,
    content_address,
    occupied,
    verified,
)
from resources.evidence.s3_auth import RoleCredentials, RoleSettings

TRANSFER = TransferConfig(multipart_threshold=8 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024,
                          max_concurrency=2)
QUOTA_CODES = {"QuotaExceeded", "ServiceQuotaExceededException", "InsufficientStorage", "TooManyBuckets"}
METADATA_LIMIT = 2048  # bytes of user-defined metadata (names and values) S3 accepts on an object
PERMISSION_CODES = {"AccessDenied", "AllAccessDisabled", "AccountProblem", "InvalidAccessKeyId"}


def _metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """User metadata as S3 takes it: ASCII (values percent-quoted) and at most 2 KB in all, names and values
    counted (more is refused with MetadataTooLarge, and the file would never be stored): the longest value,
    a long file name, is cut to fit (the ledger keeps it whole)."""
    meta = {k: quote(v, safe="") for k, v in clean_metadata(metadata).items()}
    excess = sum(len(k) + len(v) for k, v in meta.items()) - METADATA_LIMIT
    if excess > 0:
        key = max(meta, key=lambda k: len(meta[k]))
        room, kept = len(meta[key]) - excess, []
        for char in unquote(meta[key]):  # whole characters only
            room -= len(quote(char, safe=""))
            if room < 0:
                break
            kept.append(char)
        meta[key] = quote("".join(kept), safe="")
    return meta


class S3Store:
    """Content-addressed objects in one S3 bucket."""

    name = "s3"

    def __init__(self, bucket: str, prefix: str = "", role: RoleSettings | None = None,
                 kms_key_id: str | None = None):
        if not bucket:
            raise StoreError("the S3 evidence store needs a bucket: set EVIDENCE_S3_BUCKET")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.role = RoleCredentials(role or RoleSettings.from_env())
        self.kms_key_id = kms_key_id
        config = Config(retries={"mode": "standard", "max_attempts": 3}, s3={"addressing_style": "path"},
                        connect_timeout=10, read_timeout=60)
        self.client = self.role.session().client("s3", config=config)

    @classmethod
    def from_env(cls) -> S3Store:
        return cls(os.environ.get("EVIDENCE_S3_BUCKET", ""), os.environ.get("EVIDENCE_S3_PREFIX", ""),
                   RoleSettings.from_env(), os.environ.get("EVIDENCE_S3_KMS_KEY_ID") or None)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}objects/{check_address(sha256)[:2]}/{sha256}"

    def _uri(self, sha256: str) -> str:
        return f"s3://{self.bucket}/{self._key(sha256)}"

    def _fail(self, exc: Exception, action: str) -> StoreError:
        if isinstance(exc, BotoCoreError):
            return StoreUnavailable(f"S3 {action} on bucket {self.bucket} failed after retries "
                                    f"({type(exc).__name__}): check AWS_ENDPOINT_URL_S3 and the network path")
        assert isinstance(exc, ClientError)
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if code in QUOTA_CODES or status == 507:
            return StoreQuotaError(f"S3 bucket {self.bucket} is over its quota ({code or status}): raise the "
                                   "quota or free space; evidence ingestion to S3 is paused until then")
        if code in PERMISSION_CODES or status == 403:
            return StorePermissionError(
                f"S3 denied {action} on bucket {self.bucket} ({code or status}): grant the role "
                f"{self.role.settings.role_arn or '(default credentials)'} s3:GetObject, s3:PutObject and "
                f"s3:ListBucket on arn:aws:s3:::{self.bucket}", resource=f"bucket {self.bucket}")
        return StoreUnavailable(f"S3 {action} on bucket {self.bucket} failed after 3 retries "
                                f"({code or status}): retry later")

    def put(self, content: bytes, metadata: Mapping[str, str] | None = None) -> StoredObject:
        sha = content_address(content)
        found = self._head(sha)
        if found is not None and self._holds(sha, found, content):
            return self._stored(sha, found)
        extra: dict = {"Metadata": _metadata(metadata), "ServerSideEncryption": "AES256"}
        if self.kms_key_id:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=self.kms_key_id)
        try:
            self.client.upload_fileobj(io.BytesIO(content), self.bucket, self._key(sha), ExtraArgs=extra,
                                       Config=TRANSFER)
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "PutObject") from None
        except Exception as exc:  # s3transfer wraps ClientError in S3UploadFailedError
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ClientError | BotoCoreError):
                raise self._fail(cause, "PutObject") from None
            raise
        return self.head(sha)  # type: ignore[return-value]

    def _holds(self, sha: str, found: dict, content: bytes) -> bool:
        """Whether the object already at the content's address (its HeadObject answer) is the content (True),
        or gone meanwhile (False: store it); other bytes raise ``ContentMismatch``, never overwritten. Its size
        first, then its ETag when that is the bytes' MD5 (single-part, not SSE-KMS), else its bytes read back."""
        where = f"S3 object {self._uri(sha)}"
        if found["ContentLength"] != len(content):
            raise occupied(sha, None, found["ContentLength"], where)
        etag = str(found.get("ETag") or "").strip('"').lower()
        kms = str(found.get("ServerSideEncryption") or "").startswith("aws:kms")  # its ETag is no MD5
        if re.fullmatch(r"[0-9a-f]{32}", etag) and not kms:
            if etag == hashlib.md5(content).hexdigest():
                return True
            raise occupied(sha, None, found["ContentLength"], f"{where} (ETag {etag})")
        try:
            self.get(sha)
        except KeyError:
            return False
        except ContentMismatch:
            raise occupied(sha, None, found["ContentLength"], where) from None
        return True

    def get(self, sha256: str) -> bytes:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise KeyError(sha256) from None
            raise self._fail(exc, "GetObject") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "GetObject") from None
        return verified(sha256, body, f"S3 object {self._uri(sha256)}")

    def _head(self, sha256: str) -> dict | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise self._fail(exc, "HeadObject") from None
        except BotoCoreError as exc:
            raise self._fail(exc, "HeadObject") from None

    def head(self, sha256: str) -> StoredObject | None:
        r = self._head(sha256)
        return None if r is None else self._stored(sha256, r)

    def _stored(self, sha256: str, r: dict) -> StoredObject:
        meta = {k: unquote(v) for k, v in r.get("Metadata", {}).items()}
        meta.setdefault("server_side_encryption", r.get("ServerSideEncryption") or "")
        return StoredObject(sha256, r["ContentLength"], self._uri(sha256), meta, r.get("LastModified"))

    def exists(self, sha256: str) -> bool:
        return self.head(sha256) is not None

    def list(self, since: datetime | None = None) -> Iterator[StoredObject]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=f"{self.prefix}objects/"):
                for item in page.get("Contents", []):
                    if since is not None and item["LastModified"] <= since:
                        continue
                    obj = self.head(item["Key"].rsplit("/", 1)[-1])
                    if obj is not None:
                        yield obj
        except (ClientError, BotoCoreError) as exc:
            raise self._fail(exc, "ListObjectsV2") from None
