"""Round 32: boto3 (and requests on presigned URLs) against the S3 emulator, calls an evidence checker makes.

Fixed in the emulator (``sandbox/aws/s3_parts.py``): CompleteMultipartUpload of an upload made with a composite
checksum took parts with no checksum or the wrong one (S3: 400 InvalidRequest naming the part / 400 InvalidPart),
and UploadPartCopy took a source range past the object's end (S3: 400 InvalidArgument naming its size). The rest
pins behaviour boto3 relies on: copy directives, presigned GET / PUT with keys needing encoding, listings with a
delimiter, tokens and StartAfter over unicode keys, HEAD with Range and preconditions, tags, version listings
paged, quiet deletes."""

from __future__ import annotations

import base64
import datetime
import hashlib

import pytest
import requests
from botocore.exceptions import ClientError

from tests.evidence.aws import s3_client

BUCKET = "round32-clients"
MB = 1024 * 1024
KEYS = ["inbox/ü ñ+&?#.pdf", "inbox/100% done.txt", "inbox/a%2Fb.txt", "inbox/\u202etxt.exe", "inbox/😀/e.csv",
        "inbox/tab\there.txt", "inbox/dir/x.txt", "inbox/dir/y.txt", "inbox/é/1.txt"]

pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def s3(s3_module_server):
    client = s3_client(s3_module_server, BUCKET)
    for key in KEYS:
        client.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
    return client


def _refused(call, **kwargs) -> tuple[int, dict]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]


def _sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_complete_needs_each_parts_checksum_when_the_upload_named_one(s3):
    key = "mp/sha256.bin"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    bodies = [b"a" * (5 * MB), b"b" * 100]
    parts = [s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=n, Body=body,
                            ChecksumAlgorithm="SHA256") for n, body in enumerate(bodies, 1)]
    bare = [{"PartNumber": n, "ETag": p["ETag"]} for n, p in enumerate(parts, 1)]
    status, error = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
                             MultipartUpload={"Parts": [{**bare[0], "ChecksumSHA256": parts[0]["ChecksumSHA256"]},
                                                        bare[1]]})
    assert (status, error["Code"]) == (400, "InvalidRequest") and "missing for part 2" in error["Message"]
    wrong = [{**bare[0], "ChecksumSHA256": parts[0]["ChecksumSHA256"]}, {**bare[1], "ChecksumSHA256": _sha256(b"c")}]
    status, error = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
                             MultipartUpload={"Parts": wrong})
    assert (status, error["Code"]) == (400, "InvalidPart")
    right = [{**b, "ChecksumSHA256": p["ChecksumSHA256"]} for b, p in zip(bare, parts, strict=True)]
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": right})
    assert done["ChecksumSHA256"].endswith("-2")
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"".join(bodies)
    plain = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/plain.bin")["UploadId"]  # no algorithm: none needed
    etag = s3.upload_part(Bucket=BUCKET, Key="mp/plain.bin", UploadId=plain, PartNumber=1, Body=b"x")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/plain.bin", UploadId=plain,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})


def test_part_copies_take_ranges_within_the_source(s3):
    source = bytes(range(256)) * (24 * 1024)  # 6 MiB
    s3.put_object(Bucket=BUCKET, Key="copy/source.bin", Body=source)
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="copy/joined.bin")["UploadId"]
    common = {"Bucket": BUCKET, "Key": "copy/joined.bin", "UploadId": upload,
              "CopySource": {"Bucket": BUCKET, "Key": "copy/source.bin"}}
    for wanted in (f"bytes=0-{len(source)}", "bytes=10-5"):
        status, error = _refused(s3.upload_part_copy, PartNumber=1, CopySourceRange=wanted, **common)
        assert (status, error["Code"]) == (400, "InvalidArgument")
        assert error["Message"] == f"Range specified is not valid for source object of size: {len(source)}"
    status, error = _refused(s3.upload_part_copy, PartNumber=1, CopySourceRange="bytes=5-", **common)
    assert (status, error["Code"]) == (400, "InvalidArgument") and "bytes=first-last" in error["Message"]
    first = s3.upload_part_copy(PartNumber=1, CopySourceRange=f"bytes=0-{5 * MB - 1}", **common)
    last = s3.upload_part_copy(PartNumber=2, CopySourceRange=f"bytes={5 * MB}-{len(source) - 1}", **common)
    page = s3.list_parts(Bucket=BUCKET, Key="copy/joined.bin", UploadId=upload, MaxParts=1)
    rest = s3.list_parts(Bucket=BUCKET, Key="copy/joined.bin", UploadId=upload, MaxParts=1,
                         PartNumberMarker=page["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in page["Parts"] + rest["Parts"]] == [1, 2] and not rest["IsTruncated"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="copy/joined.bin", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": last["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=BUCKET, Key="copy/joined.bin")["Body"].read() == source
    assert s3.get_object(Bucket=BUCKET, Key="copy/joined.bin", PartNumber=2)["ContentLength"] == len(source) - 5 * MB


def test_copy_directives_keep_or_replace_metadata_and_tags(s3):
    s3.put_object(Bucket=BUCKET, Key="c/src", Body=b"evidence", Metadata={"sha256": "abc"}, ContentType="text/plain",
                  Tagging="class=policy")
    source = {"Bucket": BUCKET, "Key": "c/src"}
    s3.copy_object(Bucket=BUCKET, Key="c/kept", CopySource=source, Metadata={"other": "1"})  # COPY: ignored
    head = s3.head_object(Bucket=BUCKET, Key="c/kept")
    assert (head["Metadata"], head["ContentType"]) == ({"sha256": "abc"}, "text/plain")
    assert s3.get_object_tagging(Bucket=BUCKET, Key="c/kept")["TagSet"] == [{"Key": "class", "Value": "policy"}]
    s3.copy_object(Bucket=BUCKET, Key="c/new", CopySource=source, Metadata={"other": "1"}, MetadataDirective="REPLACE",
                   TaggingDirective="REPLACE", Tagging="class=report")
    assert s3.head_object(Bucket=BUCKET, Key="c/new")["Metadata"] == {"other": "1"}
    assert s3.get_object_tagging(Bucket=BUCKET, Key="c/new")["TagSet"] == [{"Key": "class", "Value": "report"}]
    status, error = _refused(s3.copy_object, Bucket=BUCKET, Key="c/src", CopySource=source)
    assert (status, error["Code"]) == (400, "InvalidRequest")  # onto itself, nothing changed
    s3.copy_object(Bucket=BUCKET, Key="c/src", CopySource=source, MetadataDirective="REPLACE", Metadata={"v": "2"})
    assert s3.head_object(Bucket=BUCKET, Key="c/src")["Metadata"] == {"v": "2"}


def test_presigned_urls_for_keys_that_need_encoding(s3):
    for key in (k.replace("inbox/", "signed/") for k in KEYS[:5]):
        put = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=60)
        assert requests.put(put, data=b"signed body", timeout=10).status_code == 200
        get = s3.generate_presigned_url("get_object", Params={
            "Bucket": BUCKET, "Key": key, "ResponseContentDisposition": 'attachment; filename="e.bin"'},
            ExpiresIn=60)
        whole = requests.get(get, timeout=10)
        assert (whole.status_code, whole.content) == (200, b"signed body")
        assert whole.headers["Content-Disposition"] == 'attachment; filename="e.bin"'
        part = requests.get(get, headers={"Range": "bytes=2-5"}, timeout=10)
        assert (part.status_code, part.content, part.headers["Content-Range"]) == (206, b"gned", "bytes 2-5/11")
        assert requests.put(get, data=b"other", timeout=10).status_code == 403  # signed for GET only


def test_listings_with_delimiter_tokens_and_start_after(s3):
    def walk(**kwargs) -> tuple[list[str], list[str]]:
        keys, prefixes = [], []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="inbox/", **kwargs):
            keys += [o["Key"] for o in page.get("Contents", [])]
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        return keys, prefixes

    everything = sorted(KEYS, key=lambda k: k.encode())  # S3 orders by UTF-8 bytes
    assert walk(PaginationConfig={"PageSize": 2})[0] == everything
    keys, prefixes = walk(Delimiter="/", PaginationConfig={"PageSize": 2})
    assert prefixes == ["inbox/dir/", "inbox/é/", "inbox/😀/"]
    assert keys == [k for k in everything if k.count("/") == 1]
    assert walk(StartAfter="inbox/dir/x.txt")[0] == [k for k in everything if k.encode() > b"inbox/dir/x.txt"]
    first = s3.list_objects_v2(Bucket=BUCKET, Prefix="inbox/", MaxKeys=3, StartAfter="inbox/a")
    second = s3.list_objects_v2(Bucket=BUCKET, Prefix="inbox/", MaxKeys=3, StartAfter="inbox/a",
                                ContinuationToken=first["NextContinuationToken"])
    assert [o["Key"] for o in first["Contents"] + second["Contents"]] == [
        k for k in everything if k.encode() > b"inbox/a"][:6]


def test_head_with_range_and_preconditions(s3):
    head = s3.head_object(Bucket=BUCKET, Key="inbox/dir/x.txt")
    etag, when = head["ETag"], head["LastModified"]
    ranged = s3.head_object(Bucket=BUCKET, Key="inbox/dir/x.txt", Range="bytes=0-4")
    assert (ranged["ResponseMetadata"]["HTTPStatusCode"], ranged["ContentLength"]) == (206, 5)
    assert ranged["ContentRange"] == f"bytes 0-4/{head['ContentLength']}"
    assert s3.head_object(Bucket=BUCKET, Key="inbox/dir/x.txt", IfMatch=etag)["ETag"] == etag
    assert _refused(s3.head_object, Bucket=BUCKET, Key="inbox/dir/x.txt", IfMatch='"0"')[0] == 412
    assert _refused(s3.head_object, Bucket=BUCKET, Key="inbox/dir/x.txt", IfNoneMatch=etag)[0] == 304
    hour = datetime.timedelta(hours=1)
    assert _refused(s3.head_object, Bucket=BUCKET, Key="inbox/dir/x.txt", IfModifiedSince=when + hour)[0] == 304
    assert s3.head_object(Bucket=BUCKET, Key="inbox/dir/x.txt", IfModifiedSince=when - hour)["ETag"] == etag
    assert _refused(s3.put_object, Bucket=BUCKET, Key="inbox/dir/x.txt", Body=b"x", IfNoneMatch="*")[0] == 412


def test_tags_versions_and_quiet_deletes(s3, s3_module_server):
    key = KEYS[0]
    s3.put_object_tagging(Bucket=BUCKET, Key=key, Tagging={"TagSet": [{"Key": "scan", "Value": "clean é"}]})
    assert s3.head_object(Bucket=BUCKET, Key=key)["TagCount"] == 1
    too_many = {"TagSet": [{"Key": f"k{n}", "Value": "v"} for n in range(11)]}
    assert _refused(s3.put_object_tagging, Bucket=BUCKET, Key=key, Tagging=too_many)[0] == 400
    s3.delete_object_tagging(Bucket=BUCKET, Key=key)
    assert s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"] == []

    versioned = s3_client(s3_module_server, BUCKET + "-v")
    versioned.put_bucket_versioning(Bucket=BUCKET + "-v", VersioningConfiguration={"Status": "Enabled"})
    for n in range(3):
        versioned.put_object(Bucket=BUCKET + "-v", Key="e/a.pdf", Body=b"%d" % n)
    versioned.put_object(Bucket=BUCKET + "-v", Key="e/b.pdf", Body=b"b")
    versioned.delete_object(Bucket=BUCKET + "-v", Key="e/b.pdf")
    seen = []
    for page in versioned.get_paginator("list_object_versions").paginate(Bucket=BUCKET + "-v",
                                                                          PaginationConfig={"PageSize": 1}):
        seen += [(v["Key"], v["IsLatest"], "version") for v in page.get("Versions", [])]
        seen += [(m["Key"], m["IsLatest"], "marker") for m in page.get("DeleteMarkers", [])]
    assert sorted(seen) == sorted([("e/a.pdf", True, "version"), ("e/a.pdf", False, "version"),
                                   ("e/a.pdf", False, "version"), ("e/b.pdf", False, "version"),
                                   ("e/b.pdf", True, "marker")])
    quiet = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "c/kept"}, {"Key": "never/there"}],
                                                     "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    assert _refused(s3.head_object, Bucket=BUCKET, Key="c/kept")[0] == 404
