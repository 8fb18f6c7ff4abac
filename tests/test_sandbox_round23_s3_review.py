"""Round 23 review of the S3 sandbox (boto3 unchanged):

- a key whose current version is a delete marker: only GetObject / HeadObject answer as for a deleted key; a live
  multipart upload's parts (ListParts) are listed (the sandbox answered 404 NoSuchKey to every GET of the key);
- an unsigned GET of such a key in a private bucket is 403 AccessDenied (it was 404 NoSuchKey, telling someone who
  may not list the bucket that the key had been there);
- malformed form-upload policies are 400 InvalidPolicyDocument and a non-ASCII signature 403 SignatureDoesNotMatch
  (each was HTTP 500);
- the listing snapshot survives a key deleted while it is taken (moto's ``items()`` raised KeyError / IndexError).
"""

from __future__ import annotations

import base64
import json
import random
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from sandbox.aws import s3_listing
from tests.evidence.aws import s3_client

BUCKET = "round23-review"


pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def server(s3_module_server):
    return s3_module_server


def _client(server, **config):
    return s3_client(server, **config)


@pytest.fixture(scope="module")
def s3(server):
    client = _client(server)
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def _refused(call, **kwargs):
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_parts_of_a_live_upload_listed_when_the_key_is_a_delete_marker(s3):
    s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
    s3.delete_object(Bucket=BUCKET, Key="k")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="k")["UploadId"]
    s3.upload_part(Bucket=BUCKET, Key="k", UploadId=upload, PartNumber=1, Body=b"y" * 10)
    parts = s3.list_parts(Bucket=BUCKET, Key="k", UploadId=upload)
    assert [(p["PartNumber"], p["Size"]) for p in parts["Parts"]] == [(1, 10)]
    # GetObject itself still answers as for a deleted key, with the marker's headers
    with pytest.raises(ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="k", ResponseContentType="text/plain")
    response = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"]) == (
        "NoSuchKey", "true")
    # tagging / acl of a deleted key: 404 NoSuchKey as S3-compatible stores document [unc: AWS's own answer]
    for call in (s3.get_object_tagging, s3.get_object_acl):
        assert _refused(call, Bucket=BUCKET, Key="k") == (404, "NoSuchKey")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="k", UploadId=upload, MultipartUpload={"Parts": [
        {"PartNumber": 1, "ETag": parts["Parts"][0]["ETag"]}]})
    assert s3.get_object(Bucket=BUCKET, Key="k")["Body"].read() == b"y" * 10


def test_unsigned_get_of_a_deleted_key_in_a_private_bucket_is_access_denied(server, s3):
    s3.put_object(Bucket=BUCKET, Key="gone", Body=b"x", ACL="public-read")
    s3.delete_object(Bucket=BUCKET, Key="gone")
    anonymous = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1",
                             config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    assert _refused(anonymous.get_object, Bucket=BUCKET, Key="gone") == (403, "AccessDenied")
    assert _refused(anonymous.get_object, Bucket=BUCKET, Key="never-was") == (403, "AccessDenied")
    assert _refused(anonymous.head_object, Bucket=BUCKET, Key="gone")[0] == 403
    assert _refused(s3.get_object, Bucket=BUCKET, Key="gone") == (404, "NoSuchKey")  # the owner may list


def _post(form: dict, **fields):
    data = dict(form["fields"], **fields)
    response = requests.post(form["url"], data=data, files={"file": ("f", b"x")}, timeout=10)
    code = ET.fromstring(response.content).findtext("Code") if response.content else None
    return response.status_code, code


def _policy(document) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


@pytest.fixture(scope="module")
def form(server, s3):
    return _client(server, signature_version="s3v4").generate_presigned_post(BUCKET, "posted")


UNKNOWN = {"x-amz-credential": "UNKNOWNKEY/20261206/us-east-1/s3/aws4_request"}  # not strict: policy is read
LATER = "2099-01-01T00:00:00Z"


@pytest.mark.parametrize("policy", [
    [], "text", 5, None,
    {"expiration": LATER, "conditions": 5},
    {"expiration": LATER, "conditions": {"bucket": BUCKET}},
    {"expiration": LATER, "conditions": [{"bucket": BUCKET}, ["content-length-range", "a", "b"]]},
    {"expiration": LATER, "conditions": [{"bucket": BUCKET}, ["content-length-range", None, [1]]]},
    {"expiration": LATER, "conditions": [{"bucket": BUCKET}, ["content-length-range", 0, "9" * 5000]]},
    {"expiration": LATER, "conditions": [{"bucket": BUCKET}, ["content-length-range", 0, 1e400]]},
    {"expiration": LATER, "conditions": [{"bucket": BUCKET}, ["content-length-range", "<", "²"]]},
])
def test_malformed_policy_is_invalid_policy_document(form, policy):
    assert _post(form, policy=_policy(policy), **UNKNOWN) == (400, "InvalidPolicyDocument")


def test_deeply_nested_policy_is_invalid_policy_document(form):
    encoded = base64.b64encode(b"[" * 100000 + b"]" * 100000).decode()
    assert _post(form, policy=encoded, **UNKNOWN) == (400, "InvalidPolicyDocument")


def test_non_ascii_signatures_do_not_match(server, form):
    assert _post(form, **{"x-amz-signature": "é" * 64}) == (403, "SignatureDoesNotMatch")
    v2 = _client(server, signature_version="s3").generate_presigned_post(BUCKET, "posted-v2")
    assert _post(v2, signature="ü<&") == (403, "SignatureDoesNotMatch")  # and the error document is XML


def test_fuzzed_forms_never_answer_500(form):
    rng = random.Random(23)
    alphabet = ["x", "é", "<", "$", "\u2028", "0", "9" * 30, "[", "{", '"', "\\"]
    values = [None, True, 1, -1, 1.5, "", [], {}, ["eq"], ["starts-with", "$key"], ["content-length-range", 1],
              ["eq", "$key", None], {"key": None}, ["content-length-range", True, False]]
    for _ in range(60):
        conditions = [{"bucket": BUCKET}] + [rng.choice(values) for _ in range(rng.randint(0, 3))]
        policy = {"expiration": rng.choice([LATER, "", 5, "2099-13-40", None]), "conditions": conditions}
        extra = {rng.choice(["key", "x-amz-meta-a", "Content-Type"]): "".join(rng.choices(alphabet, k=4))}
        status, _ = _post(form, policy=_policy(policy), **UNKNOWN, **extra)
        assert status < 500, policy
        status, _ = _post(form, **{"x-amz-signature": "".join(rng.choices(alphabet, k=8))}, **extra)
        assert status == 403



def test_listing_snapshot_survives_a_concurrent_delete():
    from moto.s3.utils import _VersionedKeyStore

    class Racing(_VersionedKeyStore):
        def _self_iterable(self):
            copy = dict(self)
            dict.pop(self, "b", None)  # deleted between moto's copy and its lookup
            return copy

    store = Racing()
    for name in ("a", "b", "c"):
        store[name] = SimpleNamespace(name=name)
    dict.__setitem__(store, "emptied", [])  # a name whose versions were all removed meanwhile
    names = [name for name, _ in s3_listing._snapshot(SimpleNamespace(keys=store))]
    assert sorted(names) == ["a", "b", "c"]  # the copy taken before the delete; no emptied name
