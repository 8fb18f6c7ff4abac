"""Round 34: S3 through boto3 unchanged, where the sandbox answered otherwise than S3:

- ListObjectVersions (moto's answer) ignored the ``encoding-type=url`` botocore always sends, so a key with a
  control character made it a 500; ``key-marker`` alone listed that key again; an unknown ``version-id-marker``
  gave an empty, untruncated page; a ``version-id-marker`` without ``key-marker`` was taken; a page with a
  delimiter held more than max-keys entries;
- HeadObject with PartNumber of a multipart object was 200 with the part's own MD5 as ETag and no Content-Range
  (S3: 206, the object's ETag, as GetObject with PartNumber already answered);
- deleting a delete marker by version id (DeleteObject, DeleteObjects) did not say it was one (DeleteMarker);
- GetObjectAttributes left ObjectParts out; an object put whole had no ChecksumType (S3: FULL_OBJECT)."""

from __future__ import annotations

import base64
import io
import zlib

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

MB = 1024 * 1024


@pytest.fixture(scope="module")
def s3():
    server = MotoAwsServer()
    server.start()
    yield boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    server.stop()


def _versioned(s3, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def _entries(page: dict) -> list[tuple[str, str, bool]]:
    found = [(v["Key"], v["VersionId"], v["IsLatest"], v["LastModified"]) for v in page.get("Versions", [])]
    found += [(d["Key"], d["VersionId"], d["IsLatest"], d["LastModified"]) for d in page.get("DeleteMarkers", [])]
    return [(k, v, latest) for k, v, latest, _ in found]


def test_version_listing_with_odd_keys_and_markers(s3):
    _versioned(s3, "r34-versions")
    ids: dict[str, list[str]] = {}
    for round_ in range(2):
        for key in ("a b", "ctl\x01key", "d/x", "d/y", "é"):
            ids.setdefault(key, []).append(s3.put_object(Bucket="r34-versions", Key=key, Body=b"%d" % round_)[
                "VersionId"])
    marker = s3.delete_object(Bucket="r34-versions", Key="d/x")["VersionId"]
    # botocore asks for url encoding and decodes: the control character comes back whole (moto: 500)
    listed = s3.list_object_versions(Bucket="r34-versions")
    assert sorted({v["Key"] for v in listed["Versions"]}) == ["a b", "ctl\x01key", "d/x", "d/y", "é"]
    assert [(d["Key"], d["VersionId"], d["IsLatest"]) for d in listed["DeleteMarkers"]] == [("d/x", marker, True)]
    latest = {v["Key"]: v["VersionId"] for v in listed["Versions"] if v["IsLatest"]}
    assert latest == {k: ids[k][1] for k in ("a b", "ctl\x01key", "d/y", "é")}
    # key-marker alone starts after that key
    after = s3.list_object_versions(Bucket="r34-versions", KeyMarker="d/x")
    assert [(v["Key"], v["VersionId"]) for v in after["Versions"]] == [
        ("d/y", ids["d/y"][1]), ("d/y", ids["d/y"][0]), ("é", ids["é"][1]), ("é", ids["é"][0])]
    assert "DeleteMarkers" not in after
    # both markers: the key's older versions, then the next keys
    within = s3.list_object_versions(Bucket="r34-versions", KeyMarker="d/x", VersionIdMarker=marker, MaxKeys=2)
    assert [(v["Key"], v["VersionId"]) for v in within["Versions"]] == [("d/x", ids["d/x"][1]), ("d/x", ids["d/x"][0])]
    assert (within["IsTruncated"], within["NextKeyMarker"], within["NextVersionIdMarker"]) == (
        True, "d/x", ids["d/x"][0])
    for kwargs, argument in (({"VersionIdMarker": marker}, "version-id-marker"),
                             ({"KeyMarker": "d/x", "VersionIdMarker": "not-a-version"}, "version-id-marker")):
        with pytest.raises(ClientError) as info:
            s3.list_object_versions(Bucket="r34-versions", **kwargs)
        error = info.value.response["Error"]
        assert (error["Code"], error["ArgumentName"]) == ("InvalidArgument", argument)
    # the paginator, one entry a page, with a delimiter: every version once, the common prefix once, in order
    pages = list(s3.get_paginator("list_object_versions").paginate(
        Bucket="r34-versions", Delimiter="/", PaginationConfig={"PageSize": 1}))
    assert all(len(_entries(p)) + len(p.get("CommonPrefixes", [])) == 1 for p in pages)
    walked = [e for p in pages for e in _entries(p)]
    assert walked == [("a b", ids["a b"][1], True), ("a b", ids["a b"][0], False),
                      ("ctl\x01key", ids["ctl\x01key"][1], True), ("ctl\x01key", ids["ctl\x01key"][0], False),
                      ("é", ids["é"][1], True), ("é", ids["é"][0], False)]
    assert [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])] == ["d/"]


def test_head_of_one_part_is_partial_with_the_objects_etag(s3):
    s3.create_bucket(Bucket="r34-parts")
    data = bytes(range(256)) * (4096 * 9)  # 9 MiB: parts of 5 MiB and 4 MiB
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_fileobj(io.BytesIO(data), "r34-parts", "big", Config=config)
    whole = s3.head_object(Bucket="r34-parts", Key="big")
    assert whole["ETag"].endswith('-2"')
    for number, (start, end) in ((1, (0, 5 * MB - 1)), (2, (5 * MB, len(data) - 1))):
        head = s3.head_object(Bucket="r34-parts", Key="big", PartNumber=number)
        got = s3.get_object(Bucket="r34-parts", Key="big", PartNumber=number)
        for answer in (head, got):
            assert (answer["ResponseMetadata"]["HTTPStatusCode"], answer["ETag"], answer["PartsCount"],
                    answer["ContentRange"], answer["ContentLength"]) == (
                206, whole["ETag"], 2, f"bytes {start}-{end}/{len(data)}", end - start + 1)
        assert got["Body"].read() == data[start:end + 1]


def test_removing_a_delete_marker_says_so(s3):
    _versioned(s3, "r34-markers")
    for key in ("one", "two", "three"):
        s3.put_object(Bucket="r34-markers", Key=key, Body=key.encode())
    markers = {key: s3.delete_object(Bucket="r34-markers", Key=key)["VersionId"] for key in ("one", "two", "three")}
    undone = s3.delete_object(Bucket="r34-markers", Key="one", VersionId=markers["one"])
    assert (undone["DeleteMarker"], undone["VersionId"]) == (True, markers["one"])
    assert s3.get_object(Bucket="r34-markers", Key="one")["Body"].read() == b"one"
    plain = s3.put_object(Bucket="r34-markers", Key="four", Body=b"4")["VersionId"]
    result = s3.delete_objects(Bucket="r34-markers", Delete={"Objects": [
        {"Key": "two", "VersionId": markers["two"]}, {"Key": "four", "VersionId": plain}]})
    assert sorted(result["Deleted"], key=lambda d: d["Key"]) == [
        {"Key": "four", "VersionId": plain},
        {"Key": "two", "VersionId": markers["two"], "DeleteMarker": True, "DeleteMarkerVersionId": markers["two"]}]
    assert s3.get_object(Bucket="r34-markers", Key="two")["Body"].read() == b"two"
    # a plain version's removal carries no such flag
    gone = s3.delete_object(Bucket="r34-markers", Key="three", VersionId=s3.list_object_versions(
        Bucket="r34-markers", Prefix="three")["Versions"][0]["VersionId"])
    assert "DeleteMarker" not in gone


def test_object_attributes_name_the_parts(s3):
    s3.create_bucket(Bucket="r34-attributes")
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_fileobj(io.BytesIO(b"p" * (11 * MB)), "r34-attributes", "three", Config=config)
    first = s3.get_object_attributes(Bucket="r34-attributes", Key="three", ObjectAttributes=["ObjectParts", "ETag"],
                                     MaxParts=2)
    assert first["ETag"].endswith("-3")
    # boto3 uploads with CRC32: each Part carries its part's checksum (without an algorithm, no Part at all:
    # test_round34_s3_review)
    five, one = (base64.b64encode(zlib.crc32(b"p" * n).to_bytes(4, "big")).decode() for n in (5 * MB, MB))
    assert first["ObjectParts"] == {"TotalPartsCount": 3, "PartNumberMarker": 0, "NextPartNumberMarker": 2,
                                    "MaxParts": 2, "IsTruncated": True,
                                    "Parts": [{"PartNumber": 1, "Size": 5 * MB, "ChecksumCRC32": five},
                                              {"PartNumber": 2, "Size": 5 * MB, "ChecksumCRC32": five}]}
    rest = s3.get_object_attributes(Bucket="r34-attributes", Key="three", ObjectAttributes=["ObjectParts"],
                                    PartNumberMarker=2)["ObjectParts"]
    assert (rest["TotalPartsCount"], rest["IsTruncated"], rest["Parts"]) == (
        3, False, [{"PartNumber": 3, "Size": MB, "ChecksumCRC32": one}])
    # an object put whole has no parts to name; ObjectParts not asked for is not given
    s3.put_object(Bucket="r34-attributes", Key="whole", Body=b"w")
    assert "ObjectParts" not in s3.get_object_attributes(Bucket="r34-attributes", Key="whole",
                                                         ObjectAttributes=["ObjectParts", "ObjectSize"])
    assert "ObjectParts" not in s3.get_object_attributes(Bucket="r34-attributes", Key="three",
                                                         ObjectAttributes=["ObjectSize"])


def test_an_object_put_whole_has_a_full_object_checksum(s3):
    s3.create_bucket(Bucket="r34-checksums")
    put = s3.put_object(Bucket="r34-checksums", Key="whole", Body=b"abc", ChecksumAlgorithm="SHA256")
    assert (put["ChecksumType"], bool(put["ChecksumSHA256"])) == ("FULL_OBJECT", True)
    for call in (s3.head_object, s3.get_object):
        answer = call(Bucket="r34-checksums", Key="whole", ChecksumMode="ENABLED")
        assert (answer["ChecksumSHA256"], answer["ChecksumType"]) == (put["ChecksumSHA256"], "FULL_OBJECT")
    # a multipart object keeps its upload's type, and a part's answer names none
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_fileobj(io.BytesIO(b"m" * (6 * MB)), "r34-checksums", "parts", Config=config)
    head = s3.head_object(Bucket="r34-checksums", Key="parts", ChecksumMode="ENABLED")
    assert head["ChecksumType"] == "COMPOSITE" and head["ChecksumCRC32"].endswith("-2")
    upload = s3.create_multipart_upload(Bucket="r34-checksums", Key="open")["UploadId"]
    part = s3.upload_part(Bucket="r34-checksums", Key="open", UploadId=upload, PartNumber=1, Body=b"p")
    assert "ChecksumType" not in part and part["ChecksumCRC32"]
