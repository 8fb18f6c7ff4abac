"""Round 23: S3 listings with boto3 unchanged, path-style and virtual-host addressing. moto's ListObjects (v1) returned
every common prefix on every page (the paginator listed them again) and an opaque hash as NextMarker even without a
delimiter; ListObjectsV2 did not echo ContinuationToken; ListMultipartUploads ignored max-uploads, markers and the
delimiter. Now the sandbox pages them as S3 does (``sandbox.aws.s3_listing``, ``sandbox.aws.s3_uploads``)."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config

KEYS = ["d/a/1", "d/a/2", "d/b/1", "d/c", "d/e", "k 1+ü", "k2", "z/x"]


pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def server(s3_module_server):
    return s3_module_server


def _client(server, style: str):
    kw = {"region_name": "us-east-1", "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    if style == "path":
        return boto3.client("s3", endpoint_url=server.url, config=Config(retries={"max_attempts": 1}), **kw)
    port = server.url.rsplit(":", 1)[1]  # bucket.localhost does not resolve: the sandbox is the HTTP proxy too
    return boto3.client("s3", endpoint_url=f"http://localhost:{port}", config=Config(
        retries={"max_attempts": 1}, s3={"addressing_style": "virtual"}, proxies={"http": server.url}), **kw)


@pytest.fixture(scope="module", params=["path", "virtual"])
def filled(server, request):
    s3 = _client(server, request.param)
    bucket = f"round23-list-{request.param}"
    s3.create_bucket(Bucket=bucket)
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    return s3, bucket


def _flat(pages) -> list[str]:
    return [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])] + [
        o["Key"] for p in pages for o in p.get("Contents", [])]


@pytest.mark.parametrize("op", ["list_objects", "list_objects_v2"])
@pytest.mark.parametrize("size", [1, 2, 3, 1000])
def test_paginators_list_each_key_and_common_prefix_once(filled, op, size):
    s3, bucket = filled
    pages = list(s3.get_paginator(op).paginate(Bucket=bucket, Prefix="d/", Delimiter="/",
                                               PaginationConfig={"PageSize": size}))
    assert sorted(_flat(pages)) == ["d/a/", "d/b/", "d/c", "d/e"]
    assert all(len(p.get("Contents", [])) + len(p.get("CommonPrefixes", [])) <= size for p in pages)
    pages = list(s3.get_paginator(op).paginate(Bucket=bucket, Delimiter="/", PaginationConfig={"PageSize": size}))
    assert sorted(_flat(pages)) == ["d/", "k 1+ü", "k2", "z/"]
    pages = list(s3.get_paginator(op).paginate(Bucket=bucket, PaginationConfig={"PageSize": size}))
    assert _flat(pages) == sorted(KEYS)


def test_v1_marker_and_next_marker(filled):
    s3, bucket = filled
    first = s3.list_objects(Bucket=bucket, MaxKeys=2)
    assert first["IsTruncated"] is True and first["Marker"] == "" and "NextMarker" not in first  # no delimiter
    assert [o["Key"] for o in first["Contents"]] == ["d/a/1", "d/a/2"] and first["Contents"][0]["Owner"]["ID"]
    after = s3.list_objects(Bucket=bucket, MaxKeys=2, Marker="d/a/2")
    assert after["Marker"] == "d/a/2" and [o["Key"] for o in after["Contents"]] == ["d/b/1", "d/c"]
    grouped = s3.list_objects(Bucket=bucket, Prefix="d/", Delimiter="/", MaxKeys=2)
    assert [c["Prefix"] for c in grouped["CommonPrefixes"]] == ["d/a/", "d/b/"] and "Contents" not in grouped
    assert grouped["IsTruncated"] is True and grouped["NextMarker"] == "d/b/"
    rest = s3.list_objects(Bucket=bucket, Prefix="d/", Delimiter="/", Marker="d/b/")
    assert [o["Key"] for o in rest["Contents"]] == ["d/c", "d/e"] and "CommonPrefixes" not in rest
    assert rest["IsTruncated"] is False and "NextMarker" not in rest


def test_v2_tokens_start_after_and_key_count(filled):
    s3, bucket = filled
    first = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, StartAfter="d/a/1")
    assert [o["Key"] for o in first["Contents"]] == ["d/a/2", "d/b/1", "d/c"] and first["KeyCount"] == 3
    assert first["StartAfter"] == "d/a/1" and "Owner" not in first["Contents"][0]
    token = first["NextContinuationToken"]
    second = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, StartAfter="d/a/1", ContinuationToken=token,
                                FetchOwner=True)
    assert second["ContinuationToken"] == token and second["StartAfter"] == "d/a/1"
    assert [o["Key"] for o in second["Contents"]] == ["d/e", "k 1+ü", "k2"] and second["Contents"][0]["Owner"]
    last = s3.list_objects_v2(Bucket=bucket, MaxKeys=3, ContinuationToken=second["NextContinuationToken"])
    assert [o["Key"] for o in last["Contents"]] == ["z/x"] and last["IsTruncated"] is False
    assert "NextContinuationToken" not in last
    grouped = s3.list_objects_v2(Bucket=bucket, Prefix="d/", Delimiter="/")
    assert grouped["KeyCount"] == 4 and grouped["Prefix"] == "d/" and grouped["Delimiter"] == "/"
    assert s3.list_objects_v2(Bucket=bucket, Prefix="none/")["KeyCount"] == 0


def test_deleted_keys_are_neither_listed_nor_common_prefixes(server):
    s3 = _client(server, "path")
    s3.create_bucket(Bucket="round23-list-versions")
    s3.put_bucket_versioning(Bucket="round23-list-versions", VersioningConfiguration={"Status": "Enabled"})
    for key in ["gone/1", "kept/1", "top"]:
        s3.put_object(Bucket="round23-list-versions", Key=key, Body=b"v")
    s3.delete_object(Bucket="round23-list-versions", Key="gone/1")
    listed = s3.list_objects_v2(Bucket="round23-list-versions", Delimiter="/")
    assert [c["Prefix"] for c in listed["CommonPrefixes"]] == ["kept/"] and listed["KeyCount"] == 2
    assert [o["Key"] for o in s3.list_objects(Bucket="round23-list-versions")["Contents"]] == ["kept/1", "top"]


@pytest.mark.parametrize("style", ["path", "virtual"])
def test_multipart_upload_listing_pages(server, style):
    s3 = _client(server, style)
    bucket = f"round23-uploads-{style}"
    s3.create_bucket(Bucket=bucket)
    made = [(key, s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"])
            for key in ["b/z", "mp", "a/x", "a/y", "mp", "c d+ü"]]
    listed = s3.list_multipart_uploads(Bucket=bucket)
    assert [u["Key"] for u in listed["Uploads"]] == ["a/x", "a/y", "b/z", "c d+ü", "mp", "mp"]
    assert [u["UploadId"] for u in listed["Uploads"] if u["Key"] == "mp"] == [i for k, i in made if k == "mp"]
    page = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert [u["Key"] for u in page["Uploads"]] == ["a/x", "a/y"] and page["IsTruncated"] is True
    assert page["NextKeyMarker"] == "a/y" and page["MaxUploads"] == 2
    first_mp, second_mp = (i for k, i in made if k == "mp")
    after = s3.list_multipart_uploads(Bucket=bucket, KeyMarker="mp", UploadIdMarker=first_mp)
    assert [u["UploadId"] for u in after["Uploads"]] == [second_mp]
    grouped = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [c["Prefix"] for c in grouped["CommonPrefixes"]] == ["a/", "b/"]
    assert [u["Key"] for u in grouped["Uploads"]] == ["c d+ü", "mp", "mp"]
    for size in [1, 2, 4]:
        pages = list(s3.get_paginator("list_multipart_uploads").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": size}))
        assert sorted((u["Key"], u["UploadId"]) for p in pages for u in p.get("Uploads", [])) == sorted(made)
        assert len(pages) == -(-len(made) // size)
    for key, upload in made:
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
