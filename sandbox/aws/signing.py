"""S3's signature checks, which moto's server leaves out (it serves any signature, any key, and a presigned URL
past its expiry). Signature Version 4 (headers, or a presigned URL with ``X-Amz-*`` parameters) and the query
form of version 2 (boto3's default presigned URL: ``AWSAccessKeyId``, ``Expires``, ``Signature``):

- a presigned URL past its expiry (v4: ``X-Amz-Date`` + ``X-Amz-Expires``; v2: ``Expires``) is 403 AccessDenied
  "Request has expired" (with S3's ``X-Amz-Expires`` (v4) / ``Expires`` / ``ServerTime`` elements);
  an ``X-Amz-Expires`` that is no whole number of seconds from 1 to 604800 (a week) is 400
  AuthorizationQueryParametersError;
- a request (header- or query-signed) whose access key's secret is known (the server's ``credentials``, moto's
  IAM access keys and STS-issued credentials) must carry the signature S3 computes: 403 SignatureDoesNotMatch
  otherwise (the query tampered with, a wrong secret key);
- an access key nobody issued is accepted, as moto does, unless the server is ``strict_keys``: then 403
  InvalidAccessKeyId;
- (round 35) a v4 query signature with another ``X-Amz-Algorithm`` or without one of its six parameters: 400
  AuthorizationQueryParametersError (moto served it as unsigned); one dated more than 15 minutes ahead: 403
  AccessDenied "Request is not valid yet" [unc]; a header-signed S3 request dated more than 15 minutes from the
  server's clock: 403 RequestTimeTooSkewed with ``MaxAllowedSkewMilliseconds`` 900000.

The path signed is the request target's (a proxied request's absolute URL without its scheme and host); a v2
presigned URL on a virtual host (``bucket.host/key``) is signed over ``/bucket/key``.

The payload hash is the request's ``x-amz-content-sha256`` as sent (UNSIGNED-PAYLOAD for a presigned URL): the
body itself is not hashed again, as S3 checks that separately (XAmzContentSHA256Mismatch, not emulated).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from sandbox.aws.addressing import request_target, virtual_bucket
from sandbox.core.numbers import ascii_int

ALGORITHM = "AWS4-HMAC-SHA256"
WEEK = 604800
SKEW = timedelta(minutes=15)  # how far a request's date may be from the server's clock
QUERY_AUTH = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature"}  # any of them: a v4 query signature
QUERY_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders",
                  "X-Amz-Expires")
_HEADER_AUTH = re.compile(
    r"AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]+)"
)


def _mismatch(key_id: str, to_sign: str, provided: str, **extra: str):
    """S3's 403 for a signature that does not match (what it shows: the key, the string to sign, the signature)."""
    return _error(
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method.",
        AWSAccessKeyId=key_id,
        StringToSign=to_sign,
        SignatureProvided=provided,
        **extra,
    )


def _error(status: int, code: str, message: str, **extra: str) -> tuple[int, bytes, list]:
    more = "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in extra.items())
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>{more}'
        "<RequestId>projectx-sandbox</RequestId></Error>"
    )
    return status, body.encode(), []


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _pairs(raw_query: str) -> list[tuple[str, str]]:
    out = []
    for part in raw_query.split("&") if raw_query else []:
        key, _, value = part.partition("=")
        out.append((unquote(key), unquote(value)))
    return out


def _canonical_query(pairs: list[tuple[str, str]]) -> str:
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def _header(environ: dict, name: str) -> str:
    if name == "content-type":
        value = environ.get("CONTENT_TYPE", "")
    elif name == "content-length":
        value = environ.get("CONTENT_LENGTH", "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(str(value).split())


def _signature(
    secret: str, environ: dict, path: str, query: str, signed: str, payload: str, stamp: str, scope: str
) -> tuple[str, str, str]:
    """(signature, string to sign, canonical request) of a request, as S3 computes them."""
    names = signed.split(";")
    headers = "".join(f"{n}:{_header(environ, n)}\n" for n in names)
    canonical = "\n".join([environ.get("REQUEST_METHOD", "GET"), path, query, headers, signed, payload])
    # WSGI hands header values over as latin-1 text: encoding back gives the bytes sent, which the client hashed
    raw = canonical.encode("latin-1", "replace")
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(raw).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest(), to_sign, canonical


def _stamp(value: str) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def check(environ: dict, secret_of, strict_keys: bool, now: datetime | None = None, body: bytes = b""):
    """None when the request may go on, else (status, body, headers) of S3's refusal. ``secret_of(key_id)``
    gives a known access key's secret, or None. ``body``: the payload other services (STS) sign by its hash,
    as they send no x-amz-content-sha256."""
    raw = request_target(environ)
    path, _, raw_query = raw.partition("?")
    pairs = _pairs(raw_query if "?" in raw else environ.get("QUERY_STRING", ""))
    params = dict(pairs)
    now = now or datetime.now(UTC)
    if QUERY_AUTH & set(params):
        if (answer := _query_parameters(params)) is not None:
            return answer
        expires_text, stamp = params.get("X-Amz-Expires", ""), params.get("X-Amz-Date", "")
        signed_at = _stamp(stamp)
        expires_in = ascii_int(expires_text, cap=WEEK + 1)  # not isdecimal() + int(): '٣' read as 3 [round 27]
        if expires_in is None or not 1 <= expires_in <= WEEK or signed_at is None:
            return _error(
                400,
                "AuthorizationQueryParametersError",
                "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
                if signed_at
                else "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
            )
        expires = signed_at + timedelta(seconds=expires_in)
        if signed_at - now > SKEW:  # [unc: S3-compatible servers' answer; S3 refuses a URL dated ahead]
            return _error(403, "AccessDenied", "Request is not valid yet")
        if now > expires:
            return _error(
                403,
                "AccessDenied",
                "Request has expired",
                **{
                    "X-Amz-Expires": expires_text,
                    "Expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "ServerTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
        credential, signed = params.get("X-Amz-Credential", ""), params.get("X-Amz-SignedHeaders", "host")
        provided = params.get("X-Amz-Signature", "")
        payload = params.get("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
        query = _canonical_query([(k, v) for k, v in pairs if k != "X-Amz-Signature"])
    elif "Signature" in params and "AWSAccessKeyId" in params and "Expires" in params:
        return _check_v2_query(environ, path, pairs, secret_of, strict_keys, now)
    else:
        match = _HEADER_AUTH.match(environ.get("HTTP_AUTHORIZATION", ""))
        if match is None:
            return None  # anonymous or SigV2: left to moto
        credential, signed, provided = match.groups()
        stamp = environ.get("HTTP_X_AMZ_DATE", "")
        payload = environ.get("HTTP_X_AMZ_CONTENT_SHA256") or hashlib.sha256(body).hexdigest()
        query = _canonical_query(pairs)
        if (answer := _skewed(credential, stamp, now)) is not None:
            return answer
    key_id, _, scope = credential.partition("/")
    secret = secret_of(key_id)
    if secret is None:
        return _unknown_key(key_id, strict_keys)
    expected, to_sign, canonical = _signature(secret, environ, path, query, signed, payload, stamp, scope)
    if not hmac.compare_digest(expected, provided):
        return _mismatch(key_id, to_sign, provided, CanonicalRequest=canonical)
    return None


def _query_parameters(params: dict[str, str]):
    """A v4 query signature names its algorithm, AWS4-HMAC-SHA256, and carries all six parameters: else 400
    AuthorizationQueryParametersError (a URL whose X-Amz-Algorithm was changed or whose X-Amz-Signature was cut off
    was served as an unsigned request)."""
    algorithm = params.get("X-Amz-Algorithm")
    if algorithm is not None and algorithm != ALGORITHM:
        return _error(400, "AuthorizationQueryParametersError", f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    if any(name not in params for name in QUERY_REQUIRED) or not params.get("X-Amz-Signature"):
        return _error(400, "AuthorizationQueryParametersError", "Query-string authentication version 4 requires the "
                      "X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                      "X-Amz-Expires parameters.")
    return None


def _skewed(credential: str, stamp: str, now: datetime):
    """A header-signed S3 request dated more than 15 minutes away from the server's clock: 403
    RequestTimeTooSkewed (moto served it). Other services (STS) answer otherwise and are left alone."""
    signed_at = _stamp(stamp)
    if "/s3/aws4_request" not in credential or signed_at is None or abs(now - signed_at) <= SKEW:
        return None
    return _error(403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too "
                  "large.", RequestTime=stamp, ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  MaxAllowedSkewMilliseconds=str(int(SKEW.total_seconds() * 1000)))


def _unknown_key(key_id: str, strict_keys: bool):
    if not strict_keys:
        return None
    return _error(
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
        AWSAccessKeyId=key_id,
    )


def _check_v2_query(
    environ: dict, path: str, pairs: list[tuple[str, str]], secret_of, strict_keys: bool, now: datetime
):
    """A version 2 presigned URL: its expiry, then (a known key) its HMAC-SHA1 signature over S3's string to sign
    (verb, Content-MD5, Content-Type, Expires, the x-amz- headers, the path with the sub-resources it names)."""
    params = dict(pairs)
    key_id, expires_text, provided = params["AWSAccessKeyId"], params["Expires"], params["Signature"]
    expires_at = ascii_int(expires_text)  # not isdecimal() + int(): '٣' read as 3, 5,000 digits a 500 [round 27]
    if expires_at is None:
        return _error(403, "AccessDenied", "Invalid date (should be seconds since epoch): " + expires_text[:64])
    if now.timestamp() > expires_at:
        expires = datetime.fromtimestamp(expires_at, UTC)
        return _error(
            403,
            "AccessDenied",
            "Request has expired",
            Expires=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
            ServerTime=now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    secret = secret_of(key_id)
    if secret is None:
        return _unknown_key(key_id, strict_keys)
    from botocore.auth import HmacV1Auth  # the sub-resources S3 signs (moto depends on botocore)

    subs = sorted((k, v) for k, v in pairs if k in HmacV1Auth.QSAOfInterest)
    query = "?" + "&".join(f"{k}={v}" if v else k for k, v in subs) if subs else ""
    # x-amz- headers botocore moved into the query (x-amz-security-token ...) count as headers; Content-Type /
    # Content-MD5 are the request's, or the query's when the request has none [unc: S3 may want the header]
    amz = {
        k[5:].lower().replace("_", "-"): " ".join(_sent(v).split())
        for k, v in environ.items()
        if k.startswith("HTTP_X_AMZ_")
    }
    amz.update({k.lower(): v for k, v in pairs if k.lower().startswith("x-amz-")})
    md5 = _sent(environ.get("HTTP_CONTENT_MD5", "")) or params.get("content-md5", "")
    kind = _sent(environ.get("CONTENT_TYPE", "")) or params.get("content-type", "")
    to_sign = "\n".join([environ.get("REQUEST_METHOD", "GET"), md5, kind, expires_text, ""])
    to_sign += "".join(f"{k}:{v}\n" for k, v in sorted(amz.items()))
    # a bucket's own resource is "/bucket/" (what botocore signs for path-style "/bucket" too); virtual-host style
    # (bucket.host/key) signs "/bucket/key"
    paths = [path, path + "/"] if path.count("/") == 1 and len(path) > 1 else [path]
    bucket = virtual_bucket(environ.get("HTTP_HOST", ""))
    if bucket is not None:
        paths.append("/" + bucket + path)
    signed = [to_sign + p + query for p in paths]
    if not any(hmac.compare_digest(_v2(secret, text), provided) for text in signed):
        return _mismatch(key_id, signed[-1], provided)
    return None


def _sent(value: str) -> str:
    """A WSGI header value (latin-1 text of the bytes sent) as the UTF-8 text the client signed."""
    return str(value).encode("latin-1", "replace").decode("utf-8", "replace")


def _v2(secret: str, text: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).digest()).decode()


def moto_secret(key_id: str) -> str | None:
    """The secret of an access key moto issued: an IAM user's access key or STS credentials."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account in list(sts_backends.keys()):
        for role in sts_backends[account]["aws"].assumed_roles:
            if role.access_key_id == key_id:
                return role.secret_access_key
    for account in list(iam_backends.keys()):
        for partition in list(iam_backends[account].keys()):
            for user in iam_backends[account][partition].users.values():
                for key in user.access_keys:
                    if key.access_key_id == key_id:
                        return key.secret_access_key
    return None
