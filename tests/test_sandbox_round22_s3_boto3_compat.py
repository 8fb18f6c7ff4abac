"""Round 22: legitimate boto3 usage (boto3 unchanged) against the S3/STS sandbox's signature and S3 checks must never
be refused. Every shape with the default key (testing/testing), a key nobody issued, STS role credentials (session
token) and an IAM user's key: awkward keys and headers, default and explicit checksums, transfer-manager multipart
up/downloads and copies, listings, DeleteObjects, v2/v4 presigned URLs and POST forms, another region, a client clock
some minutes off, HTTPS (aws-chunked bodies with a trailing CRC32, UNSIGNED-PAYLOAD) and virtual-host addressing
through an HTTP proxy (false 403s before: a proxied request's absolute target, a v2 presigned URL on bucket.host).
The checks still refuse what they should on those shapes (a wrong secret, a tampered URL, a gone upload id)."""

from __future__ import annotations

import datetime
import io
import os
import urllib.request
from unittest import mock

import boto3
import botocore.auth
import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import generate_adhoc_ssl_context

from sandbox.aws import MotoAwsServer

KEYS = ["plain.txt", "with space.txt", "a+b=c&d.txt", "100%.txt", "ünï/cødé €.txt", "emoji 😀", "/lead", "a//b",
        "trail/", "q?x=1#f", "tilde~/star*", "ü" * 512]
PART = 5 * 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=PART, multipart_chunksize=PART)
BIG = bytes(range(256)) * (PART * 2 // 256) + b"tail"  # three parts
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")  # the sandbox's own cert


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
            monkeypatch.delenv(name)


def _start(**kw) -> MotoAwsServer:
    server = MotoAwsServer(**kw)
    server.start()
    return server


@pytest.fixture(scope="module")
def server():
    s = _start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def tls_server():
    s = _start(ssl_context=generate_adhoc_ssl_context())
    yield s
    s.stop()


def _kw(server, cred: dict, region: str = "us-east-1") -> dict:
    return {"endpoint_url": server.url, "region_name": region, "aws_access_key_id": cred["key"],
            "aws_secret_access_key": cred["secret"], "aws_session_token": cred.get("token"), "verify": False}


def _s3(server, cred: dict, region: str = "us-east-1", endpoint: str | None = None, **config):
    kw = _kw(server, cred, region)
    kw["endpoint_url"] = endpoint or server.url
    return boto3.client("s3", config=Config(retries={"max_attempts": 1}, **config), **kw)


@pytest.fixture(scope="module")
def creds(server):
    default = {"key": "testing", "secret": "testing"}
    role = boto3.client("sts", **_kw(server, default)).assume_role(
        RoleArn="arn:aws:iam::123456789012:role/compat", RoleSessionName="compat")["Credentials"]
    iam = boto3.client("iam", **_kw(server, default))
    iam.create_user(UserName="compat")
    key = iam.create_access_key(UserName="compat")["AccessKey"]
    return {"default": default, "unknown": {"key": "AKIANOBODYISSUED", "secret": "anything"},
            "role": {"key": role["AccessKeyId"], "secret": role["SecretAccessKey"], "token": role["SessionToken"]},
            "iam": {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}


CREDS = ["default", "unknown", "role", "iam"]


def _bucket(client, name: str, region: str = "us-east-1") -> str:
    kw = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    try:
        client.create_bucket(Bucket=name, **kw)
    except ClientError as err:
        if err.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    return name


def _code(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Code"]


@pytest.mark.parametrize("who", CREDS)
def test_objects_with_awkward_keys_bodies_headers_and_checksums(server, creds, who):
    s3 = _s3(server, creds[who])
    bucket = _bucket(s3, f"compat-objects-{who}")
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode(), Metadata={"Owner": "grc team", "empty": ""},
                      ContentDisposition='attachment; filename="ü.txt"', CacheControl="max-age=60,  public")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
        assert s3.head_object(Bucket=bucket, Key=key)["Metadata"] == {"owner": "grc team", "empty": ""}
        assert s3.get_object(Bucket=bucket, Key=key, Range="bytes=1-2")["Body"].read() == key.encode()[1:3]
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    s3.put_object(Bucket=bucket, Key="nobody")
    s3.put_object(Bucket=bucket, Key="fileobj", Body=io.BytesIO(b"f" * 3000), ContentType="text/plain; charset=ü")
    s3.put_object(Bucket=bucket, Key="md5", Body=b"abc", ContentMD5="kAFQmDzST7DWlj99KOF/cg==")
    s3.put_object(Bucket=bucket, Key="tagged", Body=b"t", Tagging="k=v%20w&a=ü", ServerSideEncryption="AES256")
    for algorithm in ["CRC32", "SHA256", "SHA1"]:
        s3.put_object(Bucket=bucket, Key=algorithm, Body=io.BytesIO(b"hello"), ChecksumAlgorithm=algorithm)
        got = s3.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
        assert got["Body"].read() == b"hello" and got["Checksum" + algorithm]
    assert s3.get_object(Bucket=bucket, Key="empty")["Body"].read() == b""
    assert s3.get_object(Bucket=bucket, Key="fileobj")["Body"].read() == b"f" * 3000
    unsigned = _s3(server, creds[who], s3={"payload_signing_enabled": False})
    unsigned.put_object(Bucket=bucket, Key="unsigned", Body=b"u")
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"u"


@pytest.mark.parametrize("who", ["default", "role"])
def test_transfer_manager_multipart_copy_listing_and_delete(server, creds, who, tmp_path):
    s3 = _s3(server, creds[who])
    bucket = _bucket(s3, f"compat-transfer-{who}")
    source = tmp_path / "big.bin"
    source.write_bytes(BIG)
    s3.upload_file(str(source), bucket, "big/ü file+1.bin", Config=TRANSFER)
    s3.upload_fileobj(io.BytesIO(BIG), bucket, "big/two", Config=TRANSFER,
                      ExtraArgs={"Metadata": {"k": "v"}, "ChecksumAlgorithm": "SHA256"})
    out = tmp_path / "out.bin"
    s3.download_file(bucket, "big/ü file+1.bin", str(out), Config=TRANSFER)
    assert out.read_bytes() == BIG
    buffer = io.BytesIO()
    s3.download_fileobj(bucket, "big/two", buffer, Config=TRANSFER)
    assert buffer.getvalue() == BIG
    s3.copy({"Bucket": bucket, "Key": "big/ü file+1.bin"}, bucket, "copies/big €", Config=TRANSFER)
    s3.copy_object(Bucket=bucket, Key="copies/small", CopySource=f"{bucket}/big/two", MetadataDirective="REPLACE",
                   Metadata={"a": "b"})
    assert s3.head_object(Bucket=bucket, Key="copies/big €")["ContentLength"] == len(BIG)
    for n in range(7):
        s3.put_object(Bucket=bucket, Key=f"many/{n} +ü", Body=b"m")
    paginator = s3.get_paginator("list_objects_v2")
    pages = paginator.paginate(Bucket=bucket, Prefix="many/", PaginationConfig={"PageSize": 2})
    assert sorted(o["Key"] for p in pages for o in p.get("Contents", [])) == sorted(f"many/{n} +ü" for n in range(7))
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert {p["Prefix"] for p in top["CommonPrefixes"]} == {"big/", "copies/", "many/"}
    assert s3.list_objects(Bucket=bucket, Prefix="many/", Marker="many/3", MaxKeys=2)["MaxKeys"] == 2
    assert s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)["KeyCount"] == 11
    gone = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"many/{n} +ü"} for n in range(7)]
                                                    + [{"Key": "never-was"}]})
    assert len(gone["Deleted"]) == 8 and not gone.get("Errors")


@pytest.mark.parametrize("who", CREDS)
@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1"])
def test_presigned_urls_and_post_forms(server, creds, who, region):
    bucket = _bucket(_s3(server, creds[who], region), f"compat-presign-{who}-{region}", region)
    for version in ["s3", "s3v4"]:
        signer = _s3(server, creds[who], region, signature_version=version)
        for key in KEYS[:6]:
            put = signer.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=600)
            assert requests.put(put, data=key.encode(), timeout=10).status_code == 200, (version, key)
            get = signer.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key, "ResponseContentDisposition": 'inline; x="ü"'})
            answer = requests.get(get, headers={"Range": "bytes=0-"}, timeout=10)
            assert answer.status_code == 206 and answer.content == key.encode(), (version, key)
            head = signer.generate_presigned_url("head_object", Params={"Bucket": bucket, "Key": key})
            assert requests.head(head, timeout=10).status_code == 200
        typed = signer.generate_presigned_url("put_object", Params={
            "Bucket": bucket, "Key": "typed", "ContentType": "text/csv", "Metadata": {"a": "b"}})
        sent = requests.put(typed, data=b"a,b", headers={"Content-Type": "text/csv", "x-amz-meta-a": "b"}, timeout=10)
        assert sent.status_code == 200, sent.text
        listing = signer.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket, "Prefix": "ünï/"})
        assert requests.get(listing, timeout=10).status_code == 200
        form = signer.generate_presigned_post(bucket, "form/${filename}", Fields={"acl": "private"},
                                              Conditions=[{"acl": "private"}, ["content-length-range", 0, 100]])
        posted = requests.post(form["url"], data=form["fields"], files={"file": ("x ü.txt", b"form")}, timeout=10)
        assert posted.status_code == 204, posted.text
        assert _s3(server, creds[who], region).get_object(Bucket=bucket, Key="form/x ü.txt")["Body"].read() == b"form"


def test_dot_segment_keys_and_their_presigned_urls(server, creds):
    """Keys with ./ and ../ segments: boto3 sends them as they are. A presigned URL must reach the server unnormalised
    (urllib; requests folds /a/../b into /b, so the request names another object and real S3 refuses it too)."""
    s3 = _s3(server, creds["default"])
    bucket = _bucket(s3, "compat-dots")
    for key in ["a/../b", "./d", "../up"]:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
        for version in ["s3", "s3v4"]:
            url = _s3(server, creds["role"], signature_version=version).generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key})
            assert urllib.request.urlopen(url, timeout=10).read() == key.encode()


@pytest.mark.parametrize("minutes", [-14, -5, 5, 14])
def test_a_client_clock_minutes_off(server, creds, minutes):
    """The client machine's clock off by some minutes (botocore's SigV4 clock, not the server's): header-signed S3
    and STS calls and a presigned URL still pass (S3 allows 15 minutes)."""
    real = botocore.auth.get_current_datetime
    s3 = _s3(server, creds["role"])
    bucket = _bucket(s3, "compat-skew")
    with mock.patch("botocore.auth.get_current_datetime", lambda: real() + datetime.timedelta(minutes=minutes)):
        s3.put_object(Bucket=bucket, Key="skewed", Body=b"s")
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
        assert boto3.client("sts", **_kw(server, creds["role"])).get_caller_identity()["Account"]
        url = _s3(server, creds["role"], signature_version="s3v4").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "skewed"}, ExpiresIn=1800)
    assert requests.get(url, timeout=10).content == b"s"


def _watch(client, seen: list) -> None:
    client.meta.events.register("before-send", lambda request, **_: seen.append(
        (request.headers.get("X-Amz-Content-SHA256"), request.headers.get("Content-Encoding"))))


@pytest.mark.parametrize("who", CREDS)
def test_https_aws_chunked_trailers_and_unsigned_payloads(tls_server, creds, who):
    """Over TLS boto3 sends bodies aws-chunked with a trailing CRC32 (STREAMING-UNSIGNED-PAYLOAD-TRAILER) and, with
    checksums only when required, UNSIGNED-PAYLOAD: both pass the signature, digest and upload checks."""
    assert tls_server.url.startswith("https://127.0.0.1:")
    seen: list = []
    s3 = _s3(tls_server, creds[who], "eu-west-1")
    _watch(s3, seen)
    bucket = _bucket(s3, f"compat-tls-{who}", "eu-west-1")
    for key, body in [("ünï €", b"hello"), ("empty", b""), ("fileobj", io.BytesIO(b"x" * 70000))]:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    s3.put_object(Bucket=bucket, Key="sha", Body=b"s", ChecksumAlgorithm="SHA256")
    assert (b"STREAMING-UNSIGNED-PAYLOAD-TRAILER", b"aws-chunked") in seen
    assert s3.get_object(Bucket=bucket, Key="fileobj")["Body"].read() == b"x" * 70000
    assert s3.get_object(Bucket=bucket, Key="ünï €")["Body"].read() == b"hello"
    s3.upload_fileobj(io.BytesIO(BIG), bucket, "big ü", Config=TRANSFER)
    s3.copy({"Bucket": bucket, "Key": "big ü"}, bucket, "big copy", Config=TRANSFER)
    assert s3.get_object(Bucket=bucket, Key="big copy")["Body"].read() == BIG
    seen.clear()
    plain = _s3(tls_server, creds[who], "eu-west-1", request_checksum_calculation="when_required")
    _watch(plain, seen)
    plain.put_object(Bucket=bucket, Key="md5", Body=b"abc", ContentMD5="kAFQmDzST7DWlj99KOF/cg==")
    assert seen == [(b"UNSIGNED-PAYLOAD", None)]
    assert _code(plain.put_object, Bucket=bucket, Key="md5", Body=b"abd",
                 ContentMD5="kAFQmDzST7DWlj99KOF/cg==") == (400, "BadDigest")
    gone = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "empty"}, {"Key": "sha"}]})
    assert len(gone["Deleted"]) == 2


def _virtual(server, cred: dict, **config):
    """Virtual-host addressing (bucket.localhost:port): the name does not resolve, so boto3 goes through the sandbox
    as its HTTP proxy (the request line then carries the absolute URL)."""
    port = server.url.rsplit(":", 1)[1]
    return _s3(server, cred, endpoint=f"http://localhost:{port}", s3={"addressing_style": "virtual"},
               proxies={"http": server.url}, **config)


def test_virtual_style_with_an_ip_endpoint_is_path_style(server, creds):
    seen: list = []
    s3 = _s3(server, creds["default"], s3={"addressing_style": "virtual"})
    s3.meta.events.register("before-send", lambda request, **_: seen.append(request.url))
    _bucket(s3, "compat-ipvirtual")
    s3.put_object(Bucket="compat-ipvirtual", Key="k", Body=b"v")
    assert seen[-1] == f"{server.url}/compat-ipvirtual/k"


@pytest.mark.parametrize("who", ["default", "role", "unknown"])
def test_virtual_host_style_through_a_proxy(server, creds, who):
    s3 = _virtual(server, creds[who])
    bucket = _bucket(_s3(server, creds[who]), f"compat-virtual-{who}")
    _bucket(_s3(server, creds[who]), "compat-virtual-other")  # a bucket named like the keys' first segment
    for key in ["compat-virtual-other/ü k+%", "plain", "/lead"]:
        s3.put_object(Bucket=bucket, Key=key, Body=b"v")
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"v"
    s3.upload_fileobj(io.BytesIO(BIG), bucket, "compat-virtual-other/big", Config=TRANSFER)
    s3.copy({"Bucket": bucket, "Key": "compat-virtual-other/big"}, bucket, "big copy", Config=TRANSFER)
    assert s3.head_object(Bucket=bucket, Key="big copy")["ContentLength"] == len(BIG)
    assert s3.list_objects_v2(Bucket=bucket, Prefix="compat-virtual-other/")["KeyCount"] == 2
    assert len(s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "plain"}]})["Deleted"]) == 1
    proxies = {"http": server.url}
    for version in ["s3", "s3v4"]:
        signer = _virtual(server, creds[who], signature_version=version)
        for key in ["compat-virtual-other/ü k+%", "/lead"]:
            url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key})
            assert requests.get(url, proxies=proxies, timeout=10).content == b"v", (version, key)
        listing = signer.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
        assert requests.get(listing, proxies=proxies, timeout=10).status_code == 200
        form = signer.generate_presigned_post(bucket, "form.txt")
        assert requests.post(form["url"], data=form["fields"], files={"file": ("f", b"d")}, proxies=proxies,
                             timeout=10).status_code == 204
    assert boto3.client("sts", config=Config(proxies=proxies), **_kw(server, creds[who])).get_caller_identity()


def test_the_checks_still_refuse_on_virtual_host_and_proxied_requests(server, creds):
    bucket = _bucket(_s3(server, creds["default"]), "compat-virtual-checks")
    _bucket(_s3(server, creds["default"]), "compat-virtual-else")
    forged = dict(creds["role"], secret="forged")
    assert _code(_virtual(server, forged).list_objects_v2, Bucket=bucket) == (403, "SignatureDoesNotMatch")
    assert _code(_s3(server, forged, proxies={"http": server.url}).list_objects_v2, Bucket=bucket) == (
        403, "SignatureDoesNotMatch")
    s3 = _virtual(server, creds["default"])
    s3.put_object(Bucket=bucket, Key="k", Body=b"v")
    for version in ["s3", "s3v4"]:
        url = _virtual(server, creds["default"], signature_version=version).generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "k"})
        swapped = requests.get(url.replace("/k?", "/other?"), proxies={"http": server.url}, timeout=10)
        assert swapped.status_code == 403 and b"SignatureDoesNotMatch" in swapped.content
    upload = s3.create_multipart_upload(Bucket=bucket, Key="compat-virtual-else/x")["UploadId"]
    s3.abort_multipart_upload(Bucket=bucket, Key="compat-virtual-else/x", UploadId=upload)
    assert _code(s3.upload_part, Bucket=bucket, Key="compat-virtual-else/x", UploadId=upload, PartNumber=1,
                 Body=b"p") == (404, "NoSuchUpload")
    assert _code(s3.put_object, Bucket=bucket, Key="k" * 1025, Body=b"") == (400, "KeyTooLongError")

