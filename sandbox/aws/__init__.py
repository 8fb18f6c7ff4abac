"""S3 and STS for tests and the demo: moto's standalone server (real HTTP), with behaviours of
the real services moto leaves out, so that the evidence store's handling of them is tested for real:

- AssumeRole honours the role's trust policy condition ``sts:ExternalId`` (403 AccessDenied when the
  caller's external id differs, as AWS answers);
- AssumeRole checks DurationSeconds (the role's MaxSessionDuration, 43200) and RoleSessionName (400
  ValidationError, ``sts_checks``); STS checks signatures as S3 does (403 SignatureDoesNotMatch);
- S3 rejects requests signed with assumed-role credentials past their expiry (400 ExpiredToken);
- S3 refuses user-defined metadata over 2 KB (400 MetadataTooLarge);
- S3 checks signatures (``signing``): a presigned URL past its expiry is 403 AccessDenied "Request has expired", one
  over a week 400 AuthorizationQueryParametersError; a request signed with a known key (``server.credentials``,
  default ``testing``/``testing``, and the keys moto's IAM and STS issued) but the wrong secret or a tampered
  URL is 403 SignatureDoesNotMatch; with ``server.strict_keys`` an unknown key is 403 InvalidAccessKeyId;
- S3's answers moto gets wrong (``s3_checks``): 404 NoSuchUpload for a part or completion of an upload id that
  is gone or another key's (moto: 500), 400 InvalidArgument for a part number outside 1-10000, 400 BadDigest /
  InvalidDigest for a Content-MD5 that does not match the body or is no MD5, 400 KeyTooLongError for a key over
  1024 bytes, 400 InvalidArgument for a ListObjectsV2 continuation token it never gave (moto: 500); listings
  return at most 1000 keys whatever max-keys asks, and DeleteObjects takes at most 1000 (400 MalformedXML) and
  in quiet mode answers only its errors;
- listings the sandbox answers itself from moto's store, paged as S3 pages them (``s3_listing``: ListObjects v1/v2
  with markers, tokens, start-after, delimiters and url encoding; ``s3_uploads``: ListMultipartUploads);
- object writes (``s3_writes``): copy-source preconditions (412), checksum headers that do not match the body (400
  BadDigest); ``s3_rules``: bucket names S3 refuses (400 InvalidBucketName), reading a delete marker (405 / 404 with
  x-amz-delete-marker); ``s3_post``: form uploads checked against their signed policy (signature, expiration,
  conditions, content-length-range) and a 201's PostResponse; moto's empty 403s carry S3's AccessDenied document;
  unsigned requests list or write a bucket only as its ACL or policy allow (403 AccessDenied); ``s3_reads``: GET /
  HEAD of a part past the object's parts (416 InvalidPartNumber) and of one part (its bytes, 206), unreadable Range
  headers ignored, conditional reads as S3 documents them, CompleteMultipartUpload out of order (400
  InvalidPartOrder), a tag key twice (400 InvalidTag), retention / legal hold without Object Lock (400);
  ``s3_sse_c``: customer-provided keys (SSE-C) checked on writes and reads, echoed in answers, HTTPS only;
  ``s3_parts``: a part whose checksum algorithm is not its upload's (400), ListParts with the upload's algorithm and
  each part's checksum, copy directives other than COPY / REPLACE (400), a legal hold never set (404), a completion
  without a composite upload's part checksums or with wrong ones (400), a part copy range past its source (400);
  ``s3_suspended``: a bucket with versioning Suspended keeps the versions made while it was Enabled (a delete puts
  a ``null`` delete marker on top, a write replaces only the ``null`` version; moto dropped them all);
  ``s3_uploads.finishing``: aborting an upload just completed or aborted answers 204 as S3 does;
- Object Lock as evidence immutability needs it (``s3_lock``): GetObjectRetention, retention that cannot be weakened
  (COMPLIANCE never, GOVERNANCE only with the bypass header), lock headers checked, default retention settable on a
  bucket in use, versioning never suspended under Object Lock; CompleteMultipartUpload honours If-Match
  (``s3_writes``); CRC32C / CRC64NVME computed without botocore's CRT extra (``crc``), checked on puts and used by
  moto in place of its CRC32 fallback;
- ``s3_versions``: ListObjectVersions answered from moto's store (url encoding, markers, delimiter paging as S3), and
  removing a delete marker by version id says so (DeleteMarker, in DeleteObject's and DeleteObjects' answers);
  ``s3_attributes``: GetObjectAttributes names a multipart object's parts (ObjectParts, paged by max-parts); an
  object put whole says ``ChecksumType: FULL_OBJECT`` (PutObject, GET / HEAD with checksum mode);
- ``s3_bodies``: DeleteObjects needs a Content-MD5 or checksum header that matches its body and a Delete document
  (400 InvalidRequest / BadDigest / MalformedXML); CompleteMultipartUpload without parts is 400 MalformedXML, its
  InvalidPart / EntityTooSmall name the part; bucket tags at most 50, keys 128 and values 256 characters; keys with
  a line feed reach moto's handlers; a 416 to a Range carries ``Content-Range: bytes */size``; presigned URLs with
  another algorithm or missing parameters, dated ahead, and header-signed requests 15 minutes off are refused;
  ``s3_headers``: ExpectedBucketOwner / ExpectedSourceBucketOwner of another account (403 AccessDenied), a tag key
  twice in ``x-amz-tagging`` (400 InvalidTag), an ``x-amz-acl`` that is no canned ACL (400, moto 500), ``response-*``
  overrides on an unsigned GET (400 InvalidRequest).

A request the sandbox answers itself has its body read first (``server._drain``), so a client that sent it after
werkzeug's 100 Continue gets the answer over TLS rather than a reset connection.

Requests are read as moto reads them: path style, virtual-host style (``bucket.localhost:port``, the bucket from the
Host) and the absolute request target a client sends through an HTTP proxy (``sandbox.aws.addressing``).
``MotoAwsServer(ssl_context=...)`` serves HTTPS, where boto3 sends aws-chunked bodies with trailing checksums and
UNSIGNED-PAYLOAD (its plain-HTTP requests always sign the body's SHA-256).

Faults switch at run time (``server.faults``): the next N requests to a service answer a given
status and error code (503 SlowDown, 429, 403 AccessDenied, 507 QuotaExceeded ...).
"""

from sandbox.aws.server import AwsFault, MotoAwsServer

__all__ = ["AwsFault", "MotoAwsServer"]
