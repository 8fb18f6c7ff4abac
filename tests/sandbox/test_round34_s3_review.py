"""Round 34 review of the S3 sandbox's round-34 changes, through boto3 unchanged; before the fixes:

- emptying a versioned bucket page by page (boto3's ``object_versions.page_size(n).delete()``) was 400
  InvalidArgument on the second page: its version-id-marker named a version the first page's delete had removed;
- removing a delete marker that sat on another marker: moto's ``x-amz-delete-marker: true`` and the sandbox's own
  made "true, true", which botocore read as DeleteMarker False;
- HeadObject with PartNumber answered from the part's record: no x-amz-meta-*, no Content-Type, no VersionId;
- DeleteObjects flagged DeleteMarker by version id alone: "null" (a marker made while versioning was suspended)
  flagged every key removed as "null";
- GetObjectAttributes: x-amz-max-parts of 5,000 digits was a 500; max-parts 0 answered IsTruncated true with the
  marker unchanged (a follower asked again forever); ``Part`` was given for an upload without a checksum algorithm;
- (found on the way) with versioning suspended, removing a key's only version, a "null" delete marker, was a 500.
"""

from __future__ import annotations

import io

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

MB = 1024 * 1024


@pytest.fixture(scope="module")
def server():
    server = MotoAwsServer()
    server.start()
    yield server
    server.stop()


def _client(server, **config):
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}, **config))


@pytest.fixture(scope="module")
def s3(server):
    return _client(server)


def _versioned(s3, bucket: str) -> None:
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})


def test_a_versioned_bucket_emptied_page_by_page(server, s3):
    _versioned(s3, "r34r-empty")
    for round_ in range(7):  # 3 keys x 7 versions, and delete markers: more than two pages of 10
        for key in ("a", "b", "c"):
            s3.put_object(Bucket="r34r-empty", Key=key, Body=b"%d" % round_)
    s3.delete_object(Bucket="r34r-empty", Key="b")
    resource = boto3.resource("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
    resource.Bucket("r34r-empty").object_versions.page_size(10).delete()
    left = s3.list_object_versions(Bucket="r34r-empty")
    assert "Versions" not in left and "DeleteMarkers" not in left
    # a marker never handed out is still refused
    s3.put_object(Bucket="r34r-empty", Key="a", Body=b"x")
    with pytest.raises(ClientError) as info:
        s3.list_object_versions(Bucket="r34r-empty", KeyMarker="a", VersionIdMarker="never-given")
    assert info.value.response["Error"]["Code"] == "InvalidArgument"


def test_a_page_after_a_deleted_marker_goes_on_with_older_versions(s3):
    _versioned(s3, "r34r-resume")
    ids = [s3.put_object(Bucket="r34r-resume", Key="k", Body=b"%d" % i)["VersionId"] for i in range(4)]
    s3.put_object(Bucket="r34r-resume", Key="l", Body=b"l")
    first = s3.list_object_versions(Bucket="r34r-resume", MaxKeys=2)
    assert [v["VersionId"] for v in first["Versions"]] == [ids[3], ids[2]]
    s3.delete_object(Bucket="r34r-resume", Key="k", VersionId=ids[2])  # the marker handed out
    second = s3.list_object_versions(Bucket="r34r-resume", KeyMarker=first["NextKeyMarker"],
                                     VersionIdMarker=first["NextVersionIdMarker"])
    assert [(v["Key"], v["VersionId"]) for v in second["Versions"]][:2] == [("k", ids[1]), ("k", ids[0])]
    assert [v["Key"] for v in second["Versions"]] == ["k", "k", "l"]


def test_removing_a_marker_that_sits_on_a_marker_says_delete_marker(s3):
    _versioned(s3, "r34r-markers")
    s3.put_object(Bucket="r34r-markers", Key="k", Body=b"k")
    s3.delete_object(Bucket="r34r-markers", Key="k")
    second = s3.delete_object(Bucket="r34r-markers", Key="k")["VersionId"]
    undone = s3.delete_object(Bucket="r34r-markers", Key="k", VersionId=second)
    assert (undone["DeleteMarker"], undone["VersionId"]) == (True, second)


def test_head_of_a_part_carries_the_objects_headers(s3):
    _versioned(s3, "r34r-head")
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_fileobj(io.BytesIO(b"h" * (6 * MB)), "r34r-head", "big", Config=config,
                      ExtraArgs={"Metadata": {"owner": "ops"}, "ContentType": "text/csv"})
    whole = s3.head_object(Bucket="r34r-head", Key="big")
    part = s3.head_object(Bucket="r34r-head", Key="big", PartNumber=1)
    assert (part["ResponseMetadata"]["HTTPStatusCode"], part["Metadata"], part["ContentType"], part["VersionId"],
            part["LastModified"], part["ETag"], part["PartsCount"], part["ContentLength"], part["ContentRange"]) == (
        206, {"owner": "ops"}, "text/csv", whole["VersionId"], whole["LastModified"], whole["ETag"], 2, 5 * MB,
        f"bytes 0-{5 * MB - 1}/{6 * MB}")


def test_delete_objects_flags_markers_by_key_and_version(s3):
    s3.create_bucket(Bucket="r34r-null")
    s3.put_bucket_versioning(Bucket="r34r-null", VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket="r34r-null", Key="plain", Body=b"p")  # version "null", an object
    s3.put_object(Bucket="r34r-null", Key="gone", Body=b"g")
    assert s3.delete_object(Bucket="r34r-null", Key="gone")["DeleteMarker"]  # version "null", a marker
    s3.put_bucket_versioning(Bucket="r34r-null", VersioningConfiguration={"Status": "Enabled"})
    result = s3.delete_objects(Bucket="r34r-null", Delete={"Objects": [
        {"Key": "gone", "VersionId": "null"}, {"Key": "plain", "VersionId": "null"}]})
    assert sorted(result["Deleted"], key=lambda d: d["Key"]) == [
        {"Key": "gone", "VersionId": "null", "DeleteMarker": True, "DeleteMarkerVersionId": "null"},
        {"Key": "plain", "VersionId": "null"}]


def test_removing_a_keys_only_null_marker_while_suspended(s3):
    """Found on the way: moto's pop disposed of a delete marker, which has nothing to dispose of: a 500."""
    s3.create_bucket(Bucket="r34r-suspended")
    s3.put_bucket_versioning(Bucket="r34r-suspended", VersioningConfiguration={"Status": "Suspended"})
    for key in ("one", "two"):
        s3.put_object(Bucket="r34r-suspended", Key=key, Body=b"o")
        s3.delete_object(Bucket="r34r-suspended", Key=key)  # the "null" marker replaces the "null" object
    undone = s3.delete_object(Bucket="r34r-suspended", Key="one", VersionId="null")
    assert (undone["DeleteMarker"], undone["VersionId"]) == (True, "null")
    assert s3.delete_objects(Bucket="r34r-suspended", Delete={"Objects": [{"Key": "two", "VersionId": "null"}]})[
        "Deleted"][0]["Key"] == "two"
    assert "DeleteMarkers" not in s3.list_object_versions(Bucket="r34r-suspended")


def test_object_parts_headers_and_checksums(server, s3):
    s3.create_bucket(Bucket="r34r-attributes")
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s3.upload_fileobj(io.BytesIO(b"q" * (6 * MB)), "r34r-attributes", "summed", Config=config)
    raw_client = _client(server)  # boto3 checks an int param: the raw header is set as it is signed
    for raw in ("9" * 5000, "1_0", "-1", "+5", str(2**31)):
        for header in ("x-amz-max-parts", "x-amz-part-number-marker"):
            def put(request, header=header, raw=raw, **_):
                request.headers[header] = raw

            raw_client.meta.events.register("before-sign.s3.GetObjectAttributes", put, unique_id="raw")
            with pytest.raises(ClientError) as info:
                raw_client.get_object_attributes(Bucket="r34r-attributes", Key="summed",
                                                 ObjectAttributes=["ObjectParts"])
            raw_client.meta.events.unregister("before-sign.s3.GetObjectAttributes", unique_id="raw")
            assert (info.value.response["ResponseMetadata"]["HTTPStatusCode"],
                    info.value.response["Error"]["Code"]) == (400, "InvalidArgument")
    zero = s3.get_object_attributes(Bucket="r34r-attributes", Key="summed", ObjectAttributes=["ObjectParts"],
                                    MaxParts=0)["ObjectParts"]
    assert not (zero["IsTruncated"] and zero["NextPartNumberMarker"] == zero["PartNumberMarker"])
    # an upload without a checksum algorithm: no Part (GetObjectAttributesParts)
    plain = _client(server, request_checksum_calculation="when_required")
    plain.upload_fileobj(io.BytesIO(b"n" * (6 * MB)), "r34r-attributes", "bare", Config=config)
    assert "ChecksumAlgorithm" not in plain.list_object_versions(Bucket="r34r-attributes", Prefix="bare")[
        "Versions"][0]
    parts = s3.get_object_attributes(Bucket="r34r-attributes", Key="bare", ObjectAttributes=["ObjectParts"])[
        "ObjectParts"]
    assert (parts["TotalPartsCount"], "Parts" in parts) == (2, False)
