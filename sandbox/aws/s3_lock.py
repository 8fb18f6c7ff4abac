"""Round 29: S3 Object Lock as far as evidence immutability needs it, where moto's server differed (every function
returns None when moto may answer, else (status, body, headers)):

- GetObjectRetention: moto's server did not route it (500); answered here from moto's key (404
  NoSuchObjectLockConfiguration when the version has none);
- PutObjectRetention: a COMPLIANCE retention in force can be neither shortened nor turned into GOVERNANCE, nor
  removed; a GOVERNANCE one only with ``x-amz-bypass-governance-retention: true``: 403 AccessDenied otherwise (moto
  took any change); a retain-until date in the past: 400 InvalidArgument;
- writes with Object Lock headers (PutObject, CopyObject, CreateMultipartUpload): a mode without a date or a date
  without a mode, an unknown mode, a date in the past, a legal hold other than ON / OFF: 400 InvalidArgument (moto
  stored them); a legal hold ON with no mode of its own gets the bucket's default retention too, as S3 applies it to
  every new version (moto applied none);
- PutObjectLockConfiguration on a versioned bucket that already holds objects is taken (moto: 400 "Bucket needs to
  be empty", so a default retention could not be set on a bucket in use, as S3 allows);
- PutBucketVersioning ``Suspended`` on a bucket with Object Lock: 409 InvalidBucketState (moto suspended it, and then
  an overwrite replaced the locked "null" version's place in line).
[unc] the messages of the 400s are S3's as seen in the wild, not documented.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from sandbox.aws.s3_listing import NS, _xml

MODES = ("GOVERNANCE", "COMPLIANCE")
_BOTH = "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
_FUTURE = "The retain until date must be in the future!"


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def _body(environ: dict) -> bytes:
    from sandbox.aws.s3_reads import _body as read

    return read(environ) or b""


def when(text: str | None) -> datetime | None:
    """An ISO 8601 time as S3 takes it (``2030-01-01T00:00:00Z``, with fractions or an offset), or None."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(environ: dict, bucket, key: str, method: str, query: dict[str, list[str]]):
    if not key and method == "PUT" and "versioning" in query:
        return _versioning(environ, bucket)
    if not key and method == "PUT" and "object-lock" in query:
        return _configuration(environ, bucket)
    if key and "retention" in query and method == "GET":
        return _get_retention(bucket, key, query.get("versionId", [None])[0])
    if key and "retention" in query and method == "PUT":
        return _put_retention(environ, bucket, key, query.get("versionId", [None])[0])
    writing = (method == "PUT" and not ({"uploadId", "partNumber", "tagging", "acl", "legal-hold"} & set(query))) or (
        method == "POST" and "uploads" in query)
    if key and writing:
        return _write_headers(environ, bucket)
    return None


def _versioning(environ: dict, bucket):
    if not getattr(bucket, "object_lock_enabled", False):
        return None
    if re.search(rb"<Status>\s*Suspended\s*</Status>", _body(environ)):
        return _error(409, "InvalidBucketState", "An Object Lock configuration is present on this bucket, so the "
                      "versioning state cannot be changed.")
    return None


def _text(element, name: str) -> str | None:
    found = element.find(f"{{{NS}}}{name}")
    if found is None:
        found = element.find(name)
    return None if found is None or found.text is None else found.text.strip()


def _configuration(environ: dict, bucket):
    """PutObjectLockConfiguration on a bucket that holds objects (moto refused every one): taken as S3 takes it."""
    if not bucket.keys or not bucket.is_versioned:
        return None  # moto's own answer (an empty bucket; versioning not enabled: 409 InvalidBucketState)
    malformed = _error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                       "our published schema")
    try:
        root = ElementTree.fromstring(_body(environ))
    except ElementTree.ParseError:
        return malformed
    if _text(root, "ObjectLockEnabled") != "Enabled":
        return malformed
    mode = days = years = None
    rule = root.find(f"{{{NS}}}Rule") if root.find(f"{{{NS}}}Rule") is not None else root.find("Rule")
    if rule is not None:
        default = rule.find(f"{{{NS}}}DefaultRetention")
        default = default if default is not None else rule.find("DefaultRetention")
        if default is None:
            return malformed
        mode, days, years = _text(default, "Mode"), _text(default, "Days"), _text(default, "Years")
        numbers = [n for n in (days, years) if n is not None]
        if mode not in MODES or len(numbers) != 1 or not numbers[0].isdecimal() or int(numbers[0]) < 1:
            return malformed
    bucket.object_lock_enabled = True
    bucket.default_lock_mode = mode
    bucket.default_lock_days = int(days) if days else 0
    bucket.default_lock_years = int(years) if years else 0
    return 200, b"", [("Content-Length", "0")]


def _version(bucket, key: str, version: str | None):
    """moto's version of ``key`` (the current one without ``version``), a delete marker, or None."""
    versions = bucket.keys.getlist(key, [])
    if version:
        found = [v for v in versions if str(getattr(v, "version_id", "")) == version]
        return found[0] if found else None
    return versions[-1] if versions else None


def _missing(bucket, key: str, version: str | None):
    from moto.s3.models import FakeDeleteMarker

    found = _version(bucket, key, version)
    if found is None and version:
        return None, _error(404, "NoSuchVersion", "The specified version does not exist.", Key=_xml(key),
                            VersionId=_xml(version))
    if found is None:
        return None, _error(404, "NoSuchKey", "The specified key does not exist.", Key=_xml(key))
    if isinstance(found, FakeDeleteMarker):
        status, body, _ = _error(405, "MethodNotAllowed", "The specified method is not allowed against this "
                                 "resource.", Method="GET", ResourceType="DeleteMarker")
        return None, (status, body, [("x-amz-delete-marker", "true")])
    return found, None


def _lock_error(bucket):
    if getattr(bucket, "object_lock_enabled", False):
        return None
    return _error(400, "InvalidRequest", "Bucket is missing Object Lock Configuration")


def _get_retention(bucket, key: str, version: str | None):
    if (refused := _lock_error(bucket)) is not None:
        return refused
    found, refused = _missing(bucket, key, version)
    if refused is not None:
        return refused
    mode, until = getattr(found, "lock_mode", None), when(getattr(found, "lock_until", None))
    if mode not in MODES or until is None:
        return _error(404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock "
                      "configuration")
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Retention xmlns="{NS}"><Mode>{mode}</Mode>'
            f"<RetainUntilDate>{_stamp(until)}</RetainUntilDate></Retention>")
    return 200, body.encode(), [("Content-Type", "application/xml")]


def _put_retention(environ: dict, bucket, key: str, version: str | None):
    if (refused := _lock_error(bucket)) is not None:
        return refused
    found, refused = _missing(bucket, key, version)
    if refused is not None:
        return refused
    try:
        root = ElementTree.fromstring(_body(environ))
    except ElementTree.ParseError:
        return _error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                      "our published schema")
    mode, until_text = _text(root, "Mode"), _text(root, "RetainUntilDate")
    until = when(until_text)
    now = datetime.now(UTC)
    if (mode is None) != (until_text is None) or (mode is not None and mode not in MODES) or (
            until_text is not None and until is None):
        return _error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against "
                      "our published schema")
    if until is not None and until <= now:
        return _error(400, "InvalidArgument", _FUTURE)
    old_mode, old_until = getattr(found, "lock_mode", None), when(getattr(found, "lock_until", None))
    if old_mode in MODES and old_until is not None and old_until > now:
        weaker = until is None or until < old_until  # GOVERNANCE -> COMPLIANCE, or later: no bypass [unc]
        if old_mode == "COMPLIANCE" and (weaker or mode != "COMPLIANCE"):
            return _error(403, "AccessDenied", "Access Denied")
        bypass = environ.get("HTTP_X_AMZ_BYPASS_GOVERNANCE_RETENTION", "").strip().lower() == "true"
        if old_mode == "GOVERNANCE" and weaker and not bypass:
            return _error(403, "AccessDenied", "Access Denied")
    found.lock_mode = mode
    found.lock_until = _stamp(until) if until is not None else None
    return 200, b"", [("Content-Length", "0")]


def _write_headers(environ: dict, bucket):
    """Object Lock headers on an object write; a legal hold header alone (ON or OFF, as moto does) gets the
    bucket's default retention too."""
    mode = environ.get("HTTP_X_AMZ_OBJECT_LOCK_MODE")
    until_text = environ.get("HTTP_X_AMZ_OBJECT_LOCK_RETAIN_UNTIL_DATE")
    hold = environ.get("HTTP_X_AMZ_OBJECT_LOCK_LEGAL_HOLD")
    if mode is None and until_text is None and hold is None:
        return None
    if (refused := _lock_error(bucket)) is not None:
        return refused
    if (mode is None) != (until_text is None):
        return _error(400, "InvalidArgument", _BOTH)
    if mode is not None and mode.strip() not in MODES:
        return _error(400, "InvalidArgument", "Unknown wormMode directive.")
    if hold is not None and hold.strip() not in ("ON", "OFF"):
        return _error(400, "InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
    for name, value in (("HTTP_X_AMZ_OBJECT_LOCK_MODE", mode), ("HTTP_X_AMZ_OBJECT_LOCK_LEGAL_HOLD", hold)):
        if value is not None:
            environ[name] = value.strip()  # stored as checked, never " GOVERNANCE"
    if until_text is not None:
        until = when(until_text)
        if until is None:
            return _error(400, "InvalidArgument", "The retain until date must be provided in ISO 8601 format")
        if until <= datetime.now(UTC):
            return _error(400, "InvalidArgument", _FUTURE)
        environ["HTTP_X_AMZ_OBJECT_LOCK_RETAIN_UNTIL_DATE"] = _stamp(until)  # the form moto's is_locked reads
    elif getattr(bucket, "default_lock_mode", None):  # a legal hold alone: the default retention as well
        days = (getattr(bucket, "default_lock_days", 0) or 0) + 365 * (getattr(bucket, "default_lock_years", 0) or 0)
        environ["HTTP_X_AMZ_OBJECT_LOCK_MODE"] = bucket.default_lock_mode
        environ["HTTP_X_AMZ_OBJECT_LOCK_RETAIN_UNTIL_DATE"] = _stamp(datetime.now(UTC) + timedelta(days=days))
    return None
