"""Round 25: boto3's and s3transfer's own integration suites (tests/integration of boto/boto3 and boto/s3transfer, run
against the sandbox with AWS_ENDPOINT_URL_S3 and AWS_CA_BUNDLE, boto3 unchanged) found two places where the sandbox
answered otherwise than S3:

- AbortMultipartUpload of an upload just completed was 404 NoSuchUpload (S3: 204; boto3's multipart test aborts the
  upload it completed, as cleanup);
- SSE-C (customer-provided keys) was ignored: HEAD of an object uploaded with a key carried no
  SSECustomerAlgorithm, and the object could be read without the key;
- over HTTPS, a write the sandbox refused itself (a part for a gone upload: 404 NoSuchUpload) reached boto3 as
  SSLError (its body, sent after werkzeug's 100 Continue, was left unread): the sandbox now reads it first.

Here boto3 reaches the sandbox the way those suites do: endpoint, CA bundle, keys and region from the environment."""

from __future__ import annotations

import base64
import datetime
import hashlib
import io
import ipaddress
import os
import ssl

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

MB = 1024 * 1024
KEY = bytes(range(32))
SSE = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
OTHER = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": bytes(32)}


def _certificate(tmp) -> tuple[ssl.SSLContext, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True).sign(key, hashes.SHA256()))
    crt, pem = tmp / "ca.crt", tmp / "key.pem"
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(crt), str(pem))
    return context, str(crt)


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    context, bundle = _certificate(tmp_path_factory.mktemp("tls"))
    server = MotoAwsServer(ssl_context=context)
    server.start()
    yield server, bundle
    server.stop()


@pytest.fixture(scope="module")
def plain():
    server = MotoAwsServer()
    server.start()
    yield server
    server.stop()


def _env(monkeypatch, url: str, bundle: str | None = None) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    if bundle:
        monkeypatch.setenv("AWS_CA_BUNDLE", bundle)


@pytest.fixture
def s3(tls, monkeypatch, request):
    server, bundle = tls
    _env(monkeypatch, server.url, bundle)
    client = boto3.client("s3")
    bucket = "round25-" + hashlib.md5(request.node.name.encode()).hexdigest()[:12]
    client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return client, bucket


def _code(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Code"]


def test_abort_after_complete_is_204_as_in_boto3s_multipart_test(s3):
    client, bucket = s3
    mpu = boto3.resource("s3").Bucket(bucket).Object("mp-test.txt").initiate_multipart_upload()
    etag = mpu.Part(1).upload(Body="hello, world!")["ETag"]
    mpu.complete(MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert mpu.abort()["ResponseMetadata"]["HTTPStatusCode"] == 204  # boto3's cleanup
    assert client.get_object(Bucket=bucket, Key="mp-test.txt")["Body"].read() == b"hello, world!"
    # an aborted upload aborted again: 204 too; a part for it or a completion of it: still 404 NoSuchUpload
    upload = client.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    client.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload)
    assert client.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload)[
        "ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _code(client.upload_part, Bucket=bucket, Key="gone", UploadId=upload, PartNumber=1, Body=b"x") == (
        404, "NoSuchUpload")
    # never made, or made for another key: 404 NoSuchUpload
    assert _code(client.abort_multipart_upload, Bucket=bucket, Key="gone", UploadId="nobody-made-this") == (
        404, "NoSuchUpload")
    assert _code(client.abort_multipart_upload, Bucket=bucket, Key="other", UploadId=upload) == (
        404, "NoSuchUpload")


def test_sse_c_multipart_upload_and_head_as_in_boto3s_transfer_test(s3):
    client, bucket = s3
    client.upload_fileobj(io.BytesIO(b"a" * 6 * MB), bucket, "6mb.txt", ExtraArgs=SSE,
                          Config=TransferConfig(multipart_threshold=5 * MB))
    head = client.head_object(Bucket=bucket, Key="6mb.txt", **SSE)
    assert head["SSECustomerAlgorithm"] == "AES256"
    assert head["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(KEY).digest()).decode()
    assert head["ContentLength"] == 6 * MB
    out = io.BytesIO()
    client.download_fileobj(bucket, "6mb.txt", out, ExtraArgs=SSE, Config=TransferConfig(multipart_threshold=MB))
    assert out.getvalue() == b"a" * 6 * MB


def test_sse_c_object_is_read_only_with_its_key(s3):
    client, bucket = s3
    put = client.put_object(Bucket=bucket, Key="k", Body=b"hello world", **SSE)
    assert put["SSECustomerAlgorithm"] == "AES256"
    assert client.get_object(Bucket=bucket, Key="k", **SSE)["Body"].read() == b"hello world"
    assert _code(client.get_object, Bucket=bucket, Key="k") == (400, "InvalidRequest")
    assert _code(client.head_object, Bucket=bucket, Key="k")[0] == 400
    assert _code(client.get_object, Bucket=bucket, Key="k", **OTHER) == (403, "AccessDenied")
    client.put_object(Bucket=bucket, Key="plain", Body=b"x")
    assert _code(client.get_object, Bucket=bucket, Key="plain", **SSE) == (400, "InvalidRequest")
    # an overwrite without a key is read without one
    client.put_object(Bucket=bucket, Key="k", Body=b"clear")
    assert client.get_object(Bucket=bucket, Key="k")["Body"].read() == b"clear"


def test_sse_c_copy_needs_the_source_key_and_keeps_the_destination_key(s3):
    client, bucket = s3
    client.put_object(Bucket=bucket, Key="src", Body=b"secret", **SSE)
    source = {"Bucket": bucket, "Key": "src"}
    assert _code(client.copy_object, Bucket=bucket, Key="dst", CopySource=source) == (400, "InvalidRequest")
    client.copy_object(Bucket=bucket, Key="dst", CopySource=source, CopySourceSSECustomerAlgorithm="AES256",
                       CopySourceSSECustomerKey=KEY)
    assert client.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"secret"  # copied without a key
    client.copy(source, bucket, "dst2", ExtraArgs={"CopySourceSSECustomerAlgorithm": "AES256",
                                                   "CopySourceSSECustomerKey": KEY, **OTHER})
    assert client.get_object(Bucket=bucket, Key="dst2", **OTHER)["Body"].read() == b"secret"
    assert _code(client.get_object, Bucket=bucket, Key="dst2", **SSE) == (403, "AccessDenied")


def test_sse_c_parts_carry_the_uploads_key(s3):
    client, bucket = s3
    upload = client.create_multipart_upload(Bucket=bucket, Key="mp", **SSE)["UploadId"]
    assert _code(client.upload_part, Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x") == (
        400, "InvalidRequest")
    etag = client.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"x", **SSE)["ETag"]
    done = client.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert "SSECustomerAlgorithm" not in done  # not among CompleteMultipartUpload's response headers
    assert client.head_object(Bucket=bucket, Key="mp", **SSE)["SSECustomerAlgorithm"] == "AES256"
    assert _code(client.get_object, Bucket=bucket, Key="mp") == (400, "InvalidRequest")


def test_sse_c_refused_for_bad_keys_and_over_plain_http(s3, plain, monkeypatch):
    client, bucket = s3
    wrong_md5 = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(KEY).decode(),
                 "SSECustomerKeyMD5": "AAAAAAAAAAAAAAAAAAAAAA=="}  # given: botocore sends the key as it is
    assert _code(client.put_object, Bucket=bucket, Key="x", Body=b"x", **wrong_md5) == (400, "InvalidArgument")
    assert _code(client.put_object, Bucket=bucket, Key="x", Body=b"x", SSECustomerAlgorithm="AES256",
                 SSECustomerKey=b"short") == (400, "InvalidArgument")
    assert _code(client.put_object, Bucket=bucket, Key="x", Body=b"x", SSECustomerAlgorithm="aws:kms",
                 SSECustomerKey=KEY) == (400, "InvalidEncryptionAlgorithmError")
    _env(monkeypatch, plain.url)
    http = boto3.client("s3")
    http.create_bucket(Bucket="round25-plain", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    assert _code(http.put_object, Bucket="round25-plain", Key="x", Body=b"x", **SSE) == (400, "InvalidRequest")
    assert http.put_object(Bucket="round25-plain", Key="x", Body=b"x")["ResponseMetadata"]["HTTPStatusCode"] == 200
