"""Round 35: S3 request headers moto's server ignores or fails on (each check returns None when moto may answer, else
(status, body, headers)):

- ``x-amz-expected-bucket-owner`` (boto3's ``ExpectedBucketOwner``) naming an account other than the bucket's: 403
  AccessDenied (S3's bucket owner condition; moto served the request); ``x-amz-source-expected-bucket-owner`` the same
  for a copy's source bucket;
- ``x-amz-tagging`` (PutObject's ``Tagging``) naming one key twice: 400 InvalidTag, as PutObjectTagging answers
  (moto kept the last);
- ``x-amz-acl`` that is no canned ACL: 400 InvalidArgument (moto: 500) [unc: S3's message, which the sandbox makes
  name the canned ACLs];
- an unsigned GetObject with ``response-*`` overrides: 400 InvalidRequest (S3 honours them only on signed requests;
  moto served the object with the Content-Type asked for).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote

CANNED_ACLS = {"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
               "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}


def _error(status: int, code: str, message: str, method: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    status, body, headers = error(status, code, message, **extra)
    return status, b"" if method == "HEAD" else body, headers


def _owner(name: str) -> str | None:
    from moto.s3.models import s3_backends

    where = s3_backends.bucket_accounts.get(name)
    return where[1] if where else None


def check(environ: dict, name: str, method: str):
    expected = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
    if expected is not None and expected != _owner(name):
        return _error(403, "AccessDenied", "Access Denied", method)
    source_owner = environ.get("HTTP_X_AMZ_SOURCE_EXPECTED_BUCKET_OWNER")
    source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    if source_owner is not None and source:
        source_bucket = unquote(source.partition("?")[0]).lstrip("/").partition("/")[0]
        if source_owner != _owner(source_bucket):
            return _error(403, "AccessDenied", "Access Denied", method)
    acl = environ.get("HTTP_X_AMZ_ACL")
    if acl is not None and method in ("PUT", "POST") and acl.strip() not in CANNED_ACLS:
        return _error(400, "InvalidArgument", "x-amz-acl must be a canned ACL: " + ", ".join(sorted(CANNED_ACLS)),
                      method, ArgumentName="x-amz-acl", ArgumentValue=_xml(acl[:64]))
    tagging = environ.get("HTTP_X_AMZ_TAGGING")
    if tagging and method in ("PUT", "POST"):
        keys = [k for k, _ in parse_qsl(tagging, keep_blank_values=True)]
        if len(keys) != len(set(keys)):
            return _error(400, "InvalidTag", "Cannot provide multiple Tags with the same key", method)
    return None


def anonymous_overrides(environ: dict):
    """An unsigned GET naming ``response-*`` parameters."""
    if environ.get("REQUEST_METHOD") != "GET":
        return None
    names = [n for n, _ in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)]
    if not any(n.startswith("response-") for n in names):
        return None
    return _error(400, "InvalidRequest", "Request specific response headers cannot be used for anonymous GET "
                  "requests.", "GET")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
