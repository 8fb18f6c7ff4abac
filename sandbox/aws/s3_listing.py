"""ListObjects (v1) and ListObjectsV2 answered by the sandbox from moto's store, as S3 pages them (moto's own paging
was wrong: v1 returned every common prefix on every page, so the paginator listed them again and again, and its
NextMarker was an opaque hash even without a delimiter; v2 did not echo ContinuationToken, nor StartAfter beside
a token):

- keys and common prefixes count together towards max-keys, in UTF-8 (code point) order;
- v1: ``Marker`` echoed (empty when none), ``NextMarker`` only with a delimiter (the last key or common prefix of the
  page; without one the client goes on from the last key, as the docs say), Owner on every key;
- v2: ``ContinuationToken`` and ``StartAfter`` echoed, ``NextContinuationToken`` an opaque token the sandbox
  remembers (in moto's token table, so ``s3_checks`` refuses tokens nobody gave), Owner only with fetch-owner;
- a marker / start-after / token that is itself a common prefix resumes after every key under it (the prefix is
  not listed again) [unc: what S3 does for a marker inside a prefix it rolls up is inferred, not documented];
- ``encoding-type=url`` encodes keys, prefixes, delimiter, markers and start-after (botocore decodes them);
- objects whose latest version is a delete marker are not listed and make no common prefix.
"""

from __future__ import annotations

import base64
import os
from urllib.parse import quote

NS = "http://s3.amazonaws.com/doc/2006-03-01/"
OWNER = ("<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
         "<DisplayName>webfile</DisplayName></Owner>")  # moto's owner of every object
# query parameters a listing request may carry (besides query authentication's)
LISTING = {"list-type", "prefix", "delimiter", "max-keys", "marker", "continuation-token", "start-after",
           "encoding-type", "fetch-owner", "x-id"}
AUTH = {"AWSAccessKeyId", "Signature", "Expires", "x-amz-security-token"}


def is_listing(method: str, key: str, query: dict[str, list[str]]) -> bool:
    names = {n for n in query if not n.startswith("X-Amz-")} - AUTH
    return method == "GET" and not key and names <= LISTING and query.get("list-type", ["2"])[0] == "2"


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _items(bucket, prefix: str, delimiter: str):
    """[(name, key or None)]: the keys under ``prefix`` and the common prefixes they roll up to, sorted."""
    from moto.s3.models import FakeDeleteMarker

    keys, prefixes = [], set()
    for name, key in _snapshot(bucket):
        if not name.startswith(prefix) or isinstance(key, FakeDeleteMarker):
            continue
        rest = name[len(prefix):]
        if delimiter and delimiter in rest:
            prefixes.add(prefix + rest.split(delimiter, 1)[0] + delimiter)
        else:
            keys.append((name, key))
    return sorted(keys + [(p, None) for p in prefixes], key=lambda item: item[0])


def _snapshot(bucket) -> list:
    """The bucket's (name, current version) pairs. moto's own ``items()`` copies the store, then looks each name up
    again, which raises KeyError when another thread deleted it meanwhile: so copy the underlying dict (one C call,
    so no other thread runs during it) and take each name's last version here, skipping emptied lists."""
    pairs = []
    for name, versions in dict.copy(bucket.keys).items():
        try:
            pairs.append((name, versions[-1]))
        except (IndexError, TypeError):  # emptied meanwhile
            continue
    return pairs


def _after(items: list, marker: str) -> list:
    """The items past ``marker``: names after it (so no common prefix that holds the marker, as it sorts before)."""
    return [(n, k) for n, k in items if n > marker] if marker else items


def _token(bucket_name: str, last: str) -> str:
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket_name]
    token = base64.b64encode(os.urandom(24) + last.encode("utf-8")[:16]).decode()
    s3_backends[account][partition]._pagination_tokens[token] = last
    return token


def _resume(bucket_name: str, token: str) -> str:
    from moto.s3.models import s3_backends

    partition, account = s3_backends.bucket_accounts[bucket_name]
    return s3_backends[account][partition]._pagination_tokens.get(token, "")


def answer(bucket, query: dict[str, list[str]], max_list: int):
    """(status, body, headers) of the listing the query asks for."""
    def one(name: str) -> str:
        return query.get(name, [""])[0]

    v2 = one("list-type") == "2"
    raw_max = one("max-keys") or str(max_list)
    if not raw_max.lstrip("-").isdecimal() or int(raw_max) < 0:
        from sandbox.aws.s3_checks import _error

        return _error(400, "InvalidArgument", "Provided max-keys not an integer or within integer range",
                      ArgumentName="max-keys", ArgumentValue=_xml(raw_max))
    max_keys = min(int(raw_max), max_list)
    prefix, delimiter, url = one("prefix"), one("delimiter"), one("encoding-type") == "url"

    def enc(text: str) -> str:
        return _xml(quote(text, safe="/") if url else text)

    items = _items(bucket, prefix, delimiter)
    token, start_after, marker = one("continuation-token"), one("start-after"), one("marker")
    position = (_resume(bucket.name, token) if token else start_after) if v2 else marker
    rest = _after(items, position)
    page = rest[:max_keys]
    truncated = len(rest) > len(page) and max_keys > 0
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="{NS}">',
           f"<Name>{_xml(bucket.name)}</Name><Prefix>{enc(prefix)}</Prefix>"]
    if v2:
        if token:
            out.append(f"<ContinuationToken>{_xml(token)}</ContinuationToken>")
        if start_after:
            out.append(f"<StartAfter>{enc(start_after)}</StartAfter>")
        out.append(f"<KeyCount>{len(page)}</KeyCount>")
    else:
        out.append(f"<Marker>{enc(marker)}</Marker>")
    out.extend(page_flags(max_keys, delimiter, url, truncated, enc))
    if truncated and v2:
        out.append(f"<NextContinuationToken>{_token(bucket.name, page[-1][0])}</NextContinuationToken>")
    elif truncated and delimiter:
        out.append(f"<NextMarker>{enc(page[-1][0])}</NextMarker>")
    owner = not v2 or one("fetch-owner") == "true"
    for name, key in page:
        if key is not None:
            out.append(_contents(name, key, enc, owner))
    out.extend(f"<CommonPrefixes><Prefix>{enc(name)}</Prefix></CommonPrefixes>" for name, key in page if key is None)
    out.append("</ListBucketResult>")
    return 200, "".join(out).encode("utf-8"), [("Content-Type", "application/xml")]


def page_flags(max_keys: int, delimiter: str, url: bool, truncated: bool, enc) -> list[str]:
    """A listing page's MaxKeys, Delimiter, EncodingType and IsTruncated elements, in S3's order."""
    out = [f"<MaxKeys>{max_keys}</MaxKeys>"]
    if delimiter:
        out.append(f"<Delimiter>{enc(delimiter)}</Delimiter>")
    if url:
        out.append("<EncodingType>url</EncodingType>")
    out.append(f"<IsTruncated>{'true' if truncated else 'false'}</IsTruncated>")
    return out


def _contents(name: str, key, enc, owner: bool) -> str:
    algorithm = getattr(key, "checksum_algorithm", None)
    return "".join([
        f"<Contents><Key>{enc(name)}</Key><LastModified>{key.last_modified_ISO8601}</LastModified>",
        f"<ETag>{_xml(key.etag)}</ETag>",
        f"<ChecksumAlgorithm>{algorithm}</ChecksumAlgorithm>" if algorithm else "",
        f"<Size>{key.size}</Size>",
        OWNER if owner else "",
        f"<StorageClass>{key.storage_class}</StorageClass></Contents>",
    ])
