"""Round 24: S3 with boto3 unchanged where the sandbox (moto underneath) differed from S3.

- ListMultipartUploads' ``Initiated`` came from a module-level dict of every upload id ever seen, never pruned; now
  the time is CreateMultipartUpload's and lives on the upload itself (gone with it when completed or aborted).
- GET / HEAD ``partNumber`` past the parts: moto answered 500 (or the whole object); S3: 416 InvalidPartNumber.
- a Range header moto could not split: 500; S3 serves the whole object.
- If-Match true wins over a false If-Unmodified-Since (moto: 412); If-None-Match decides without If-Modified-Since.
- CompleteMultipartUpload with parts out of order: S3 400 InvalidPartOrder (moto: EntityTooSmall).
- a tag set naming a key twice: 400 InvalidTag (moto kept one); retention / legal hold on a bucket without Object
  Lock: 400 InvalidRequest (moto: 500)."""

from __future__ import annotations

import datetime
import gc
import os
import time

import pytest
import requests
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from sandbox.aws import s3_uploads
from tests.evidence.aws import s3_client

BUCKET = "round24-reads"
MB = 1024 * 1024
HOUR = datetime.timedelta(hours=1)

pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def server(s3_module_server):
    return s3_module_server


@pytest.fixture(scope="module")
def s3(server):
    return s3_client(server, BUCKET)


def _refused(call, **kwargs) -> tuple[int, dict]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]


def _module_tables() -> int:
    """How many entries the s3_uploads module holds in dicts / sets / lists of its own."""
    return sum(len(v) for v in vars(s3_uploads).values() if isinstance(v, dict | set | list) and v is not
               s3_uploads.PARAMS)


def test_initiated_is_creation_time_and_nothing_is_kept_per_upload(s3):
    made = datetime.datetime.now(datetime.UTC)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="stamp/one")["UploadId"]
    time.sleep(1.1)
    listed = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="stamp/")["Uploads"]
    assert [u["UploadId"] for u in listed] == [upload]
    assert abs((listed[0]["Initiated"] - made).total_seconds()) < 1.0  # when made, not when first listed
    again = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="stamp/")["Uploads"][0]["Initiated"]
    assert again == listed[0]["Initiated"]
    before = _module_tables()
    for n in range(30):  # made, listed, then completed or aborted: nothing stays behind in the module
        key = f"stamp/many-{n}"
        uid = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        s3.list_multipart_uploads(Bucket=BUCKET, Prefix="stamp/many")
        if n % 2:
            s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
        else:
            etag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=1, Body=b"x")["ETag"]
            s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid,
                                         MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    gc.collect()
    assert _module_tables() == before
    assert not hasattr(s3_uploads, "_SEEN")
    left = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="stamp/")["Uploads"]
    assert [u["UploadId"] for u in left] == [upload]
    s3.abort_multipart_upload(Bucket=BUCKET, Key="stamp/one", UploadId=upload)


def _two_part_object(s3, key: str) -> list[dict]:
    uid = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    parts = [{"PartNumber": n, "ETag": s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n,
                                                      Body=body)["ETag"]}
             for n, body in ((1, b"a" * 5 * MB), (2, b"b" * 100))]
    status, error = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=uid,
                             MultipartUpload={"Parts": parts[::-1]})
    assert (status, error["Code"]) == (400, "InvalidPartOrder")
    status, error = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=uid,
                             MultipartUpload={"Parts": [parts[0], parts[0], parts[1]]})
    assert (status, error["Code"]) == (400, "InvalidPartOrder")
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid, MultipartUpload={"Parts": parts})
    return parts


def test_part_numbers_past_the_parts(s3):
    _two_part_object(s3, "parts/two")
    second = s3.get_object(Bucket=BUCKET, Key="parts/two", PartNumber=2)
    assert (second["ResponseMetadata"]["HTTPStatusCode"], second["ContentRange"], second["PartsCount"]) == (
        206, f"bytes {5 * MB}-{5 * MB + 99}/{5 * MB + 100}", 2)
    assert second["Body"].read() == b"b" * 100
    assert s3.get_object(Bucket=BUCKET, Key="parts/two", PartNumber=1)["ContentLength"] == 5 * MB
    status, error = _refused(s3.get_object, Bucket=BUCKET, Key="parts/two", PartNumber=1, Range="bytes=0-1")
    assert (status, error["Code"]) == (400, "InvalidRequest")
    assert s3.head_object(Bucket=BUCKET, Key="parts/two", PartNumber=1)["PartsCount"] == 2
    status, error = _refused(s3.get_object, Bucket=BUCKET, Key="parts/two", PartNumber=3)
    assert (status, error["Code"], error["ActualPartCount"], error["PartNumberRequested"]) == (
        416, "InvalidPartNumber", "2", "3")
    assert _refused(s3.head_object, Bucket=BUCKET, Key="parts/two", PartNumber=3)[0] == 416
    s3.put_object(Bucket=BUCKET, Key="parts/whole", Body=b"whole")
    assert s3.get_object(Bucket=BUCKET, Key="parts/whole", PartNumber=1)["Body"].read() == b"whole"
    status, error = _refused(s3.get_object, Bucket=BUCKET, Key="parts/whole", PartNumber=2)
    assert (status, error["Code"], error["ActualPartCount"]) == (416, "InvalidPartNumber", "1")
    status, error = _refused(s3.get_object, Bucket=BUCKET, Key="parts/whole", PartNumber=10001)
    assert (status, error["Code"]) == (400, "InvalidArgument")


def test_ranges_moto_could_not_split_are_ignored(s3, server):
    s3.put_object(Bucket=BUCKET, Key="range", Body=b"0123456789")
    for header in ("junk", "bytes=1-2=3", "items=0-1"):
        got = s3.get_object(Bucket=BUCKET, Key="range", Range=header)
        assert (got["ResponseMetadata"]["HTTPStatusCode"], got["Body"].read()) == (200, b"0123456789")
    got = s3.get_object(Bucket=BUCKET, Key="range", Range="bytes=2-4")
    assert (got["ContentRange"], got["Body"].read()) == ("bytes 2-4/10", b"234")


def test_conditional_reads_as_s3_documents(s3):
    s3.put_object(Bucket=BUCKET, Key="cond", Body=b"conditions")
    head = s3.head_object(Bucket=BUCKET, Key="cond")
    etag, modified = head["ETag"], head["LastModified"]
    for call in (s3.get_object, s3.head_object):
        # If-Match true, If-Unmodified-Since false: 200
        assert call(Bucket=BUCKET, Key="cond", IfMatch=etag, IfUnmodifiedSince=modified - HOUR)[
            "ResponseMetadata"]["HTTPStatusCode"] == 200
        assert call(Bucket=BUCKET, Key="cond", IfMatch=etag.strip('"'))["ETag"] == etag  # unquoted, HEAD too
        assert call(Bucket=BUCKET, Key="cond", IfMatch=f'"other", {etag}')["ETag"] == etag
        assert _refused(call, Bucket=BUCKET, Key="cond", IfMatch='"other"')[0] == 412
        assert _refused(call, Bucket=BUCKET, Key="cond", IfUnmodifiedSince=modified - HOUR)[0] == 412
        # If-None-Match false, If-Modified-Since true: 304 (documented); If-None-Match true decides alone
        assert _refused(call, Bucket=BUCKET, Key="cond", IfNoneMatch=etag, IfModifiedSince=modified - HOUR)[0] == 304
        assert call(Bucket=BUCKET, Key="cond", IfNoneMatch='"other"', IfModifiedSince=modified + HOUR)[
            "ResponseMetadata"]["HTTPStatusCode"] == 200
        assert _refused(call, Bucket=BUCKET, Key="cond", IfNoneMatch="*")[0] == 304
        assert _refused(call, Bucket=BUCKET, Key="cond", IfModifiedSince=modified + HOUR)[0] == 304


def test_unreadable_dates_are_no_condition(s3, server):
    s3.put_object(Bucket=BUCKET, Key="dates", Body=b"d")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "dates"})
    for name in ("If-Modified-Since", "If-Unmodified-Since"):
        got = requests.get(url, headers={name: "yesterday"}, timeout=10)
        assert (got.status_code, got.content) == (200, b"d")


def test_tag_sets_and_object_lock(s3):
    s3.put_object(Bucket=BUCKET, Key="tags", Body=b"t")
    twice = {"TagSet": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]}
    status, error = _refused(s3.put_object_tagging, Bucket=BUCKET, Key="tags", Tagging=twice)
    assert (status, error["Code"]) == (400, "InvalidTag")
    assert _refused(s3.put_bucket_tagging, Bucket=BUCKET, Tagging=twice)[1]["Code"] == "InvalidTag"
    s3.put_object_tagging(Bucket=BUCKET, Key="tags", Tagging={"TagSet": [{"Key": "k", "Value": "1"}]})
    assert s3.get_object_tagging(Bucket=BUCKET, Key="tags")["TagSet"] == [{"Key": "k", "Value": "1"}]
    for call, extra in ((s3.get_object_retention, {}), (s3.get_object_legal_hold, {}),
                        (s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
                        (s3.put_object_retention, {"Retention": {"Mode": "GOVERNANCE", "RetainUntilDate":
                                                   datetime.datetime.now(datetime.UTC) + HOUR}})):
        status, error = _refused(call, Bucket=BUCKET, Key="tags", **extra)
        assert (status, error["Code"], error["Message"]) == (400, "InvalidRequest",
                                                             "Bucket is missing Object Lock Configuration")
    s3.create_bucket(Bucket="round24-locked", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="round24-locked", Key="held", Body=b"h")
    s3.put_object_legal_hold(Bucket="round24-locked", Key="held", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket="round24-locked", Key="held")["LegalHold"]["Status"] == "ON"
    s3.put_object_legal_hold(Bucket="round24-locked", Key="held", LegalHold={"Status": "OFF"})


def test_transfer_manager_threads_round_trip(s3, tmp_path):
    data = os.urandom(16 * MB + 321)
    source, target = tmp_path / "in.bin", tmp_path / "out.bin"
    source.write_bytes(data)
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=4)
    s3.upload_file(str(source), BUCKET, "transfer/big", Config=config)
    assert s3.head_object(Bucket=BUCKET, Key="transfer/big")["ETag"].endswith('-4"')
    s3.download_file(BUCKET, "transfer/big", str(target), Config=config)
    assert target.read_bytes() == data
    assert s3.list_multipart_uploads(Bucket=BUCKET, Prefix="transfer/").get("Uploads", []) == []
