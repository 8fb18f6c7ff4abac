"""The durable inbox: accepted deliveries, quarantined payloads, rejected requests, dead letters.

SQLite in WAL mode (``synchronous=FULL``: each commit is fsync'd) by default, PostgreSQL (schema
``webhooks`` of the warehouse database) when ``PROJECTX_WAREHOUSE=postgres``; the same SQL runs on
both (``webhooks.inbox.db``). The receiver writes through one group-committing writer thread
(``webhooks.inbox.writer``); the Dagster sensor moves events through their states
(``webhooks.inbox.queue``).
"""

from webhooks.inbox.db import Database, open_database
from webhooks.inbox.queue import EventQueue, InboxEvent
from webhooks.inbox.writer import InboxWriter

__all__ = ["Database", "EventQueue", "InboxEvent", "InboxWriter", "open_database"]
