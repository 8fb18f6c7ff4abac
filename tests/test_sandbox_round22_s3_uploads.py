"""Round 22 audit of the S3 sandbox with boto3 unchanged, multipart uploads and Content-MD5: moto answered 500 (which
boto3 retries) to a part or a completion for an upload id that was aborted or never made, took a part for another
key's upload, answered NoSuchUpload for part number 0 and stored a body whose Content-MD5 did not match. Now S3's
404 NoSuchUpload, 400 InvalidArgument, 400 BadDigest / InvalidDigest."""

from __future__ import annotations

import base64
import hashlib
import io
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

BUCKET = "round22-uploads"


@pytest.fixture(scope="module")
def s3():
    server = MotoAwsServer()
    server.start()
    client = boto3.client(
        "s3",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}),
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


def _refused(call, **kwargs) -> tuple[int, dict]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]


def test_parts_and_completion_of_a_gone_upload_are_no_such_upload(s3):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="big.bin")["UploadId"]
    s3.abort_multipart_upload(Bucket=BUCKET, Key="big.bin", UploadId=upload)
    status, err = _refused(s3.upload_part, Bucket=BUCKET, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"x")
    assert status == 404 and err["Code"] == "NoSuchUpload" and err["UploadId"] == upload
    status, err = _refused(
        s3.complete_multipart_upload,
        Bucket=BUCKET,
        Key="big.bin",
        UploadId="never-made",
        MultipartUpload={"Parts": [{"ETag": '"x"', "PartNumber": 1}]},
    )
    assert (status, err["Code"]) == (404, "NoSuchUpload")
    status, err = _refused(s3.list_parts, Bucket=BUCKET, Key="big.bin", UploadId=upload)
    assert (status, err["Code"]) == (404, "NoSuchUpload")


def test_an_upload_id_belongs_to_its_key_and_part_numbers_are_bounded(s3):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mine.bin")["UploadId"]
    status, err = _refused(s3.upload_part, Bucket=BUCKET, Key="other.bin", UploadId=upload, PartNumber=1, Body=b"x")
    assert (status, err["Code"]) == (404, "NoSuchUpload")
    for number in (0, 10001):
        status, err = _refused(
            s3.upload_part, Bucket=BUCKET, Key="mine.bin", UploadId=upload, PartNumber=number, Body=b"x"
        )
        assert (status, err["Code"], err["ArgumentName"]) == (400, "InvalidArgument", "partNumber")
    part = s3.upload_part(Bucket=BUCKET, Key="mine.bin", UploadId=upload, PartNumber=1, Body=b"only part")
    done = s3.complete_multipart_upload(
        Bucket=BUCKET,
        Key="mine.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]},
    )
    assert done["ETag"].endswith('-1"') and s3.get_object(Bucket=BUCKET, Key="mine.bin")["Body"].read() == b"only part"
    status, err = _refused(s3.upload_part, Bucket=BUCKET, Key="mine.bin", UploadId=upload, PartNumber=2, Body=b"y")
    assert (status, err["Code"]) == (404, "NoSuchUpload")  # completed: the id is spent


def test_transfer_manager_multipart_still_works(s3):
    data = bytes(range(256)) * (6 * 4096)  # 6 MiB: two parts at a 5 MiB threshold and chunk size
    config = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)
    s3.upload_fileobj(io.BytesIO(data), BUCKET, "managed.bin", Config=config)
    out = io.BytesIO()
    s3.download_fileobj(BUCKET, "managed.bin", out)
    assert out.getvalue() == data and s3.head_object(Bucket=BUCKET, Key="managed.bin")["ETag"].endswith('-2"')


def test_content_md5_must_match_the_body(s3):
    wrong = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    status, err = _refused(s3.put_object, Bucket=BUCKET, Key="md5.txt", Body=b"evidence", ContentMD5=wrong)
    assert (status, err["Code"]) == (400, "BadDigest")
    assert _refused(s3.head_object, Bucket=BUCKET, Key="md5.txt")[0] == 404  # nothing stored
    status, err = _refused(s3.put_object, Bucket=BUCKET, Key="md5.txt", Body=b"evidence", ContentMD5="not-md5")
    assert (status, err["Code"]) == (400, "InvalidDigest")
    right = base64.b64encode(hashlib.md5(b"evidence").digest()).decode()
    assert s3.put_object(Bucket=BUCKET, Key="md5.txt", Body=b"evidence", ContentMD5=right)["ETag"]
    assert s3.get_object(Bucket=BUCKET, Key="md5.txt")["Body"].read() == b"evidence"


def test_keys_over_1024_bytes_are_refused(s3):
    status, err = _refused(s3.put_object, Bucket=BUCKET, Key="é" * 513, Body=b"x")  # 1026 bytes of UTF-8
    assert (status, err["Code"]) == (400, "KeyTooLongError")
    status, err = _refused(s3.create_multipart_upload, Bucket=BUCKET, Key="k" * 1025)
    assert (status, err["Code"]) == (400, "KeyTooLongError")
    assert s3.put_object(Bucket=BUCKET, Key="k" * 1024, Body=b"x")["ETag"]


def test_list_continuation_tokens_must_be_ones_s3_gave(s3):
    for n in range(5):
        s3.put_object(Bucket=BUCKET, Key=f"page/{n}", Body=b"p")
    first = s3.list_objects_v2(Bucket=BUCKET, Prefix="page/", MaxKeys=2)
    second = s3.list_objects_v2(
        Bucket=BUCKET, Prefix="page/", MaxKeys=2, ContinuationToken=first["NextContinuationToken"]
    )
    assert [o["Key"] for o in second["Contents"]] == ["page/2", "page/3"]
    status, err = _refused(s3.list_objects_v2, Bucket=BUCKET, ContinuationToken="not-a-token")
    assert (status, err["Code"], err["Message"]) == (
        400,
        "InvalidArgument",
        "The continuation token provided is incorrect",
    )


def test_listings_return_at_most_1000_keys_and_delete_objects_takes_1000(s3):
    keys = [f"many/{n:04d}" for n in range(1005)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=BUCKET, Key=k, Body=b""), keys))
    first = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", MaxKeys=5000)
    assert len(first["Contents"]) == 1000 and first["IsTruncated"] is True
    rest = s3.list_objects_v2(Bucket=BUCKET, Prefix="many/", ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in rest["Contents"]] == keys[1000:]
    assert len(s3.list_objects(Bucket=BUCKET, Prefix="many/", MaxKeys=2000)["Contents"]) == 1000
    status, err = _refused(s3.delete_objects, Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
    assert (status, err["Code"]) == (400, "MalformedXML")
    assert s3.head_object(Bucket=BUCKET, Key=keys[0])["ContentLength"] == 0  # nothing was deleted
    done = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys[:1000]]})
    assert len(done["Deleted"]) == 1000 and s3.list_objects_v2(Bucket=BUCKET, Prefix="many/")["KeyCount"] == 5


def test_quiet_delete_objects_answers_only_errors(s3):
    for key in ("quiet/a", "quiet/b"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"q")
    loud = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "quiet/a"}]})
    assert [d["Key"] for d in loud["Deleted"]] == ["quiet/a"]
    quiet = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "quiet/b"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="quiet/")["KeyCount"] == 0
