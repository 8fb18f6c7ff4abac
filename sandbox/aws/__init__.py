"""S3 and STS for tests and the demo: moto's standalone server (real HTTP), with behaviours of
the real services moto leaves out, so that the evidence store's handling of them is tested for real:

- AssumeRole honours the role's trust policy condition ``sts:ExternalId`` (403 AccessDenied when the
  caller's external id differs, as AWS answers);
- S3 rejects requests signed with assumed-role credentials past their expiry (400 ExpiredToken);
- S3 refuses user-defined metadata over 2 KB (400 MetadataTooLarge).

Faults switch at run time (``server.faults``): the next N requests to a service answer a given
status and error code (503 SlowDown, 429, 403 AccessDenied, 507 QuotaExceeded ...).
"""

from sandbox.aws.server import AwsFault, MotoAwsServer

__all__ = ["AwsFault", "MotoAwsServer"]
