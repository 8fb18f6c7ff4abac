"""More S3 answers moto's server gets wrong:

- CreateBucket with a name outside S3's rules for general purpose buckets (3-63 characters of lower-case letters,
  digits, dots and hyphens, starting and ending with a letter or digit, no two dots side by side, no IP address,
  none of the reserved prefixes and suffixes): 400 InvalidBucketName (moto created ``Bad_Name`` and the like);
- GET / HEAD of a version that is a delete marker: 405 MethodNotAllowed with ``x-amz-delete-marker: true`` (moto:
  404 NoSuchVersion); GET of a key whose current version is a delete marker: 404 NoSuchKey with
  ``x-amz-delete-marker: true`` and the marker's version id (moto left the headers out on GET);
- an unsigned request that lists a bucket or writes to it: 403 AccessDenied unless the bucket's ACL grants everyone
  READ (listing) / WRITE, or its policy allows the action (moto let anyone list and write a private bucket).
"""

from __future__ import annotations

import re

_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_IP = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def valid_bucket_name(name: str) -> bool:
    return (_NAME.fullmatch(name) is not None and ".." not in name and not _IP.fullmatch(name)
            and not name.startswith(PREFIXES) and not name.endswith(SUFFIXES))


def create_bucket(name: str):
    """None when a bucket of that name may be created, else (status, body, headers)."""
    if valid_bucket_name(name):
        return None
    from sandbox.aws.s3_listing import _xml

    return _error(400, "InvalidBucketName", "The specified bucket is not valid.", BucketName=_xml(name))


def delete_marker(bucket, key: str, method: str, version: str | None):
    """S3's answer to reading a delete marker, or None when moto may answer."""
    from moto.s3.models import FakeDeleteMarker

    versions = bucket.keys.getlist(key, [])
    if version:
        found = [v for v in versions if isinstance(v, FakeDeleteMarker) and v.version_id == version]
        if not found:
            return None
        headers = [("x-amz-delete-marker", "true"), ("x-amz-version-id", version), ("Allow", "DELETE"),
                   ("Last-Modified", found[0].last_modified.strftime("%a, %d %b %Y %H:%M:%S GMT"))]
        status, body, _ = _error(405, "MethodNotAllowed", "The specified method is not allowed against this "
                                 "resource.", Method=method, ResourceType="DeleteMarker")
        return status, b"" if method == "HEAD" else body, headers
    if method != "GET" or not versions or not isinstance(versions[-1], FakeDeleteMarker):
        return None
    from sandbox.aws.s3_listing import _xml

    status, body, _ = _error(404, "NoSuchKey", "The specified key does not exist.", Key=_xml(key))
    return status, body, [("x-amz-delete-marker", "true"), ("x-amz-version-id", versions[-1].version_id)]


def _granted(bucket, permission: str) -> bool:
    """Whether the bucket's ACL grants ``permission`` (READ / WRITE) to everyone."""
    from moto.s3.models import ALL_USERS_GRANTEE

    acl = getattr(bucket, "acl", None)
    return acl is not None and any(
        ALL_USERS_GRANTEE in grant.grantees and (permission in grant.permissions or "FULL_CONTROL" in grant.permissions)
        for grant in acl.grants)


def anonymous(bucket, key: str, method: str, version: str | None = None):
    """An unsigned request to a bucket (no Authorization, no query signature, no signed form): S3 serves it only as
    the bucket's ACL or policy allow (moto let anyone list a private bucket and write to it). Object reads are left
    to moto, which checks the object's ACL; a key whose current version is a delete marker is a missing key here
    (without ``versionId``). None when it may go on, else S3's 403 AccessDenied."""
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeDeleteMarker

    reading = method in ("GET", "HEAD")
    current = bucket.keys.get(key) if key and reading else None
    if method == "OPTIONS" or (current is not None and (version or not isinstance(current, FakeDeleteMarker))):
        return None  # moto checks an object's ACL [unc: a named version of a deleted key, ACL of that version]
    if key and reading:  # no such key: S3 says so only to whom may list the bucket, else 403
        key = ""
    if not key:  # a listing; DeleteObjects, a form upload, bucket settings [unc: S3 checks each its own action]
        action = "s3:ListBucket" if reading else "s3:PutObject"
    else:
        action = "s3:DeleteObject" if method == "DELETE" else "s3:PutObject"
    resource = f"arn:aws:s3:::{bucket.name}" + (f"/{key}" if key else "")
    permission = bucket.get_permission(action, resource)
    if permission == PermissionResult.PERMITTED or (
            permission != PermissionResult.DENIED and _granted(bucket, "READ" if reading else "WRITE")):
        return None
    status, body, _ = _error(403, "AccessDenied", "Access Denied")
    return status, b"" if method == "HEAD" else body, []
