"""The targeted re-read of quarantined OneTrust records: each key the re-read ledger holds
(:class:`pipelines.common.requeue.Requeue`) read by its id, instead of the whole listing.

A delta read vendors newest change first and stopped at the cursor, but not while any quarantined key was due:
then it read the whole listing (N/50 requests) on every run for as long as one record stayed unreadable, and a
risk delta (filtered on the server to changes) never listed an unchanged quarantined risk at all, so the ledger
took it for deleted. Now a delta asks for each due key by id (``GET`` of :data:`settings.RECORD_PATHS`: risks
[doc], vendors [unc: the inventory GET by id is the sandbox's; the listing's record shape is assumed]), at most
:data:`REREAD_LIMIT` of them; the answers go through the same checks as listed records (a record still broken is
quarantined again only if it changed, with its reason), a 404 means the vendor no longer has it. More due keys
than the limit, an entity without such a path (assessments, read whole on every pass anyway) or a full pass:
the listing is read whole, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pipelines.common.http import VendorError
from pipelines.onetrust.helpers import OneTrustClient
from pipelines.onetrust.rows import uuid_key
from pipelines.onetrust.settings import RECORD_PATHS, EntitySpec

log = logging.getLogger(__name__)

REREAD_LIMIT = 50  # due keys read one by one at most per run (one request each); more: the listing whole


@dataclass
class Reread:
    """What a run read by id: the records (checked like a page), the keys it covered and the keys gone."""

    records: list[Any] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)  # read (or found gone): the listing need not be read for them
    gone: set[str] = field(default_factory=set)  # 404: the vendor no longer has them


def reread_by_id(client: OneTrustClient, spec: EntitySpec, due: list[str], limit: int | None = None) -> Reread:
    """The due keys of ``spec`` read by id, or nothing (the listing then covers them) when there are none,
    more than ``limit`` or no path to read one by."""
    path = RECORD_PATHS.get(spec.resource)
    limit = REREAD_LIMIT if limit is None else limit
    out = Reread()
    if not due or path is None:
        return out
    if len(due) > limit:
        log.info("OneTrust %s: %d quarantined records are due, more than the %d read by id: the listing is read "
                 "whole this run", spec.resource, len(due), limit)
        return out
    for rid in due:
        try:
            body = client.request("GET", path.format(id=quote(rid, safe="")))
        except VendorError as exc:
            if exc.status == 404:
                out.gone.add(rid)
                out.covered.add(rid)
                continue
            raise
        record = body.get("data", body) if isinstance(body, dict) else None
        if isinstance(record, dict) and record.get("markForDelete") is not True \
                and uuid_key(record.get(spec.id_field)) == rid:
            out.records.append(record)
            out.covered.add(rid)
        # anything else (not a record, flagged for deletion, another id): left to the listing, read whole for it
    return out
