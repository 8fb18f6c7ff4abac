"""AWS credentials for the S3 evidence store: STS AssumeRole (``AWS_ROLE_ARN`` + ``AWS_EXTERNAL_ID``),
refreshed by botocore before the role's credentials expire.

The base identity that assumes the role comes from boto3's default chain (environment, profile,
instance or pod role). ``RefreshableCredentials`` calls AssumeRole again once the remaining lifetime
falls under the advisory window (default 15 min; every request blocks for a refresh under the
mandatory window, 10 min), so a long run never sends expired credentials. Endpoints follow boto3's
own ``AWS_ENDPOINT_URL_STS`` / ``AWS_ENDPOINT_URL_S3`` variables (moto's server in tests).
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from resources.evidence.base import StorePermissionError, StoreUnavailable


@dataclass(frozen=True)
class RoleSettings:
    """Which role to assume, and how long its credentials live (seconds)."""

    role_arn: str | None
    external_id: str | None
    region: str = "us-east-1"
    session_seconds: int = 3600
    advisory_refresh: int = 15 * 60
    mandatory_refresh: int = 10 * 60

    @classmethod
    def from_env(cls) -> RoleSettings:
        return cls(
            role_arn=os.environ.get("AWS_ROLE_ARN") or None,
            external_id=os.environ.get("AWS_EXTERNAL_ID") or None,
            region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            session_seconds=int(os.environ.get("AWS_ROLE_SESSION_SECONDS", "3600")),
        )


class RoleCredentials:
    """A botocore session whose credentials are the assumed role's, refreshed before expiry."""

    def __init__(self, settings: RoleSettings):
        self.settings = settings
        self.assumed = 0  # how many times the role was assumed (refreshes + 1)
        self._session_name = f"projectx-evidence-{uuid.uuid4().hex[:12]}"

    def _assume(self) -> dict[str, str]:
        s = self.settings
        sts = boto3.client("sts", region_name=s.region)
        kwargs = {"RoleArn": s.role_arn, "RoleSessionName": self._session_name,
                  "DurationSeconds": s.session_seconds}
        if s.external_id:
            kwargs["ExternalId"] = s.external_id
        try:
            creds = sts.assume_role(**kwargs)["Credentials"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("AccessDenied", "AccessDeniedException", "InvalidClientTokenId"):
                raise StorePermissionError(
                    f"AWS refused to let this service assume {s.role_arn} ({code}): check that AWS_EXTERNAL_ID "
                    "matches the sts:ExternalId condition of the role's trust policy and that AWS_ROLE_ARN "
                    "trusts this account", resource=s.role_arn or "") from None
            raise StoreUnavailable(f"STS AssumeRole for {s.role_arn} failed ({code}): retry later, or check "
                                   "AWS_ENDPOINT_URL_STS / the network path to STS") from None
        except BotoCoreError as exc:
            raise StoreUnavailable(f"STS could not be reached to assume {s.role_arn}: {type(exc).__name__}; "
                                   "check AWS_ENDPOINT_URL_STS and the network path") from None
        self.assumed += 1
        return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                "token": creds["SessionToken"], "expiry_time": creds["Expiration"].isoformat()}

    def session(self) -> boto3.Session:
        s = self.settings
        if not s.role_arn:
            return boto3.Session(region_name=s.region)
        metadata = self._assume()
        credentials = RefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=self._assume, method="sts-assume-role")
        credentials._advisory_refresh_timeout = s.advisory_refresh
        credentials._mandatory_refresh_timeout = s.mandatory_refresh
        core = botocore.session.get_session()
        core._credentials = credentials
        core.set_config_variable("region", s.region)
        return boto3.Session(botocore_session=core)
