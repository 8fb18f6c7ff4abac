"""Round 22 audit of the STS sandbox (moto behind `sandbox.aws`) with boto3 unchanged: moto issued credentials for
any DurationSeconds (over the role's MaxSessionDuration, over 43200) and any RoleSessionName, and served a request
signed with the wrong secret. Now AWS's 400 ValidationError and 403 SignatureDoesNotMatch, in STS's envelope."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from sandbox.aws import MotoAwsServer

TRUST = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
)


@pytest.fixture(scope="module")
def aws():
    server = MotoAwsServer()
    server.start()
    kw = {
        "endpoint_url": server.url,
        "region_name": "us-east-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    iam = boto3.client("iam", **kw)
    short = iam.create_role(RoleName="round22-short", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    long = iam.create_role(RoleName="round22-long", AssumeRolePolicyDocument=TRUST, MaxSessionDuration=7200)["Role"][
        "Arn"
    ]
    yield boto3.client("sts", **kw), short, long, kw
    server.stop()


def _refused(call, **kwargs) -> tuple[int, dict]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response["ResponseMetadata"]["HTTPStatusCode"], info.value.response["Error"]


def test_duration_is_bounded_by_the_role_and_by_43200(aws):
    sts, short, long, _ = aws
    status, err = _refused(sts.assume_role, RoleArn=short, RoleSessionName="evidence", DurationSeconds=7200)
    assert (status, err["Code"], err["Type"]) == (400, "ValidationError", "Sender")
    assert err["Message"] == "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    assert sts.assume_role(RoleArn=short, RoleSessionName="evidence", DurationSeconds=3600)["Credentials"]
    assert sts.assume_role(RoleArn=long, RoleSessionName="evidence", DurationSeconds=7200)["Credentials"]
    status, err = _refused(sts.assume_role, RoleArn=long, RoleSessionName="evidence", DurationSeconds=43201)
    assert (status, err["Code"]) == (400, "ValidationError") and "43200" in err["Message"]


def test_session_names_follow_the_pattern(aws):
    sts, short, _, _ = aws
    status, err = _refused(sts.assume_role, RoleArn=short, RoleSessionName="has space")
    assert (status, err["Code"]) == (400, "ValidationError") and "roleSessionName" in err["Message"]
    assert sts.assume_role(RoleArn=short, RoleSessionName="projectx-evidence.a=b,c@d+e_f")["Credentials"]


def test_a_wrong_secret_is_refused_by_sts_too(aws):
    _, short, _, kw = aws
    forged = boto3.client("sts", **{**kw, "aws_secret_access_key": "not-it"})
    status, err = _refused(forged.get_caller_identity)
    assert (status, err["Code"]) == (403, "SignatureDoesNotMatch")
    status, err = _refused(forged.assume_role, RoleArn=short, RoleSessionName="evidence")
    assert (status, err["Code"]) == (403, "SignatureDoesNotMatch")
