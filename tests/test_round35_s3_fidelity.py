"""Round 35: S3 through boto3 unchanged (and raw signed requests where boto3 would not send the mistake), where the
sandbox answered otherwise than S3:

- DeleteObjects without Content-MD5 or a checksum header was carried out (S3: 400 InvalidRequest); one whose
  Content-MD5 or x-amz-checksum-crc32 did not match the body too (S3: 400 BadDigest); a body that was no XML: 500;
- CompleteMultipartUpload without a body or with one that is no XML: 500 (S3: 400 MalformedXML); InvalidPart and
  EntityTooSmall named no part (S3: UploadId / PartNumber / ETag, ProposedSize / MinSizeAllowed);
- a key holding a line feed: every request on it was 404 "Not Found" with no S3 error;
- a 416 to a Range had no ``Content-Range: bytes */size``;
- PutBucketTagging took 51 tags, and keys / values over S3's lengths.
"""

from __future__ import annotations

import base64
import hashlib
import zlib

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

MB = 1024 * 1024
BUCKET = "r35-fidelity"


@pytest.fixture(scope="module")
def server():
    server = MotoAwsServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def s3(server):
    client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))
    client.create_bucket(Bucket=BUCKET)
    return client


def _refused(call, **kwargs) -> tuple[int, dict, dict]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    meta = caught.value.response["ResponseMetadata"]
    return meta["HTTPStatusCode"], caught.value.response["Error"], meta.get("HTTPHeaders", {})


def _signed(server, method: str, path: str, body: bytes = b"", headers: dict | None = None, query: str = ""):
    """A request signed as boto3 signs it (SigV4, the body's SHA-256), with exactly the headers given."""
    request = botocore.awsrequest.AWSRequest(method=method, url=f"{server.url}/{path}" + (f"?{query}" if query else ""),
                                             data=body, headers=dict(headers or {}))
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    credentials = botocore.credentials.Credentials("testing", "testing")
    botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    prepared = request.prepare()
    return requests.request(method, prepared.url, headers=dict(prepared.headers), data=body, timeout=60)


def _code(response) -> str:
    return response.text.partition("<Code>")[2].partition("</Code>")[0]


def _md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def test_delete_objects_needs_a_body_digest_that_matches(server, s3):
    s3.put_object(Bucket=BUCKET, Key="del/kept", Body=b"1")
    body = b"<Delete><Object><Key>del/kept</Key></Object></Delete>"
    bare = _signed(server, "POST", BUCKET, body, query="delete=")
    assert (bare.status_code, _code(bare)) == (400, "InvalidRequest")
    assert "Missing required header for this request: Content-MD5" in bare.text
    wrong_md5 = _signed(server, "POST", BUCKET, body, {"Content-MD5": _md5(b"other")}, query="delete=")
    assert (wrong_md5.status_code, _code(wrong_md5)) == (400, "BadDigest")
    crc = base64.b64encode(zlib.crc32(b"other").to_bytes(4, "big")).decode()
    wrong_crc = _signed(server, "POST", BUCKET, body, {"x-amz-checksum-crc32": crc}, query="delete=")
    assert (wrong_crc.status_code, _code(wrong_crc)) == (400, "BadDigest")
    assert "CRC32" in wrong_crc.text
    assert s3.head_object(Bucket=BUCKET, Key="del/kept")["ContentLength"] == 1  # nothing was deleted
    malformed = (b"<Delete><Object>", b"not xml", b"<Delete></Delete>", b"<Other><Object><Key>k</Key></Object></Other>")
    for garbage in malformed:
        refused = _signed(server, "POST", BUCKET, garbage, {"Content-MD5": _md5(garbage)}, query="delete=")
        assert (refused.status_code, _code(refused)) == (400, "MalformedXML"), garbage
    right = _signed(server, "POST", BUCKET, body, {"Content-MD5": _md5(body)}, query="delete=")
    assert right.status_code == 200 and "<Deleted><Key>del/kept</Key>" in right.text
    # boto3 sends its checksum header itself (CRC32 by default, whatever request_checksum_calculation says)
    for calculation in ("when_supported", "when_required"):
        client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing",
                              config=Config(retries={"max_attempts": 1}, request_checksum_calculation=calculation))
        s3.put_object(Bucket=BUCKET, Key="del/boto", Body=b"1")
        answer = client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "del/boto"}], "Quiet": True})
        assert "Errors" not in answer and "Deleted" not in answer
        assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="del/boto")


def test_complete_without_parts_is_malformed_xml(server, s3):
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="mpu/empty")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="mpu/empty", UploadId=upload, PartNumber=1, Body=b"x")
    status, error, _ = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key="mpu/empty", UploadId=upload)
    assert (status, error["Code"]) == (400, "MalformedXML")  # moto: 500, which boto3 retries
    for body in (b"<CompleteMultipartUpload", b"<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
                 b"</CompleteMultipartUpload>"):
        refused = _signed(server, "POST", f"{BUCKET}/mpu/empty", body, query=f"uploadId={upload}")
        assert (refused.status_code, _code(refused)) == (400, "MalformedXML")
    assert [p["PartNumber"] for p in s3.list_parts(Bucket=BUCKET, Key="mpu/empty", UploadId=upload)["Parts"]] == [1]


def test_invalid_part_and_entity_too_small_name_the_part(s3):
    key = "mpu/parts"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    small = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"a" * 10)["ETag"]
    big = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=2, Body=b"b" * (5 * MB))["ETag"]
    last = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=3, Body=b"c" * 3)["ETag"]
    status, error, _ = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
                                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": small},
                                                           {"PartNumber": 2, "ETag": big}]})
    assert (status, error["Code"]) == (400, "EntityTooSmall")
    assert (error["ProposedSize"], error["MinSizeAllowed"], error["PartNumber"]) == ("10", str(5 * MB), "1")
    assert error["ETag"].strip('"') == small.strip('"')
    status, error, _ = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
                                MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": '"0123456789abcdef"'}]})
    assert (status, error["Code"], error["UploadId"], error["PartNumber"]) == (400, "InvalidPart", upload, "2")
    assert error["ETag"].strip('"') == "0123456789abcdef"
    status, error, _ = _refused(s3.complete_multipart_upload, Bucket=BUCKET, Key=key, UploadId=upload,
                                MultipartUpload={"Parts": [{"PartNumber": 7, "ETag": big}]})
    assert (status, error["Code"], error["PartNumber"]) == (400, "InvalidPart", "7")
    # a small last part is fine, and parts may be left out
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": 2, "ETag": big}, {"PartNumber": 3, "ETag": last}]})
    assert done["ETag"].endswith('-2"')
    assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == 5 * MB + 3


def test_keys_with_line_feeds_work_like_any_other(s3):
    keys = ["lf/a\nb", "lf/\n", "lf/x\r\ny", "lf/dir\n/z"]
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())  # moto: 404 "Not Found"
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
        assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == len(key.encode())
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="lf/")["Contents"]) == sorted(keys)
    assert sorted(o["Key"] for o in s3.list_objects(Bucket=BUCKET, Prefix="lf/")["Contents"]) == sorted(keys)
    s3.put_object_tagging(Bucket=BUCKET, Key=keys[0], Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=BUCKET, Key=keys[0])["TagSet"] == [{"Key": "t", "Value": "v"}]
    s3.copy_object(Bucket=BUCKET, Key="lf/copy\nof", CopySource={"Bucket": BUCKET, "Key": keys[0]})
    assert s3.get_object(Bucket=BUCKET, Key="lf/copy\nof")["Body"].read() == keys[0].encode()
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="lf/multi\npart")["UploadId"]
    etag = s3.upload_part(Bucket=BUCKET, Key="lf/multi\npart", UploadId=upload, PartNumber=1, Body=b"m")["ETag"]
    s3.complete_multipart_upload(Bucket=BUCKET, Key="lf/multi\npart", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    assert s3.get_object(Bucket=BUCKET, Key="lf/multi\npart")["Body"].read() == b"m"
    s3.delete_object(Bucket=BUCKET, Key=keys[2])
    # (a carriage return in DeleteObjects' XML is read as XML reads it: "\r\n" is "\n", on S3 too)
    deleted = s3.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": keys[1]}]})["Deleted"]
    assert [d["Key"] for d in deleted] == [keys[1]]
    left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="lf/")["Contents"])
    assert left == sorted([keys[0], keys[3], "lf/copy\nof", "lf/multi\npart"])
    status, error, _ = _refused(s3.get_object, Bucket=BUCKET, Key="lf/never\nput")
    assert (status, error["Code"]) == (404, "NoSuchKey")


def test_unsatisfiable_range_names_the_object_size(server, s3):
    s3.put_object(Bucket=BUCKET, Key="range/ten", Body=b"0123456789")
    for asked in ("bytes=10-20", "bytes=20-", "bytes=10-"):
        status, error, headers = _refused(s3.get_object, Bucket=BUCKET, Key="range/ten", Range=asked)
        assert (status, error["Code"], headers.get("content-range")) == (416, "InvalidRange", "bytes */10"), asked
        assert error["ActualObjectSize"] == "10"
    status, _, headers = _refused(s3.head_object, Bucket=BUCKET, Key="range/ten", Range="bytes=10-")
    assert (status, headers.get("content-range")) == (416, "bytes */10")
    # satisfiable ranges as before: suffix, open, past the end, and several (ignored: the whole object)
    for asked, part, answered in (("bytes=-3", b"789", "bytes 7-9/10"), ("bytes=7-", b"789", "bytes 7-9/10"),
                                  ("bytes=5-100", b"56789", "bytes 5-9/10"), ("bytes=-30", b"0123456789",
                                                                              "bytes 0-9/10")):
        got = s3.get_object(Bucket=BUCKET, Key="range/ten", Range=asked)
        assert (got["Body"].read(), got["ContentRange"], got["ResponseMetadata"]["HTTPStatusCode"]) == (
            part, answered, 206), asked
    several = _signed(server, "GET", f"{BUCKET}/range/ten", headers={"Range": "bytes=0-1,4-5"})
    assert (several.status_code, several.content, several.headers.get("Content-Range")) == (200, b"0123456789", None)


def test_bucket_tagging_limits(s3):
    s3.create_bucket(Bucket="r35-tagged")
    fifty = [{"Key": f"k{n}", "Value": "v"} for n in range(50)]
    s3.put_bucket_tagging(Bucket="r35-tagged", Tagging={"TagSet": fifty})
    for tags in ([*fifty, {"Key": "k50", "Value": "v"}], [{"Key": "k" * 129, "Value": "v"}],
                 [{"Key": "k", "Value": "v" * 257}]):
        status, error, _ = _refused(s3.put_bucket_tagging, Bucket="r35-tagged", Tagging={"TagSet": tags})
        assert (status, error["Code"]) == (400, "InvalidTag")
    assert len(s3.get_bucket_tagging(Bucket="r35-tagged")["TagSet"]) == 50  # the refused sets were not stored
    edge = [{"Key": "k" * 128, "Value": "v" * 256}]
    s3.put_bucket_tagging(Bucket="r35-tagged", Tagging={"TagSet": edge})
    assert s3.get_bucket_tagging(Bucket="r35-tagged")["TagSet"] == edge


def test_presigned_url_parameters_tampered_or_missing(server, s3):
    s3.put_object(Bucket=BUCKET, Key="presign/obj", Body=b"secret")
    v4 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing", config=Config(signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "presign/obj"}, ExpiresIn=300)
    assert requests.get(url, timeout=30).content == b"secret"
    # the algorithm changed: moto served the object as to an unsigned request
    changed = requests.get(url.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
                           timeout=30)
    assert (changed.status_code, _code(changed)) == (400, "AuthorizationQueryParametersError")
    assert 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"' in changed.text
    for name in ("X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires", "X-Amz-Credential"):
        query = "&".join(p for p in url.split("?", 1)[1].split("&") if not p.startswith(name + "="))
        cut = requests.get(url.split("?", 1)[0] + "?" + query, timeout=30)
        assert (cut.status_code, _code(cut)) == (400, "AuthorizationQueryParametersError"), name
        assert "requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature" in cut.text, name
        assert b"secret" not in cut.content


def test_clock_skew(server, s3, monkeypatch):
    import datetime as dt

    import botocore.auth

    s3.put_object(Bucket=BUCKET, Key="skew/obj", Body=b"on time")
    real = botocore.auth.get_current_datetime
    v4 = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing",
                      config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
    for offset in (dt.timedelta(minutes=20), -dt.timedelta(minutes=20)):
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda offset=offset: real() + offset)
        status, error, _ = _refused(v4.get_object, Bucket=BUCKET, Key="skew/obj")
        assert (status, error["Code"], error["MaxAllowedSkewMilliseconds"]) == (403, "RequestTimeTooSkewed", "900000")
        status, error, _ = _refused(v4.put_object, Bucket=BUCKET, Key="skew/obj", Body=b"late")
        assert (status, error["Code"]) == (403, "RequestTimeTooSkewed")
    # a presigned URL dated ahead of the server is not valid yet; one dated 20 minutes back is, for its hour
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() + dt.timedelta(minutes=20))
    ahead = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "skew/obj"}, ExpiresIn=3600)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() - dt.timedelta(minutes=20))
    behind = v4.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "skew/obj"}, ExpiresIn=3600)
    refused = requests.get(ahead, timeout=30)
    assert (refused.status_code, _code(refused)) == (403, "AccessDenied") and "not valid yet" in refused.text
    assert requests.get(behind, timeout=30).content == b"on time"
    # within 15 minutes either way: served
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real() + dt.timedelta(minutes=10))
    assert v4.get_object(Bucket=BUCKET, Key="skew/obj")["Body"].read() == b"on time"


def test_expected_bucket_owner(s3):
    s3.create_bucket(Bucket="r35-owned")
    s3.put_object(Bucket="r35-owned", Key="k", Body=b"mine")
    owner = "123456789012"  # moto's default account, which owns every bucket here
    assert s3.get_object(Bucket="r35-owned", Key="k", ExpectedBucketOwner=owner)["Body"].read() == b"mine"
    other = "111122223333"
    for call, kwargs in ((s3.get_object, {"Key": "k"}), (s3.put_object, {"Key": "k", "Body": b"theirs"}),
                         (s3.list_objects_v2, {}), (s3.delete_object, {"Key": "k"}),
                         (s3.create_multipart_upload, {"Key": "m"})):
        status, error, _ = _refused(call, Bucket="r35-owned", ExpectedBucketOwner=other, **kwargs)
        assert (status, error["Code"]) == (403, "AccessDenied"), call
    status, _, _ = _refused(s3.head_object, Bucket="r35-owned", Key="k", ExpectedBucketOwner=other)
    assert status == 403
    status, error, _ = _refused(s3.copy_object, Bucket="r35-owned", Key="copy", ExpectedSourceBucketOwner=other,
                                CopySource={"Bucket": "r35-owned", "Key": "k"})
    assert (status, error["Code"]) == (403, "AccessDenied")
    s3.copy_object(Bucket="r35-owned", Key="copy", ExpectedSourceBucketOwner=owner, ExpectedBucketOwner=owner,
                   CopySource={"Bucket": "r35-owned", "Key": "k"})
    assert s3.get_object(Bucket="r35-owned", Key="k")["Body"].read() == b"mine"  # nothing overwritten or deleted
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="r35-owned")["Contents"]] == ["copy", "k"]


def test_put_headers_moto_took_or_failed_on(server, s3):
    status, error, _ = _refused(s3.put_object, Bucket=BUCKET, Key="hdr/tags", Body=b"", Tagging="a=1&a=2")
    assert (status, error["Code"]) == (400, "InvalidTag")
    s3.put_object(Bucket=BUCKET, Key="hdr/tags", Body=b"", Tagging="a=1&b=2")
    assert len(s3.get_object_tagging(Bucket=BUCKET, Key="hdr/tags")["TagSet"]) == 2
    status, error, _ = _refused(s3.put_object, Bucket=BUCKET, Key="hdr/acl", Body=b"", ACL="nonsense")
    assert (status, error["Code"], error["ArgumentName"]) == (400, "InvalidArgument", "x-amz-acl")  # moto: 500
    s3.put_object(Bucket=BUCKET, Key="hdr/acl", Body=b"", ACL="bucket-owner-full-control")
    # an unsigned read may not ask for other response headers; a signed one may
    s3.create_bucket(Bucket="r35-public")
    s3.put_object(Bucket="r35-public", Key="p", Body=b"public", ACL="public-read")
    plain = requests.get(f"{server.url}/r35-public/p", timeout=30)
    assert (plain.status_code, plain.content) == (200, b"public")
    overridden = requests.get(f"{server.url}/r35-public/p?response-content-type=text/html", timeout=30)
    assert (overridden.status_code, _code(overridden)) == (400, "InvalidRequest")
    assert s3.get_object(Bucket="r35-public", Key="p", ResponseContentType="text/html")["ContentType"] == "text/html"


def test_not_modified_names_etag_and_last_modified(s3):
    import datetime as dt

    s3.put_object(Bucket=BUCKET, Key="cond/obj", Body=b"v1")
    head = s3.head_object(Bucket=BUCKET, Key="cond/obj")
    stamp = head["ResponseMetadata"]["HTTPHeaders"]["last-modified"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    for call, kwargs in ((s3.get_object, {"IfNoneMatch": head["ETag"]}), (s3.head_object, {"IfNoneMatch": "*"}),
                         (s3.get_object, {"IfModifiedSince": later})):
        status, _, headers = _refused(call, Bucket=BUCKET, Key="cond/obj", **kwargs)
        assert (status, headers.get("etag"), headers.get("last-modified")) == (304, head["ETag"], stamp), kwargs
    # If-Match false decides before If-None-Match: 412 naming the condition
    status, error, _ = _refused(s3.get_object, Bucket=BUCKET, Key="cond/obj", IfMatch='"other"',
                                IfNoneMatch=head["ETag"])
    assert (status, error["Code"], error["Condition"]) == (412, "PreconditionFailed", "If-Match")


# --- review of round 35 ------------------------------------------------------------------------------------------

def test_anonymous_response_overrides_do_not_tell_which_keys_a_private_bucket_holds(server, s3):
    """An unsigned GET with ``response-*`` is 400 whether or not the key exists (a 400 for existing keys beside
    a 403 for missing ones let anyone probe a private bucket's keys)."""
    s3.create_bucket(Bucket="r35-private")
    s3.put_object(Bucket="r35-private", Key="exists", Body=b"secret")
    answers = [requests.get(f"{server.url}/r35-private/{key}?response-content-type=text/plain", timeout=30)
               for key in ("exists", "missing")]
    assert [(a.status_code, _code(a)) for a in answers] == [(400, "InvalidRequest")] * 2
    plain = [requests.get(f"{server.url}/r35-private/{key}", timeout=30) for key in ("exists", "missing")]
    assert [a.status_code for a in plain] == [403, 403]  # without overrides: refused alike, as before


def test_a_trailer_header_on_a_plain_body_is_no_digest(server, s3):
    s3.put_object(Bucket=BUCKET, Key="del/trailer", Body=b"1")
    body = b"<Delete><Object><Key>del/trailer</Key></Object></Delete>"
    bare = _signed(server, "POST", BUCKET, body, {"x-amz-trailer": "x-amz-checksum-crc32"}, query="delete=")
    assert (bare.status_code, _code(bare)) == (400, "InvalidRequest"), bare.text
    assert s3.head_object(Bucket=BUCKET, Key="del/trailer")["ContentLength"] == 1


def test_delete_objects_framed_in_chunks_is_not_implemented_rather_than_a_500(server, s3):
    s3.put_object(Bucket=BUCKET, Key="del/chunked", Body=b"1")
    body = b"<Delete><Object><Key>del/chunked</Key></Object></Delete>"
    chunked = _signed(server, "POST", BUCKET, body, {"Content-MD5": _md5(body), "Content-Encoding": "aws-chunked"},
                      query="delete=")
    assert (chunked.status_code, _code(chunked)) == (501, "NotImplemented"), chunked.text
    assert s3.head_object(Bucket=BUCKET, Key="del/chunked")["ContentLength"] == 1


def test_list_buckets_needs_a_signature(server, s3):
    anonymous = requests.get(f"{server.url}/", timeout=30)
    assert (anonymous.status_code, _code(anonymous)) == (403, "AccessDenied")
    assert BUCKET not in anonymous.text
    assert requests.head(f"{server.url}/", timeout=30).status_code == 403
    assert BUCKET in {b["Name"] for b in s3.list_buckets()["Buckets"]}  # signed: listed
