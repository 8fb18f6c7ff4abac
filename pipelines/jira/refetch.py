"""Reading issues again by id or key (the re-read rule, failed attachment downloads): the JQL, and what to do
when Jira refuses it because one of them no longer exists.

JQL ``id in (10004, ...)`` naming an issue deleted since it was noted answers 400 ("An issue with key '10004'
does not exist for field 'id'"), the whole search, not an empty page. An issue quarantined and then deleted
at Jira therefore failed every later run's extract for good: its key stayed due, and the search that would
have found it gone never answered. A refused chunk is now read one issue at a time; an issue whose own
search is refused is gone (the census or the webhook marks the delete), and the others are read as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

from pipelines.common.http import VendorError

log = logging.getLogger(__name__)


def refetch_jql(refs: list[str]) -> str:
    """Issues by id (digits) or by key (``PROJ-12``, for an issue quarantined without a usable id)."""
    ids = [r for r in refs if r.isascii() and r.isdigit()]
    keys = [f'"{r}"' for r in refs if not (r.isascii() and r.isdigit())]
    terms = ([f"id in ({', '.join(ids)})"] if ids else []) + ([f"key in ({', '.join(keys)})"] if keys else [])
    return " OR ".join(terms) + " ORDER BY id ASC"


def refetch_pages(search: Callable[[str], Iterator[list[Any]]], refs: list[str]) -> Iterator[list[Any]]:
    """The search pages of the issues ``refs`` that still exist (see the module docstring). A page met twice
    (a chunk refused after its first pages) is harmless: a run loads an issue once."""
    try:
        yield from search(refetch_jql(refs))
    except VendorError as exc:
        if exc.status != 400:
            raise
        if len(refs) == 1:
            log.warning("Jira: issue %s is read again no more: its search was refused (%s)", refs[0], exc)
            return
        for ref in refs:
            yield from refetch_pages(search, [ref])
