"""The targeted re-read of quarantined OneTrust records: each key the re-read ledger holds
(:class:`pipelines.common.requeue.Requeue`) read by its id, instead of the whole listing.

A delta read vendors newest change first and stopped at the cursor, but not while any quarantined key was due:
then it read the whole listing (N/50 requests) on every run for as long as one record stayed unreadable, and a
risk delta (filtered on the server to changes) never listed an unchanged quarantined risk at all, so the ledger
took it for deleted. Now a delta asks for each due key by id (``GET`` of :data:`settings.RECORD_PATHS`: risks
[doc], vendors [unc: the inventory GET by id is the sandbox's; the listing's record shape is assumed]), at most
:data:`REREAD_LIMIT` of them; the answers go through the same checks as listed records (a record still broken is
quarantined again only if it changed, with its reason). A key is *covered* (the listing need not be read for it)
only by an answer that is the record, whole: every key a record always has (:data:`rows.REQUIRED_KEYS`; any other
key the row builder reads may be left out, as a tenant omitting nulls does, and is read as null), its own id, not
flagged for deletion. Anything else leaves it to the listing, and a key the listing does not show either stays
due: a 404 is only a hint (a path that is wrong for the tenant answers 404 for every id, so all of a run's keys
answering 404 is logged once), and a refused or failed read (403, 400, 5xx) is logged and stepped over, the
reads by id stopping after :data:`FAIL_LIMIT` failures in a row. More due keys than the limit: where the listing
is read whole anyway (vendors) none is read by id; where a delta's listing cannot show them (risks, ``partial``)
the first ``limit`` keys after the last one read are, in turn run after run. An entity without such a path
(assessments, read whole on every pass anyway) or a full pass: the listing is read whole, as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from pipelines.common.http import VendorError
from pipelines.onetrust.helpers import OneTrustClient
from pipelines.onetrust.rows import REQUIRED_KEYS, uuid_key
from pipelines.onetrust.settings import RECORD_PATHS, EntitySpec

log = logging.getLogger(__name__)

REREAD_LIMIT = 50  # due keys read one by one at most per run (one request each)
FAIL_LIMIT = 3  # failed reads by id in a row (not 404) after which the rest of the run's keys are left to the listing


@dataclass
class Reread:
    """What a run read by id: the records (checked like a page) and the keys they cover."""

    records: list[Any] = field(default_factory=list)
    covered: set[str] = field(default_factory=set)  # read whole: the listing need not be read for them
    not_found: set[str] = field(default_factory=set)  # 404: a hint only (the listing decides)
    failed: set[str] = field(default_factory=set)  # refused or failed: left to the listing
    last: str | None = None  # the last key asked for (where the next run's turn starts, over the limit)


def reread_by_id(client: OneTrustClient, spec: EntitySpec, due: list[str], limit: int | None = None, *,
                 after: str | None = None, partial: bool = False) -> Reread:
    """The due keys of ``spec`` read by id; nothing (the listing then covers them) when there are none or no path
    to read one by. More than ``limit``: with ``partial``, the first ``limit`` keys after ``after`` (wrapping
    round), else none."""
    path = RECORD_PATHS.get(spec.resource)
    limit = REREAD_LIMIT if limit is None else limit
    out = Reread()
    if not due or path is None or limit <= 0:
        return out
    keys = sorted(due)
    if len(keys) > limit:
        if not partial:
            log.info("OneTrust %s: %d quarantined records are due, more than the %d read by id: the listing is "
                     "read whole this run", spec.resource, len(keys), limit)
            return out
        turn = next((n for n, key in enumerate(keys) if after is None or key > after), 0)
        keys = (keys[turn:] + keys[:turn])[:limit]
        log.info("OneTrust %s: %d quarantined records are due, more than the %d read by id a run: these %d now, "
                 "the rest on the next runs", spec.resource, len(due), limit, len(keys))
    failures, short, statuses = 0, [], set()
    for rid in keys:
        out.last = rid
        try:
            body = client.request("GET", path.format(id=quote(rid, safe="")))
        except VendorError as exc:  # the message names the path, never a credential; it is not logged anyway
            if exc.status == 404:
                out.not_found.add(rid)
                continue
            out.failed.add(rid)
            statuses.add(str(exc.status or "no answer"))
            failures += 1
            if failures >= FAIL_LIMIT:
                log.warning("OneTrust %s: %d reads by id in a row failed (last: HTTP %s): the rest of the due keys "
                            "are left to the listing this run", spec.resource, failures, exc.status)
                break
            continue
        failures = 0
        record = body.get("data", body) if isinstance(body, dict) else None
        if not (isinstance(record, dict) and record.get("markForDelete") is not True
                and uuid_key(record.get(spec.id_field)) == rid):
            continue  # not a record, flagged for deletion, another id: left to the listing
        lacking = [key for key in REQUIRED_KEYS.get(spec.resource, ()) if key not in record]
        if lacking:  # another view of the record (a summary): merged, it would null what it leaves out
            short.append(", ".join(lacking[:4]) + (", ..." if len(lacking) > 4 else ""))
            continue
        # an optional field left out reads as null (the row builders ``get`` it); kept as sent, so a tenant that
        # omits nulls in its listing too shows the same copy (the same digest to the quarantine ledger)
        out.records.append(record)
        out.covered.add(rid)
    if out.failed and failures < FAIL_LIMIT:
        log.warning("OneTrust %s: %d of %d reads by id failed (HTTP %s): left to the listing", spec.resource,
                    len(out.failed), len(keys), "/".join(sorted(statuses)))
    if short:
        log.warning("OneTrust %s: %d answers by id lack fields the listing has (%s) [unc]: left to the listing",
                    spec.resource, len(short), "; ".join(sorted(set(short)))[:200])
    if len(out.not_found) == len(keys) > 1:
        log.warning("OneTrust %s: every one of the %d keys read by id answered 404 (GET %s): is the path right for "
                    "this tenant? [unc] They stay due; the listing decides whether they are gone", spec.resource,
                    len(keys), path)
    return out
