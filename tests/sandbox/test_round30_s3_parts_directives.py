"""Round 30: S3 with boto3 unchanged (its default checksums on), where the sandbox answered otherwise than S3:

- a part with botocore's default CRC32 went into an upload made with ChecksumAlgorithm=SHA256 (S3: 400 InvalidRequest);
- ListParts left out the upload's ChecksumAlgorithm / ChecksumType and each part's checksum, and its root element was
  moto's ListPartsResponse (S3: ListPartsResult), so a resumed upload could not complete with part checksums;
- CopyObject with MetadataDirective / TaggingDirective other than COPY / REPLACE copied (S3: 400 InvalidArgument);
- GetObjectLegalHold of a version never held answered 200 with no Status (S3: 404 NoSuchObjectLockConfiguration);
- an answer the sandbox made itself with its own Content-Length (PutObjectLockConfiguration) sent two of them."""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    s = MotoAwsServer()
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def s3(server):
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))


def _code(call, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]["Code"]


def test_part_checksum_must_match_the_uploads_algorithm(s3):
    s3.create_bucket(Bucket="r30-parts")
    upload = s3.create_multipart_upload(Bucket="r30-parts", Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    # botocore's default (CRC32) into a SHA256 upload
    assert _code(s3.upload_part, Bucket="r30-parts", Key="k", UploadId=upload, PartNumber=1, Body=b"a" * 10) == (
        400, "InvalidRequest")
    sha = s3.upload_part(Bucket="r30-parts", Key="k", UploadId=upload, PartNumber=1, Body=b"a" * 10,
                         ChecksumAlgorithm="SHA256")
    assert sha["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"a" * 10).digest()).decode()
    # an upload made with no algorithm takes botocore's default CRC32 parts
    plain = s3.create_multipart_upload(Bucket="r30-parts", Key="p")["UploadId"]
    assert "ChecksumCRC32" in s3.upload_part(Bucket="r30-parts", Key="p", UploadId=plain, PartNumber=1, Body=b"x")


def test_list_parts_names_the_algorithm_and_each_parts_checksum_and_a_resumed_upload_completes(s3):
    s3.create_bucket(Bucket="r30-resume")
    upload = s3.create_multipart_upload(Bucket="r30-resume", Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    bodies = [b"a" * (5 * MB), b"tail"]
    for number, body in enumerate(bodies, 1):
        s3.upload_part(Bucket="r30-resume", Key="k", UploadId=upload, PartNumber=number, Body=body,
                       ChecksumAlgorithm="SHA256")
    # the uploader restarts: what it knows of its parts comes from ListParts alone
    listed = s3.list_parts(Bucket="r30-resume", Key="k", UploadId=upload)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("SHA256", "COMPOSITE")
    assert [p["ChecksumSHA256"] for p in listed["Parts"]] == [
        base64.b64encode(hashlib.sha256(b).digest()).decode() for b in bodies]
    page = s3.list_parts(Bucket="r30-resume", Key="k", UploadId=upload, MaxParts=1)
    assert page["IsTruncated"] and len(page["Parts"]) == 1 and "ChecksumSHA256" in page["Parts"][0]
    parts = [{k: p[k] for k in ("PartNumber", "ETag", "ChecksumSHA256")} for p in listed["Parts"]]
    done = s3.complete_multipart_upload(Bucket="r30-resume", Key="k", UploadId=upload,
                                        MultipartUpload={"Parts": parts})
    assert done["ETag"].endswith('-2"')
    assert s3.get_object(Bucket="r30-resume", Key="k")["Body"].read() == b"".join(bodies)


def test_list_parts_root_element_is_s3s(server, s3):
    s3.create_bucket(Bucket="r30-root")
    upload = s3.create_multipart_upload(Bucket="r30-root", Key="k")["UploadId"]
    s3.upload_part(Bucket="r30-root", Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    url = s3.generate_presigned_url("list_parts", Params={"Bucket": "r30-root", "Key": "k", "UploadId": upload})
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        conn.request("GET", f"{where.path}?{where.query}")
        body = conn.getresponse().read()
    finally:
        conn.close()
    assert b"<ListPartsResult" in body and b"</ListPartsResult>" in body and b"ListPartsResponse" not in body
    assert b"<ChecksumAlgorithm>" not in body  # an upload made with none names none


@pytest.mark.parametrize("directive", ["MetadataDirective", "TaggingDirective"])
def test_copy_with_an_unknown_directive_is_refused(s3, directive):
    bucket = f"r30-copy-{directive.lower()}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="src", Body=b"s", Metadata={"a": "1"})
    assert _code(s3.copy_object, Bucket=bucket, Key="dst", CopySource=f"{bucket}/src",
                 **{directive: "copy"}) == (400, "InvalidArgument")
    assert _code(s3.head_object, Bucket=bucket, Key="dst") == (404, "404")
    s3.copy_object(Bucket=bucket, Key="ok", CopySource=f"{bucket}/src", **{directive: "REPLACE"})


def test_legal_hold_never_set_is_404_and_off_once_set_reads_off(s3):
    s3.create_bucket(Bucket="r30-hold", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="r30-hold", Key="k", Body=b"e")
    assert _code(s3.get_object_legal_hold, Bucket="r30-hold", Key="k") == (404, "NoSuchObjectLockConfiguration")
    s3.put_object_legal_hold(Bucket="r30-hold", Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="r30-hold", Key="k")["LegalHold"] == {"Status": "ON"}
    s3.put_object_legal_hold(Bucket="r30-hold", Key="k", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket="r30-hold", Key="k")["LegalHold"] == {"Status": "OFF"}
    assert _code(s3.get_object_legal_hold, Bucket="r30-hold", Key="nosuch")[0] == 404


def test_sandbox_answers_carry_one_content_length(s3):
    s3.create_bucket(Bucket="r30-len", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="r30-len", Key="k", Body=b"e")
    answer = s3.put_object_lock_configuration(Bucket="r30-len", ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-length"] == "0"
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2)
    answer = s3.put_object_retention(Bucket="r30-len", Key="k", Retention={"Mode": "GOVERNANCE",
                                                                           "RetainUntilDate": until})
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-length"] == "0"
