"""Which bucket and key an S3 request names, read the way moto's server reads them: shared by the signature checks
(``signing``) and the S3 checks (``s3_checks``)."""

from __future__ import annotations

import re
from types import SimpleNamespace

_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(.*)$", re.S)


def request_target(environ: dict) -> str:
    """The request line's path and query as sent. A client going through an HTTP proxy (boto3 with ``proxies``
    or HTTP_PROXY) sends the absolute form ``http://host:port/path?query``: the client signed only the path."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/")
    match = _ABSOLUTE.match(raw)
    if match is None:
        return raw
    rest = match.group(1)
    return rest if rest.startswith("/") else "/" + rest


def virtual_bucket(host: str) -> str | None:
    """The bucket a virtual-host style request names in its Host (``bucket.localhost:port``), by moto's own rule for
    which hosts are that (not an IP, not ``localhost``, not ``s3.amazonaws.com`` ...); None for path style."""
    from moto.s3.responses import S3Response
    from moto.s3.utils import bucket_name_from_url

    if not host or not S3Response.subdomain_based_buckets(SimpleNamespace(headers={"host": host}, url=f"http://{host}/")):
        return None
    return bucket_name_from_url(f"http://{host}/") or None


def bucket_and_key(host: str, path: str) -> tuple[str, str]:
    """(bucket, key) of a decoded path: virtual-host style takes the bucket from the host and the whole path as the
    key; path style takes the path's first segment as the bucket."""
    bucket = virtual_bucket(host)
    if bucket is not None:
        return bucket, path[1:] if path.startswith("/") else path
    name, _, key = path.lstrip("/").partition("/")
    return name, key
