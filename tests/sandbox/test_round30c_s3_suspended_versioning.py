"""Round 30c: a Suspended bucket through boto3 unchanged, two more ways moto lost or reordered versions.

- A PUT that moto refuses (a failed precondition, a bad storage class) still had its versions rebuilt with the
  ``null`` version last: for [v1, null, v2] the ``null`` version became the current one instead of v2. A refused
  write now leaves the order as it was.
- DeleteObjects (``POST ?delete``) removed every version of each key. S3 gives each key DeleteObject's
  semantics: no version id puts a ``null`` delete marker on top (the older versions stay); a version id removes
  that version only.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.sandbox.test_round30_s3_suspended_versioning import _suspended, _versions, s3  # noqa: F401 (fixture)


def _interleaved(client, name: str) -> tuple[str, str]:
    """Versions [v1, null, v2] (v2 current), then versioning Suspended."""
    client.create_bucket(Bucket=name)
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v1 = client.put_object(Bucket=name, Key="k", Body=b"v1")["VersionId"]
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    client.put_object(Bucket=name, Key="k", Body=b"null one")
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    v2 = client.put_object(Bucket=name, Key="k", Body=b"v2")["VersionId"]
    client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
    return v1, v2


@pytest.mark.parametrize("refused", [{"IfNoneMatch": "*"}, {"StorageClass": "NOT_A_CLASS"}],
                         ids=["precondition", "storage-class"])
def test_a_refused_put_leaves_the_current_version(s3, refused):  # noqa: F811
    bucket = f"r30c-refused-{'pre' if 'IfNoneMatch' in refused else 'sc'}"
    v1, v2 = _interleaved(s3, bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    with pytest.raises(ClientError):
        s3.put_object(Bucket=bucket, Key="k", Body=b"refused", **refused)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v2"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId="null")["Body"].read() == b"null one"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v1)["Body"].read() == b"v1"
    # and an accepted write still replaces only the null version, on top
    s3.put_object(Bucket=bucket, Key="k", Body=b"new null")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"new null"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=v2)["Body"].read() == b"v2"


def test_delete_objects_puts_null_markers_and_keeps_the_versions(s3):  # noqa: F811
    bucket = "r30c-suspended-multi"
    kept = _suspended(s3, bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"null one")
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}]})
    assert not answer.get("Errors")
    [deleted] = answer["Deleted"]
    assert (deleted["Key"], deleted["DeleteMarker"], deleted["DeleteMarkerVersionId"]) == ("k", True, "null")
    assert _versions(s3, bucket) == ([(kept, False)], [("null", True)])
    with pytest.raises(ClientError) as info:
        s3.get_object(Bucket=bucket, Key="k")
    assert info.value.response["Error"]["Code"] == "NoSuchKey"
    assert s3.get_object(Bucket=bucket, Key="k", VersionId=kept)["Body"].read() == b"v1"

    # by version id: the marker goes, the kept version is current again; quiet lists nothing
    gone = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k", "VersionId": "null"}]})
    assert [(d["Key"], d["VersionId"], d.get("DeleteMarker")) for d in gone["Deleted"]] == [("k", "null", True)]
    assert _versions(s3, bucket) == ([(kept, True)], [])
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "k"}], "Quiet": True})
    assert not quiet.get("Deleted") and not quiet.get("Errors")
    assert _versions(s3, bucket) == ([(kept, False)], [("null", True)])
