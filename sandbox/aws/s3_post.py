"""Browser-based uploads (POST of a form to a bucket, what boto3's ``generate_presigned_post`` prepares): S3 checks the
form against its signed policy, which moto's server did not (it stored any form: a forged signature, a policy past
its expiration, a key the policy does not allow, a file over its content-length-range):

- the policy's signature: SigV4 (``x-amz-signature`` over the base64 policy with the key ``x-amz-credential``
  scopes) or v2 (``signature``, HMAC-SHA1): a known key with the wrong one is 403 SignatureDoesNotMatch; an unknown
  key is accepted unless the server is ``strict_keys`` (403 InvalidAccessKeyId), as for other requests;
- a policy past its ``expiration``: 403 AccessDenied "Invalid according to Policy: Policy expired.";
- each condition (``{"field": value}``, ``["eq", "$field", value]``, ``["starts-with", "$field", prefix]``; the
  bucket's is the bucket posted to) that the form does not meet: 403 AccessDenied "Invalid according to Policy:
  Policy Condition failed: [...]"; a form field no condition names (besides the signature, policy, file, key id and
  ``x-ignore-`` fields): 403 AccessDenied "... Extra input fields: name";
- a file outside ``["content-length-range", min, max]``: 400 EntityTooLarge / EntityTooSmall;
- ``success_action_status`` 201 answers S3's PostResponse document (Location, Bucket, Key, ETag; moto: empty).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
from datetime import UTC, datetime
from urllib.parse import quote

EXEMPT = {"x-amz-signature", "signature", "awsaccesskeyid", "file", "policy"}


def _error(status: int, code: str, message: str, **extra: str):
    from sandbox.aws.s3_checks import _error as error

    return error(status, code, message, **extra)


def _denied(message: str):
    return _error(403, "AccessDenied", "Invalid according to Policy: " + message)


def is_form_post(environ: dict) -> bool:
    return environ.get("REQUEST_METHOD") == "POST" and environ.get("CONTENT_TYPE", "").lower().startswith(
        "multipart/form-data")


def _form(environ: dict):
    """(fields by lower-case name, file name, file size) of the posted form; the body is put back for moto."""
    from werkzeug.formparser import parse_form_data

    length = environ.get("CONTENT_LENGTH") or ""
    body = environ["wsgi.input"].read(int(length)) if length.isdecimal() else b""
    environ["wsgi.input"] = io.BytesIO(body)
    copy = dict(environ, **{"wsgi.input": io.BytesIO(body)})
    _, form, files = parse_form_data(copy)
    fields = {name.lower(): value for name, value in form.items()}
    upload = files.get("file")
    size = len(upload.read()) if upload is not None else 0
    return fields, (upload.filename or "") if upload is not None else "", size


def check(environ: dict, bucket_name: str, secret_of, strict_keys: bool, now: datetime | None = None):
    """None when moto may store the form's file, else (status, body, headers). Marks the request
    (``sandbox.post_key``) for the PostResponse of a 201."""
    fields, filename, size = _form(environ)
    encoded = fields.get("policy")
    if encoded is None:
        return None  # an anonymous form without policy: left to moto (and the bucket's ACL)
    refused = _signature(fields, encoded, secret_of, strict_keys)  # over the policy as sent, before reading it
    if refused is not None:
        return refused
    try:
        policy = json.loads(base64.b64decode(encoded))
    except (binascii.Error, ValueError, RecursionError):
        return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    if not isinstance(policy, dict):  # [unc: S3's message for a policy that is not a JSON object]
        return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.")
    now = now or datetime.now(UTC)
    expiration = str(policy.get("expiration", ""))
    try:
        expires = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    except ValueError:
        return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: " + _xml(expiration))
    if now > (expires if expires.tzinfo else expires.replace(tzinfo=UTC)):
        return _denied("Policy expired.")
    conditions = policy.get("conditions", [])
    if not isinstance(conditions, list):  # [unc: S3's message]
        return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid 'conditions' value.")
    named = set()
    for condition in conditions:
        refused = _condition(condition, fields, bucket_name, size, named)
        if refused is not None:
            return refused
    extra = [n for n in fields if n not in named and n not in EXEMPT and not n.startswith("x-ignore-")]
    if extra:
        return _denied("Extra input fields: " + ", ".join(sorted(extra)))
    environ["sandbox.post_key"] = fields.get("key", "").replace("${filename}", filename)
    return None


def _condition(condition, fields: dict, bucket_name: str, size: int, named: set):
    values = dict(fields, bucket=bucket_name)
    if isinstance(condition, dict):
        for name, wanted in condition.items():
            named.add(name.lower())
            if values.get(name.lower()) != wanted:
                return _denied(_xml(f'Policy Condition failed: ["eq", "${name}", "{wanted}"]'))
        return None
    if not isinstance(condition, list) or not condition:
        return _invalid(condition)
    op = str(condition[0]).lower()
    if op == "content-length-range" and len(condition) == 3:
        low, high = _integer(condition[1]), _integer(condition[2])
        if low is None or high is None:
            return _invalid(condition)
        if size > high:
            return _error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                          ProposedSize=str(size), MaxSizeAllowed=str(high))
        if size < low:
            return _error(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                          ProposedSize=str(size), MinSizeAllowed=str(low))
        return None
    if op in ("eq", "starts-with") and len(condition) == 3 and str(condition[1]).startswith("$"):
        name = str(condition[1])[1:].lower()
        named.add(name)
        value, wanted = values.get(name, ""), str(condition[2])
        if (op == "eq" and value != wanted) or (op == "starts-with" and not value.startswith(wanted)):
            return _denied(_xml(f'Policy Condition failed: ["{op}", "{condition[1]}", "{wanted}"]'))
        return None
    return _invalid(condition)


def _invalid(condition):
    return _error(400, "InvalidPolicyDocument", "Invalid Policy: Invalid Condition: " + _xml(json.dumps(condition)))


def _integer(value):
    """A content-length-range bound: a JSON integer or a string of digits [unc: whether S3 takes the string form],
    else None (S3: 400 InvalidPolicyDocument)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdecimal() and len(value) < 19:
        return int(value)
    return None


def _xml(text: str) -> str:
    from sandbox.aws.s3_listing import _xml as escape

    return escape(text)


def _signature(fields: dict, encoded: str, secret_of, strict_keys: bool):
    if "x-amz-signature" in fields:
        credential = fields.get("x-amz-credential", "")
        key_id, _, scope = credential.partition("/")
        secret = secret_of(key_id)
        if secret is None:
            return _unknown(key_id, strict_keys)
        key = ("AWS4" + secret).encode()
        for part in scope.split("/"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        expected = hmac.new(key, encoded.encode(), hashlib.sha256).hexdigest()
        provided = fields["x-amz-signature"]
    elif "signature" in fields:
        key_id = fields.get("awsaccesskeyid", "")
        secret = secret_of(key_id)
        if secret is None:
            return _unknown(key_id, strict_keys)
        expected = base64.b64encode(hmac.new(secret.encode(), encoded.encode(), hashlib.sha1).digest()).decode()
        provided = fields["signature"]
    else:
        return _error(403, "AccessDenied", "Access Denied")  # a policy nobody signed [unc: S3's exact answer]
    # bytes: compare_digest refuses str holding anything but ASCII (a TypeError, so HTTP 500)
    if not hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace")):
        return _error(403, "SignatureDoesNotMatch", "The request signature we calculated does not match the "
                      "signature you provided. Check your key and signing method.", AWSAccessKeyId=_xml(key_id),
                      StringToSign=_xml(encoded), SignatureProvided=_xml(provided))
    return None


def _unknown(key_id: str, strict_keys: bool):
    if not strict_keys:
        return None
    return _error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
                  AWSAccessKeyId=_xml(key_id))


def post_response(environ: dict, bucket, key_name: str) -> bytes:
    """S3's document for a form upload answered 201."""
    key = bucket.keys.get(key_name)
    etag = key.etag if key is not None and hasattr(key, "etag") else ""
    scheme = environ.get("wsgi.url_scheme", "http")
    location = f"{scheme}://{environ.get('HTTP_HOST', '')}/{quote(bucket.name)}/{quote(key_name)}"
    from sandbox.aws.s3_listing import _xml as escape

    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>{escape(location)}</Location>'
            f"<Bucket>{escape(bucket.name)}</Bucket><Key>{escape(key_name)}</Key><ETag>{escape(etag)}</ETag>"
            "</PostResponse>").encode()
