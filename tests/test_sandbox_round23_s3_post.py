"""Round 23: browser-based uploads (boto3's generate_presigned_post, posted with requests) are checked against their
signed policy as S3 checks them; moto stored any form: a forged or tampered signature, an expired policy, a key or
field the policy does not allow, a file over its content-length-range. A 201 answers S3's PostResponse document."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.config import Config

BUCKET = "round23-post"


pytestmark = pytest.mark.usefixtures("no_aws_env")


@pytest.fixture(scope="module")
def server(s3_module_server):
    _client(s3_module_server, "s3v4").create_bucket(Bucket=BUCKET)
    return s3_module_server


def _client(server, version: str, key: str = "testing", secret: str = "testing"):
    return boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret,
                        config=Config(signature_version=version, retries={"max_attempts": 1}))


def _post(form: dict, body: bytes = b"form body", filename: str = "f.txt") -> requests.Response:
    return requests.post(form["url"], data=form["fields"], files={"file": (filename, body)}, timeout=10)


def _error(answer: requests.Response) -> tuple[int, str, str]:
    root = ET.fromstring(answer.content)
    return answer.status_code, root.findtext("Code"), root.findtext("Message")


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_forms_within_their_policy_upload(server, version):
    signer = _client(server, version)
    assert _post(signer.generate_presigned_post(BUCKET, f"{version}/plain")).status_code == 204
    named = _post(signer.generate_presigned_post(BUCKET, f"{version}/${{filename}}"), filename="ü x.txt")
    assert named.status_code == 204
    assert _client(server, "s3v4").get_object(Bucket=BUCKET, Key=f"{version}/ü x.txt")["Body"].read() == b"form body"
    form = signer.generate_presigned_post(
        BUCKET, f"{version}/created", Fields={"success_action_status": "201", "Content-Type": "text/plain",
                                              "x-amz-meta-owner": "grc"},
        Conditions=[{"success_action_status": "201"}, ["starts-with", "$Content-Type", "text/"],
                    ["eq", "$x-amz-meta-owner", "grc"], ["content-length-range", 1, 100]])
    created = _post(form)
    assert created.status_code == 201, created.text
    doc = ET.fromstring(created.content)
    assert doc.tag == "PostResponse" and doc.findtext("Bucket") == BUCKET
    assert doc.findtext("Key") == f"{version}/created"
    head = _client(server, "s3v4").head_object(Bucket=BUCKET, Key=f"{version}/created")
    assert doc.findtext("ETag") == head["ETag"] and head["Metadata"] == {"owner": "grc"}
    assert doc.findtext("Location").endswith(f"/{BUCKET}/{version}/created")


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_forms_outside_their_policy_are_refused(server, version):
    signer = _client(server, version)
    tampered = signer.generate_presigned_post(BUCKET, f"{version}/allowed")
    tampered["fields"]["key"] = f"{version}/elsewhere"
    assert _error(_post(tampered)) == (403, "AccessDenied", "Invalid according to Policy: Policy Condition failed: "
                                       f'["eq", "$key", "{version}/allowed"]')
    prefixed = signer.generate_presigned_post(BUCKET, "inbox/${filename}")
    prefixed["fields"]["key"] = "outbox/x"
    assert _error(_post(prefixed))[:2] == (403, "AccessDenied")
    extra = signer.generate_presigned_post(BUCKET, f"{version}/extra", Fields={"acl": "public-read"})
    assert _error(_post(extra)) == (403, "AccessDenied", "Invalid according to Policy: Extra input fields: acl")
    small = signer.generate_presigned_post(BUCKET, f"{version}/sized", Conditions=[["content-length-range", 2, 5]])
    assert _error(_post(small, b"too long"))[:2] == (400, "EntityTooLarge")
    assert _error(_post(small, b"x"))[:2] == (400, "EntityTooSmall")
    assert _post(small, b"fits").status_code == 204
    expiring = signer.generate_presigned_post(BUCKET, f"{version}/late", ExpiresIn=1)
    time.sleep(1.5)
    assert _error(_post(expiring)) == (403, "AccessDenied", "Invalid according to Policy: Policy expired.")
    forged = _client(server, version, secret="not the secret").generate_presigned_post(BUCKET, f"{version}/forged")
    assert _error(_post(forged))[:2] == (403, "SignatureDoesNotMatch")
    swapped = signer.generate_presigned_post(BUCKET, f"{version}/one")
    swapped["fields"]["policy"] = signer.generate_presigned_post(BUCKET, f"{version}/two")["fields"]["policy"][::-1]
    assert _error(_post(swapped))[:2] == (403, "SignatureDoesNotMatch")
    listed = _client(server, "s3v4").list_objects_v2(Bucket=BUCKET, Prefix=f"{version}/")
    assert {o["Key"] for o in listed.get("Contents", [])} <= {f"{version}/sized", f"{version}/plain",
                                                              f"{version}/ü x.txt", f"{version}/created"}
    assert f"{version}/sized" in {o["Key"] for o in listed["Contents"]}


def test_unknown_keys_pass_unless_strict(server):
    stranger = _client(server, "s3v4", key="AKIANOBODYISSUED", secret="whatever")
    assert _post(stranger.generate_presigned_post(BUCKET, "stranger")).status_code == 204
    server.strict_keys = True
    try:
        assert _error(_post(stranger.generate_presigned_post(BUCKET, "stranger")))[:2] == (
            403, "InvalidAccessKeyId")
        assert _post(_client(server, "s3v4").generate_presigned_post(BUCKET, "known")).status_code == 204
    finally:
        server.strict_keys = False
