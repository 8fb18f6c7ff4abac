"""Round 29: S3 with boto3 unchanged, where the sandbox (moto underneath) let evidence be changed or mislabelled.

- Object Lock: GetObjectRetention was a 500; a COMPLIANCE retention could be shortened or turned into GOVERNANCE, a
  GOVERNANCE one shortened without the bypass header; a retain-until date in the past, or a mode without a date, was
  stored; a default retention could not be set on a bucket holding objects (400 "Bucket needs to be empty"), and a
  legal hold alone skipped the bucket's default retention; versioning could be suspended under Object Lock.
- Checksums: x-amz-checksum-crc32c / -crc64nvme were never checked (a wrong value was stored); without the crc32c /
  awscrt libraries moto computed CRC32 and labelled it CRC32C / CRC64NVME (4 bytes for an 8-byte checksum), as for
  CopyObject with ChecksumAlgorithm.
- CompleteMultipartUpload ignored If-Match (it overwrote whatever the key held)."""

from __future__ import annotations

import base64
import datetime
import os

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer
from sandbox.aws.crc import crc32c, crc64nvme

MB = 1024 * 1024
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def s3():
    server = MotoAwsServer()
    server.start()
    yield boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    server.stop()


def _refused(call, **kwargs) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    error = info.value.response["Error"]
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], error["Code"], error.get("Message", "")


def _b64(value: int, size: int) -> str:
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def _locked_bucket(s3, name: str) -> str:
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def test_compliance_retention_is_read_and_cannot_be_weakened(s3):
    bucket = _locked_bucket(s3, "r29-compliance")
    until = NOW + datetime.timedelta(days=1)
    version = s3.put_object(Bucket=bucket, Key="e", Body=b"evidence", ObjectLockMode="COMPLIANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    got = s3.get_object_retention(Bucket=bucket, Key="e", VersionId=version)["Retention"]
    assert got["Mode"] == "COMPLIANCE" and abs(got["RetainUntilDate"] - until) < datetime.timedelta(seconds=2)
    shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)}
    assert _refused(s3.put_object_retention, Bucket=bucket, Key="e", VersionId=version, Retention=shorter)[:2] == (
        403, "AccessDenied")
    governance = {"Mode": "GOVERNANCE", "RetainUntilDate": until + datetime.timedelta(days=1)}
    assert _refused(s3.put_object_retention, Bucket=bucket, Key="e", VersionId=version, Retention=governance,
                    BypassGovernanceRetention=True)[:2] == (403, "AccessDenied")
    later = until + datetime.timedelta(days=2)
    s3.put_object_retention(Bucket=bucket, Key="e", VersionId=version,
                            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later})
    assert s3.get_object_retention(Bucket=bucket, Key="e")["Retention"]["RetainUntilDate"] > until
    assert _refused(s3.delete_object, Bucket=bucket, Key="e", VersionId=version)[:2] == (403, "AccessDenied")
    assert s3.get_object(Bucket=bucket, Key="e", VersionId=version)["Body"].read() == b"evidence"
    plain = s3.put_object(Bucket=bucket, Key="plain", Body=b"p")["VersionId"]
    assert _refused(s3.get_object_retention, Bucket=bucket, Key="plain", VersionId=plain)[:2] == (
        404, "NoSuchObjectLockConfiguration")
    assert _refused(s3.get_object_retention, Bucket=bucket, Key="nothing")[:2] == (404, "NoSuchKey")


def test_governance_retention_needs_the_bypass_to_be_shortened(s3):
    bucket = _locked_bucket(s3, "r29-governance")
    until = NOW + datetime.timedelta(days=1)
    version = s3.put_object(Bucket=bucket, Key="g", Body=b"g", ObjectLockMode="GOVERNANCE",
                            ObjectLockRetainUntilDate=until)["VersionId"]
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - datetime.timedelta(hours=2)}
    assert _refused(s3.put_object_retention, Bucket=bucket, Key="g", VersionId=version, Retention=shorter)[:2] == (
        403, "AccessDenied")
    s3.put_object_retention(Bucket=bucket, Key="g", VersionId=version, Retention=shorter,
                            BypassGovernanceRetention=True)
    past = {"Mode": "GOVERNANCE", "RetainUntilDate": NOW - datetime.timedelta(days=1)}
    assert _refused(s3.put_object_retention, Bucket=bucket, Key="g", VersionId=version, Retention=past,
                    BypassGovernanceRetention=True)[:2] == (400, "InvalidArgument")


@pytest.mark.parametrize("headers", [
    {"ObjectLockMode": "COMPLIANCE"},
    {"ObjectLockRetainUntilDate": NOW + datetime.timedelta(days=1)},
    {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": NOW - datetime.timedelta(minutes=5)},
])
def test_lock_headers_s3_refuses(s3, headers):
    bucket = "r29-headers"
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        _locked_bucket(s3, bucket)
    assert _refused(s3.put_object, Bucket=bucket, Key="h", Body=b"h", **headers)[:2] == (400, "InvalidArgument")
    assert "Versions" not in s3.list_object_versions(Bucket=bucket, Prefix="h")


def test_default_retention_on_a_bucket_in_use_and_versioning_stays_on(s3):
    bucket = _locked_bucket(s3, "r29-default")
    s3.put_object(Bucket=bucket, Key="before", Body=b"b")
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}}})
    rule = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"]["Mode"] == "COMPLIANCE" and rule["DefaultRetention"]["Days"] == 1
    for key, extra in (("after", {}), ("held", {"ObjectLockLegalHoldStatus": "ON"})):
        version = s3.put_object(Bucket=bucket, Key=key, Body=b"a", **extra)["VersionId"]
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["ObjectLockMode"] == "COMPLIANCE"
        assert head["ObjectLockRetainUntilDate"] > NOW + datetime.timedelta(hours=23)
        assert _refused(s3.delete_object, Bucket=bucket, Key=key, VersionId=version)[:2] == (403, "AccessDenied")
    status, code, _ = _refused(s3.put_bucket_versioning, Bucket=bucket,
                               VersioningConfiguration={"Status": "Suspended"})
    assert (status, code) == (409, "InvalidBucketState")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_crc_vectors():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc64nvme(b"123456789") == 0xAE8B14860A799888
    assert crc32c(b"") == 0 and crc64nvme(b"") == 0


@pytest.mark.parametrize("size", [9, 200_000])
def test_crc32c_and_crc64nvme_by_value_are_checked_and_echoed(s3, size):
    bucket = "r29-crc"
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    body = b"123456789" if size == 9 else os.urandom(size)
    for name, value, width in (("CRC32C", crc32c(body), 4), ("CRC64NVME", crc64nvme(body), 8)):
        given = {f"Checksum{name}": _b64(value, width)}
        s3.put_object(Bucket=bucket, Key=name, Body=body, **given)
        got = s3.get_object(Bucket=bucket, Key=name, ChecksumMode="ENABLED")
        assert got["Body"].read() == body and got[f"Checksum{name}"] == given[f"Checksum{name}"]
        wrong = {f"Checksum{name}": _b64(value ^ 1, width)}
        assert _refused(s3.put_object, Bucket=bucket, Key=name + "-bad", Body=body, **wrong)[:2] == (400, "BadDigest")
        short = {f"Checksum{name}": _b64(value & 0xFF, 1)}
        assert _refused(s3.put_object, Bucket=bucket, Key=name + "-bad", Body=body, **short)[:2] == (
            400, "InvalidRequest")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="CRC32C-bad")


def test_copy_checksums_are_true_crcs_and_completion_honours_if_match(s3):
    bucket = "r29-mpu"
    s3.create_bucket(Bucket=bucket)
    parts = [os.urandom(5 * MB), os.urandom(1000)]

    def complete(key: str, **conditions):
        upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        done = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n,
                                                         Body=body)["ETag"]} for n, body in enumerate(parts, 1)]
        return s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                            MultipartUpload={"Parts": done}, **conditions)

    etag = complete("whole")["ETag"]
    for name, width, digest in (("CRC32C", 4, crc32c), ("CRC64NVME", 8, crc64nvme)):  # computed by the server
        copied = s3.copy_object(Bucket=bucket, Key="copy-" + name, CopySource={"Bucket": bucket, "Key": "whole"},
                                ChecksumAlgorithm=name)["CopyObjectResult"]
        assert copied[f"Checksum{name}"] == _b64(digest(b"".join(parts)), width)
    assert _refused(complete, key="whole", IfMatch='"0123456789abcdef0123456789abcdef-2"')[:2] == (
        412, "PreconditionFailed")
    assert _refused(complete, key="absent", IfMatch=etag)[:2] == (404, "NoSuchKey")
    assert complete("whole", IfMatch=etag)["ETag"] == etag  # same parts, same entity tag
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="absent")
