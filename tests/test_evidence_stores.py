"""Evidence stores: local disk and S3 (moto's server over real HTTP, role assumed through STS).

Round trips of 0 B, 1 MiB and 50 MiB keep metadata and are verified against their content address;
S3 objects are server-side encrypted; role credentials are refreshed before they expire mid-run; a
wrong external id fails naming AWS_EXTERNAL_ID; provider faults map to the typed store errors."""

from __future__ import annotations

import os
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from resources.evidence.base import (
    ContentMismatch,
    StorePermissionError,
    StoreQuotaError,
    StoreUnavailable,
    content_address,
)
from resources.evidence.local import LocalStore
from resources.evidence.s3 import S3Store
from resources.evidence.s3_auth import RoleSettings
from sandbox.aws import AwsFault
from tests.evidence.aws import EXTERNAL_ID

SIZES = [0, 1024 * 1024, 50 * 1024 * 1024]


def _payload(size: int) -> bytes:
    return os.urandom(size)


@pytest.mark.parametrize("size", SIZES, ids=["0B", "1MiB", "50MiB"])
def test_local_round_trip(tmp_path, size):
    store = LocalStore(tmp_path)
    data = _payload(size)
    obj = store.put(data, {"filename": "report.pdf", "Source": "jira"})
    assert obj.sha256 == content_address(data) and obj.size == size
    assert obj.uri.startswith("file://")
    assert store.get(obj.sha256) == data
    assert store.head(obj.sha256).metadata == {"filename": "report.pdf", "source": "jira"}
    assert store.put(data).sha256 == obj.sha256  # stored once
    assert [o.sha256 for o in store.list()] == [obj.sha256]


def test_local_detects_corruption_and_bad_addresses(tmp_path):
    store = LocalStore(tmp_path)
    obj = store.put(b"original")
    path = tmp_path / "objects" / obj.sha256[:2] / obj.sha256
    path.write_bytes(b"tampered")
    with pytest.raises(ContentMismatch, match="restore it"):
        store.get(obj.sha256)
    with pytest.raises(ValueError, match="content address"):
        store.get("../../etc/passwd")
    with pytest.raises(KeyError):
        store.get("0" * 64)


@pytest.mark.parametrize("size", SIZES, ids=["0B", "1MiB", "50MiB"])
def test_s3_round_trip_through_assumed_role(aws, size):
    store = S3Store.from_env()
    data = _payload(size)
    obj = store.put(data, {"filename": "évidence 1.pdf", "tags": "change-management,source:jira"})
    assert obj.uri == f"s3://{aws.bucket}/objects/{obj.sha256[:2]}/{obj.sha256}"
    assert obj.size == size
    back = store.head(obj.sha256)
    assert back.metadata["filename"] == "évidence 1.pdf"
    assert back.metadata["tags"] == "change-management,source:jira"
    assert back.metadata["server_side_encryption"] == "AES256"
    assert store.get(obj.sha256) == data
    assert store.role.assumed >= 1
    # the object was written by the assumed role's identity, not the base one
    head = boto3.client("s3").head_object(Bucket=aws.bucket, Key=f"objects/{obj.sha256[:2]}/{obj.sha256}")
    assert head["ServerSideEncryption"] == "AES256"
    store.put(data)
    assert [o.sha256 for o in store.list()] == [obj.sha256]


def test_s3_content_address_verified_on_read(aws):
    store = S3Store.from_env()
    obj = store.put(b"the approved change")
    boto3.client("s3").put_object(Bucket=aws.bucket, Key=f"objects/{obj.sha256[:2]}/{obj.sha256}", Body=b"evil")
    with pytest.raises(ContentMismatch):
        store.get(obj.sha256)


def test_wrong_external_id_names_the_variable(aws, monkeypatch):
    monkeypatch.setenv("AWS_EXTERNAL_ID", "not-the-one")
    with pytest.raises(StorePermissionError) as err:
        S3Store.from_env()
    assert "AWS_EXTERNAL_ID" in str(err.value) and aws.role_arn in str(err.value)
    monkeypatch.delenv("AWS_EXTERNAL_ID")
    with pytest.raises(StorePermissionError, match="AWS_EXTERNAL_ID"):
        S3Store.from_env()


def _short_lived(aws, advisory: int, mandatory: int) -> S3Store:
    aws.server.session_lifetime = 3
    role = RoleSettings(role_arn=aws.role_arn, external_id=EXTERNAL_ID, session_seconds=900,
                        advisory_refresh=advisory, mandatory_refresh=mandatory)
    return S3Store(aws.bucket, role=role)


def test_expired_role_credentials_refresh_mid_run(aws):
    """Credentials living 3 s, refreshed when 1 s is left: a 7 s run outlives two of them."""
    store = _short_lived(aws, advisory=1, mandatory=1)
    rejected_before = aws.server.expired_rejections
    stored = []
    deadline = time.monotonic() + 7
    while time.monotonic() < deadline:
        stored.append(store.put(os.urandom(64)).sha256)
        time.sleep(0.25)
    assert all(store.exists(sha) for sha in stored)
    assert store.role.assumed >= 3
    assert aws.server.expired_rejections == rejected_before


def test_server_really_rejects_expired_credentials(aws):
    """The control for the test above: the same role credentials, frozen (no refresh), fail once expired."""
    store = _short_lived(aws, advisory=1, mandatory=1)
    store.put(b"first")
    frozen = store.client._request_signer._credentials.get_frozen_credentials()
    static = boto3.client("s3", aws_access_key_id=frozen.access_key, aws_secret_access_key=frozen.secret_key,
                          aws_session_token=frozen.token)
    static.put_object(Bucket=aws.bucket, Key="probe", Body=b"ok while fresh")
    time.sleep(3.5)
    with pytest.raises(ClientError, match="ExpiredToken"):
        static.put_object(Bucket=aws.bucket, Key="probe", Body=b"too late")
    assert aws.server.expired_rejections >= 1
    store.put(b"second")  # the refreshing store carries on


def test_s3_retries_5xx_and_throttling(aws):
    store = S3Store.from_env()
    aws.server.faults.append(AwsFault("s3", 503, "SlowDown", count=2, method="PUT"))
    obj = store.put(b"survives two 503s")
    assert store.get(obj.sha256) == b"survives two 503s"
    aws.server.faults.append(AwsFault("s3", 500, "InternalError", count=3, method="PUT"))
    store.put(b"retried three times")
    hits = aws.server.fault_hits
    aws.server.faults.append(AwsFault("s3", 500, "InternalError", count=10, method="PUT"))
    with pytest.raises(StoreUnavailable, match="after 3 retries"):
        store.put(b"four 500s in a row")
    assert aws.server.fault_hits - hits == 4
    assert not store.exists(content_address(b"four 500s in a row"))


def test_s3_permission_and_quota_errors_name_the_fix(aws):
    store = S3Store.from_env()
    aws.server.faults.append(AwsFault("s3", 403, "AccessDenied", count=1, method="PUT"))
    with pytest.raises(StorePermissionError) as err:
        store.put(b"denied")
    assert f"grant the role {aws.role_arn}" in str(err.value) and aws.bucket in str(err.value)
    aws.server.faults.append(AwsFault("s3", 507, "QuotaExceeded", count=3, method="PUT"))
    with pytest.raises(StoreQuotaError, match="paused"):
        store.put(b"full")
