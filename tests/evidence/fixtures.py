"""Fixtures of the Evidence Library tests (registered in tests/conftest.py): S3/STS on moto's server,
a real clamd with the shipped signatures,
the SharePoint store's settings."""

from tests.evidence.aws import aws, moto_server, no_aws_env, s3_module_server
from tests.evidence.clamav import clamd
from tests.evidence.sharepoint import sp_env

__all__ = ["aws", "clamd", "moto_server", "no_aws_env", "s3_module_server", "sp_env"]
