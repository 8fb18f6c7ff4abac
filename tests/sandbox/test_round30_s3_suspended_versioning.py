"""Round 30: a bucket whose versioning is Suspended, through boto3 unchanged. moto treated it as never versioned and
lost the versions kept from when versioning was Enabled: a DeleteObject (with no version id, or with ``null``)
removed every version, and a PutObject / CopyObject / multipart upload replaced them all. S3 touches only the
``null`` version: a delete puts a ``null`` delete marker on top, a write replaces the ``null`` version."""

from __future__ import annotations

import io

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.sandbox import test_round29_s3_lock_checksums as lock_checksums

MB = 1024 * 1024


s3 = lock_checksums.s3  # a boto3 client on the sandbox's moto server, one per module


def _suspended(s3, name: str) -> str:
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    kept = s3.put_object(Bucket=name, Key="k", Body=b"v1")["VersionId"]
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    return kept


def _versions(s3, bucket: str) -> tuple[list, list]:
    listed = s3.list_object_versions(Bucket=bucket, Prefix="k")
    return ([(v["VersionId"], v["IsLatest"]) for v in listed.get("Versions", [])],
            [(m["VersionId"], m["IsLatest"]) for m in listed.get("DeleteMarkers", [])])


def test_delete_puts_a_null_marker_on_top_and_keeps_the_versions(s3):
    kept = _suspended(s3, "r30-suspended-delete")
    s3.put_object(Bucket="r30-suspended-delete", Key="k", Body=b"null one")
    deleted = s3.delete_object(Bucket="r30-suspended-delete", Key="k")
    assert (deleted["DeleteMarker"], deleted["VersionId"]) == (True, "null")
    assert _versions(s3, "r30-suspended-delete") == ([(kept, False)], [("null", True)])  # the null version went
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket="r30-suspended-delete", Key="k")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket="r30-suspended-delete", Key="k", VersionId=kept)["Body"].read() == b"v1"
    # removing the marker (version "null") brings the kept version back as the current one
    gone = s3.delete_object(Bucket="r30-suspended-delete", Key="k", VersionId="null")
    assert (gone.get("DeleteMarker"), gone["VersionId"]) == (True, "null")
    assert _versions(s3, "r30-suspended-delete") == ([(kept, True)], [])
    assert s3.get_object(Bucket="r30-suspended-delete", Key="k")["Body"].read() == b"v1"


@pytest.mark.parametrize("how", ["put", "copy", "multipart"])
def test_writes_replace_only_the_null_version(s3, how):
    bucket = f"r30-suspended-{how}"
    kept = _suspended(s3, bucket)
    for round_ in (1, 2):  # the second write replaces the first's null version
        body = f"{how} {round_}".encode()
        if how == "put":
            s3.put_object(Bucket=bucket, Key="k", Body=body)
        elif how == "copy":
            s3.put_object(Bucket=bucket, Key="src", Body=body)
            s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "src"})
        else:
            body = body * (6 * MB // len(body))
            s3.upload_fileobj(io.BytesIO(body), bucket, "k", Config=TransferConfig(multipart_threshold=5 * MB))
        assert _versions(s3, bucket) == ([("null", True), (kept, False)], []), (how, round_)
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == body
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"v1"
    # deleting the kept version by id leaves the null one
    s3.delete_object(Bucket=bucket, Key="k", VersionId=kept)
    assert _versions(s3, bucket) == ([("null", True)], [])
