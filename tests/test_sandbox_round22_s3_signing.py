"""Round 22 audit of the S3 sandbox (moto's server behind `sandbox.aws`) with boto3 unchanged: moto served a presigned
URL past its expiry, a presigned URL whose key was swapped, and a request signed with the wrong secret key. Now
S3's answers: 403 AccessDenied "Request has expired", 403 SignatureDoesNotMatch, 400
AuthorizationQueryParametersError past a week, and with `strict_keys` 403 InvalidAccessKeyId; good signatures
(v2 and v4 presigned URLs, header-signed calls, STS and IAM keys, awkward keys) still pass."""

from __future__ import annotations

import re
import time
from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

BUCKET = "round22-signing"
KEYS = ["plain.txt", "with space.txt", "ünï/cødé.txt", "a+b=c&d.txt", "dir/sub/deep.txt"]


@pytest.fixture(scope="module")
def server():
    s = MotoAwsServer()
    s.start()
    yield s
    s.stop()


def _client(server, secret: str = "testing", key: str = "testing", v4: bool = False, **extra):
    config = Config(signature_version="s3v4") if v4 else None
    return boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=config,
        **extra,
    )


@pytest.fixture(scope="module")
def s3(server):
    client = _client(server)
    client.create_bucket(Bucket=BUCKET)
    for key in KEYS:
        client.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    return client


def _error(resp: requests.Response) -> dict[str, str]:
    return {child.tag: child.text or "" for child in ElementTree.fromstring(resp.content)}


@pytest.mark.parametrize("v4", [False, True], ids=["v2", "v4"])
def test_presigned_urls_work_until_they_expire(server, s3, v4):
    signer = _client(server, v4=v4)
    for key in KEYS:
        url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=300)
        assert requests.get(url, timeout=10).content == key.encode()
    url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "plain.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    expired = requests.get(url, timeout=10)
    body = _error(expired)
    assert expired.status_code == 403 and (body["Code"], body["Message"]) == ("AccessDenied", "Request has expired")
    assert body["Expires"].endswith("Z") and body["ServerTime"] > body["Expires"]


@pytest.mark.parametrize("v4", [False, True], ids=["v2", "v4"])
def test_presigned_urls_are_bound_to_what_was_signed(server, s3, v4):
    signer = _client(server, v4=v4)
    url = signer.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "plain.txt"}, ExpiresIn=300)
    swapped = requests.get(url.replace("plain.txt", "dir/sub/deep.txt"), timeout=10)
    assert swapped.status_code == 403 and _error(swapped)["Code"] == "SignatureDoesNotMatch"
    listing = signer.generate_presigned_url("list_objects_v2", Params={"Bucket": BUCKET, "Prefix": "dir/"})
    assert requests.get(listing, timeout=10).status_code == 200
    put = signer.generate_presigned_url(
        "put_object", Params={"Bucket": BUCKET, "Key": "up.csv", "ContentType": "text/csv"}
    )
    assert requests.put(put, data=b"a,b", headers={"Content-Type": "text/csv"}, timeout=10).status_code == 200
    assert s3.get_object(Bucket=BUCKET, Key="up.csv")["Body"].read() == b"a,b"
    disposition = signer.generate_presigned_url(
        "get_object",
        Params={"Bucket": BUCKET, "Key": "plain.txt", "ResponseContentDisposition": 'attachment; filename="x y.txt"'},
    )
    assert requests.get(disposition, timeout=10).headers["Content-Disposition"] == 'attachment; filename="x y.txt"'


def test_v4_presigned_url_of_more_than_a_week_is_refused(server, s3):
    url = _client(server, v4=True).generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "plain.txt"})
    long = requests.get(re.sub(r"X-Amz-Expires=\d+", "X-Amz-Expires=604801", url), timeout=10)
    assert long.status_code == 400 and _error(long)["Code"] == "AuthorizationQueryParametersError"


def test_wrong_secret_key_is_signature_does_not_match(server, s3):
    with pytest.raises(ClientError) as info:
        _client(server, secret="not-the-secret").list_objects_v2(Bucket=BUCKET)
    err = info.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403 and err["Error"]["Code"] == "SignatureDoesNotMatch"
    assert "not-the-secret" not in str(err)
    assert _client(server).list_objects_v2(Bucket=BUCKET)["KeyCount"] >= len(KEYS)


def test_header_signed_calls_with_awkward_keys_and_headers_pass(server, s3):
    for key in KEYS:
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    s3.put_object(
        Bucket=BUCKET,
        Key="typed.txt",
        Body=b"x",
        ContentType="text/plain; charset=\xff\xfe",
        Metadata={"owner": "grc"},
        Tagging="a=b c",
    )
    assert s3.head_object(Bucket=BUCKET, Key="typed.txt")["Metadata"] == {"owner": "grc"}
    s3.copy_object(Bucket=BUCKET, Key="copy.txt", CopySource={"Bucket": BUCKET, "Key": "ünï/cødé.txt"})
    gone = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "copy.txt"}, {"Key": "typed.txt"}]})
    assert sorted(d["Key"] for d in gone["Deleted"]) == ["copy.txt", "typed.txt"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 2})
    assert sum(len(p.get("Contents", [])) for p in pages) >= len(KEYS)


def test_keys_moto_issued_are_checked_and_strict_mode_refuses_strangers(server, s3):
    creds = boto3.client(
        "sts",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).assume_role(RoleArn="arn:aws:iam::123456789012:role/reader", RoleSessionName="round22")["Credentials"]
    role = _client(
        server, key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"]
    )
    assert role.get_object(Bucket=BUCKET, Key="plain.txt")["Body"].read() == b"plain.txt"
    url = role.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "plain.txt"})
    assert requests.get(url, timeout=10).status_code == 200
    forged = _client(server, key=creds["AccessKeyId"], secret="forged", aws_session_token=creds["SessionToken"])
    with pytest.raises(ClientError, match="SignatureDoesNotMatch"):
        forged.list_objects_v2(Bucket=BUCKET)
    stranger = _client(server, key="AKIASTRANGER", secret="whatever")
    assert stranger.list_objects_v2(Bucket=BUCKET)["KeyCount"] >= 1  # moto's leniency by default
    server.strict_keys = True
    try:
        with pytest.raises(ClientError) as info:
            stranger.list_objects_v2(Bucket=BUCKET)
        assert info.value.response["Error"]["Code"] == "InvalidAccessKeyId"
        assert role.get_object(Bucket=BUCKET, Key="plain.txt")["Body"].read() == b"plain.txt"
    finally:
        server.strict_keys = False
