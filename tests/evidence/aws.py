"""S3 + STS for evidence tests: moto's server on a free loopback port, a bucket and a role whose trust
policy requires an external id, exported through the spec's variables and boto3's endpoint ones."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest

from sandbox.aws import MotoAwsServer

EXTERNAL_ID = "projectx-test-external-id"


@dataclass
class AwsSandbox:
    server: MotoAwsServer
    bucket: str
    role_arn: str


def _running() -> Iterator[MotoAwsServer]:
    server = MotoAwsServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_server():
    yield from _running()


@pytest.fixture(scope="module")
def s3_module_server():
    """A fresh S3/STS emulator per test module, for tests that change its settings (strict keys, faults)."""
    yield from _running()


@pytest.fixture
def no_aws_env(monkeypatch):
    """No AWS_* variable or proxy setting of the machine reaches boto3: each test says what it uses."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
            monkeypatch.delenv(name)


def s3_client(server: MotoAwsServer, bucket: str | None = None, **config):
    """A boto3 S3 client on the emulator with test keys and no retries (a refusal is seen as it is);
    ``bucket``: created first. ``config``: more botocore ``Config`` settings."""
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}, **config))
    if bucket:
        client.create_bucket(Bucket=bucket)
    return client


def point_at(server: MotoAwsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The spec's AWS variables and boto3's endpoint one, aimed at the moto server (nothing else leaks in)."""
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
                        "AWS_ENDPOINT_URL": server.url}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(moto_server, monkeypatch) -> Iterator[AwsSandbox]:
    point_at(moto_server, monkeypatch)
    moto_server.faults.clear()
    moto_server.session_lifetime = None
    suffix = uuid.uuid4().hex[:10]
    bucket = f"evidence-{suffix}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
    role = boto3.client("iam").create_role(RoleName=f"ProjectXEvidenceRole-{suffix}",
                                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    monkeypatch.setenv("EVIDENCE_S3_BUCKET", bucket)
    monkeypatch.setenv("AWS_ROLE_ARN", role["Arn"])
    monkeypatch.setenv("AWS_EXTERNAL_ID", EXTERNAL_ID)
    yield AwsSandbox(moto_server, bucket, role["Arn"])
    # The server lives for the session: a fault a test set but did not use up must not reach the next test.
    moto_server.faults.clear()
    moto_server.session_lifetime = None
