"""Round 23: S3 object answers with boto3 unchanged where moto differed from S3: copy preconditions on the source
(moto honoured only if-none-match), checksum headers that do not match the body (moto stored it) or given by value
(moto dropped them), bucket names S3 refuses (moto created them), reading a delete marker (moto: 404 NoSuchVersion,
no x-amz-delete-marker on GET), an object ACL refusal (moto: an empty 403, so boto3 saw code "403") and unsigned
requests that list or write a private bucket (moto served them)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import zlib

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.evidence.aws import s3_client

BUCKET = "round23-objects"
HOUR = datetime.timedelta(hours=1)
# Dates are given as offsets from when the test runs, not from import: the suite runs for over an hour,
# so a module-level "now + 1 hour" had become the past by the time CI reached these cases.
LATER, EARLIER = "later", "earlier"


pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def server(s3_module_server):
    return s3_module_server


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server, BUCKET)


def _refused(call, **kwargs) -> tuple[int, dict, dict]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    meta = info.value.response["ResponseMetadata"]
    return meta["HTTPStatusCode"], info.value.response["Error"], meta["HTTPHeaders"]


@pytest.mark.parametrize(("conditions", "failed"), [
    ({"CopySourceIfMatch": "ETAG"}, None),
    ({"CopySourceIfMatch": '"0000"'}, "x-amz-copy-source-If-Match"),
    ({"CopySourceIfNoneMatch": "ETAG"}, "x-amz-copy-source-If-None-Match"),
    ({"CopySourceIfNoneMatch": '"0000"'}, None),
    ({"CopySourceIfModifiedSince": LATER}, "x-amz-copy-source-If-Modified-Since"),
    ({"CopySourceIfModifiedSince": EARLIER}, None),
    ({"CopySourceIfUnmodifiedSince": EARLIER}, "x-amz-copy-source-If-Unmodified-Since"),
    ({"CopySourceIfUnmodifiedSince": LATER}, None),
    ({"CopySourceIfMatch": "ETAG", "CopySourceIfUnmodifiedSince": EARLIER}, None),  # if-match true wins
    ({"CopySourceIfNoneMatch": '"0000"', "CopySourceIfModifiedSince": LATER}, None),  # if-none-match decides
])
def test_copy_source_preconditions(s3, conditions, failed):
    etag = s3.put_object(Bucket=BUCKET, Key="source", Body=b"copy me")["ETag"]
    now = datetime.datetime.now(datetime.UTC)
    values = {"ETAG": etag, LATER: now + HOUR, EARLIER: now - HOUR}
    conditions = {k: values.get(v, v) for k, v in conditions.items()}
    source = {"Bucket": BUCKET, "Key": "source"}
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="parts")["UploadId"]
    calls = [(s3.copy_object, {"Key": "copied"}),
             (s3.upload_part_copy, {"Key": "parts", "UploadId": upload, "PartNumber": 1})]
    for call, kwargs in calls:
        if failed is None:
            call(Bucket=BUCKET, CopySource=source, **kwargs, **conditions)
            continue
        status, error, _ = _refused(call, Bucket=BUCKET, CopySource=source, **kwargs, **conditions)
        assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", failed)
    if failed is None:
        assert s3.get_object(Bucket=BUCKET, Key="copied")["Body"].read() == b"copy me"
    s3.abort_multipart_upload(Bucket=BUCKET, Key="parts", UploadId=upload)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_checksum_headers_are_checked_stored_and_echoed(s3):
    crc = _b64(zlib.crc32(b"hello").to_bytes(4, "big"))
    assert s3.put_object(Bucket=BUCKET, Key="default", Body=b"hello")["ChecksumCRC32"] == crc  # botocore's default
    got = s3.get_object(Bucket=BUCKET, Key="default", ChecksumMode="ENABLED")
    assert got["Body"].read() == b"hello" and got["ChecksumCRC32"] == crc
    for name, digest in [("SHA256", hashlib.sha256), ("SHA1", hashlib.sha1)]:
        right, wrong = _b64(digest(b"hello").digest()), _b64(digest(b"other").digest())
        status, error, _ = _refused(s3.put_object, Bucket=BUCKET, Key="by-value", Body=b"hello",
                                    **{"Checksum" + name: wrong})
        assert (status, error["Code"]) == (400, "BadDigest") and name in error["Message"]
        assert s3.put_object(Bucket=BUCKET, Key="by-value", Body=b"hello", **{"Checksum" + name: right})[
            "Checksum" + name] == right
        assert s3.head_object(Bucket=BUCKET, Key="by-value", ChecksumMode="ENABLED")["Checksum" + name] == right
    status, error, _ = _refused(s3.put_object, Bucket=BUCKET, Key="by-value", Body=b"hello",
                                ChecksumCRC32=_b64(zlib.crc32(b"x").to_bytes(4, "big")))
    assert (status, error["Code"]) == (400, "BadDigest")
    status, error, _ = _refused(s3.put_object, Bucket=BUCKET, Key="by-value", Body=b"hello", ChecksumSHA256="abc=")
    assert (status, error["Code"]) == (400, "InvalidRequest")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="part-sums")["UploadId"]
    status, error, _ = _refused(s3.upload_part, Bucket=BUCKET, Key="part-sums", UploadId=upload, PartNumber=1,
                                Body=b"p", ChecksumSHA256=_b64(hashlib.sha256(b"q").digest()))
    assert (status, error["Code"]) == (400, "BadDigest")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="part-sums", UploadId=upload)
    assert s3.get_object(Bucket=BUCKET, Key="by-value")["Body"].read() == b"hello"


@pytest.mark.parametrize("name", ["Bad_Name", "UPPER", "ab", "a" * 64, "192.168.1.1", "a..b", "-dash", "dash-",
                                  "xn--punycode", "name-s3alias"])
def test_bucket_names_s3_refuses(s3, name):
    status, error, _ = _refused(s3.create_bucket, Bucket=name)
    assert (status, error["Code"], error["BucketName"]) == (400, "InvalidBucketName", name)
    assert name not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]


def test_valid_bucket_names_and_locations(server, s3):
    for name in ["abc", "a.b-c.d", "1" * 63]:
        s3.create_bucket(Bucket=name)
        assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] is None
    s3.create_bucket(Bucket="abc")  # us-east-1 answers 200 to its owner again (legacy behaviour)
    eu = boto3.client("s3", endpoint_url=server.url, region_name="eu-west-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    eu.create_bucket(Bucket="round23-eu", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket="round23-eu")["LocationConstraint"] == "eu-west-1"
    status, error, _ = _refused(eu.create_bucket, Bucket="round23-eu",
                                CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert (status, error["Code"]) == (409, "BucketAlreadyOwnedByYou")


def test_reading_delete_markers(s3):
    s3.create_bucket(Bucket="round23-markers")
    s3.put_bucket_versioning(Bucket="round23-markers", VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket="round23-markers", Key="k", Body=b"1")["VersionId"]
    marker = s3.delete_object(Bucket="round23-markers", Key="k")
    assert marker["DeleteMarker"] is True
    status, error, headers = _refused(s3.get_object, Bucket="round23-markers", Key="k")
    assert (status, error["Code"], headers["x-amz-delete-marker"]) == (404, "NoSuchKey", "true")
    assert headers["x-amz-version-id"] == marker["VersionId"]
    for call in (s3.get_object, s3.head_object):
        status, error, headers = _refused(call, Bucket="round23-markers", Key="k", VersionId=marker["VersionId"])
        assert (status, headers["x-amz-delete-marker"]) == (405, "true")
    assert s3.get_object(Bucket="round23-markers", Key="k", VersionId=first)["Body"].read() == b"1"
    status, error, _ = _refused(s3.get_object, Bucket="round23-markers", Key="never")
    assert (status, error["Code"]) == (404, "NoSuchKey")


def test_acl_refusals_carry_access_denied(server, s3):
    s3.put_object(Bucket=BUCKET, Key="private", Body=b"p")
    anonymous = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    status, error, _ = _refused(anonymous.get_object, Bucket=BUCKET, Key="private")
    assert (status, error["Code"], error["Message"]) == (403, "AccessDenied", "Access Denied")
    status, error, _ = _refused(anonymous.head_object, Bucket=BUCKET, Key="private")
    assert status == 403  # HEAD answers carry no body
    s3.put_object(Bucket=BUCKET, Key="public", Body=b"p", ACL="public-read")
    assert anonymous.get_object(Bucket=BUCKET, Key="public")["Body"].read() == b"p"
    for call, kwargs in [(anonymous.list_objects_v2, {}), (anonymous.list_objects, {}),
                         (anonymous.get_object, {"Key": "never-was"}),
                         (anonymous.put_object, {"Key": "anon", "Body": b"a"}),
                         (anonymous.delete_object, {"Key": "private"}),
                         (anonymous.delete_objects, {"Delete": {"Objects": [{"Key": "private"}]}})]:
        status, error, _ = _refused(call, Bucket=BUCKET, **kwargs)
        assert (status, error["Code"]) == (403, "AccessDenied"), call
    assert s3.get_object(Bucket=BUCKET, Key="private")["Body"].read() == b"p"
    assert "anon" not in [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]


def test_anonymous_access_where_acl_or_policy_allow_it(server, s3):
    anonymous = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    s3.create_bucket(Bucket="round23-public", ACL="public-read")
    s3.create_bucket(Bucket="round23-open", ACL="public-read-write")
    for n in range(3):
        s3.put_object(Bucket="round23-public", Key=f"d/{n}", Body=b"x")
    pages = list(anonymous.get_paginator("list_objects").paginate(Bucket="round23-public", Delimiter="/",
                                                                  PaginationConfig={"PageSize": 1}))
    assert [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])] == ["d/"]
    status, error, _ = _refused(anonymous.get_object, Bucket="round23-public", Key="never-was")
    assert (status, error["Code"]) == (404, "NoSuchKey")  # who may list may learn a key is not there
    status, error, _ = _refused(anonymous.put_object, Bucket="round23-public", Key="w", Body=b"w")
    assert (status, error["Code"]) == (403, "AccessDenied")
    anonymous.put_object(Bucket="round23-open", Key="w", Body=b"w")
    assert s3.get_object(Bucket="round23-open", Key="w")["Body"].read() == b"w"
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{BUCKET}"}]}))
    try:
        assert anonymous.list_objects_v2(Bucket=BUCKET, Prefix="private")["KeyCount"] == 1
    finally:
        s3.delete_bucket_policy(Bucket=BUCKET)


@pytest.mark.parametrize("algorithm", ["SHA256", "CRC32"])
def test_multipart_checksums_on_completion_and_head(s3, algorithm):
    key = f"composite-{algorithm}"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm=algorithm)["UploadId"]
    parts = [s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=body,
                            ChecksumAlgorithm=algorithm) for n, body in [(1, b"a" * 5 * 1024 * 1024), (2, b"b")]]
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": n, "ETag": p["ETag"], "Checksum" + algorithm: p["Checksum" + algorithm]}
        for n, p in enumerate(parts, 1)]})
    raw = b"".join(base64.b64decode(p["Checksum" + algorithm]) for p in parts)
    whole = _b64(hashlib.sha256(raw).digest() if algorithm == "SHA256" else zlib.crc32(raw).to_bytes(4, "big"))
    assert (done["Checksum" + algorithm], done["ChecksumType"]) == (f"{whole}-2", "COMPOSITE")
    head = s3.head_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert (head["Checksum" + algorithm], head["ChecksumType"]) == (f"{whole}-2", "COMPOSITE")
    assert head["ContentLength"] == 5 * 1024 * 1024 + 1 and head["ETag"] == done["ETag"]
    got = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read()[-2:] == b"ab" and got["Checksum" + algorithm] == f"{whole}-2"
