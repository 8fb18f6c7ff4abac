"""The inbox on PostgreSQL (PROJECTX_WAREHOUSE=postgres): the same code path as SQLite, end to end."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import uuid

import psycopg2
import pytest

from pipelines.common.warehouse import WarehouseSettings
from tests.webhook_helpers import GENERIC, asgi_client, generic_body, generic_request, settings_for
from webhooks import handlers
from webhooks.app import create_app
from webhooks.inbox import EventQueue, open_database
from webhooks.processing import process
from webhooks.settings import WebhookSettings

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(tmp_path, monkeypatch):
    name = f"webhooks_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    admin.cursor().execute(f"create database {name}")
    pg = dataclasses.replace(WarehouseSettings(), kind="postgres", pg_database=name)
    monkeypatch.setattr(handlers, "REGISTRY", dict(handlers.REGISTRY))
    yield dataclasses.replace(settings_for(tmp_path), inbox_kind="postgres", pg=pg)
    admin.cursor().execute(f"drop database if exists {name} with (force)")
    admin.close()


def test_from_env_picks_postgres_with_the_warehouse(monkeypatch):
    monkeypatch.setenv("PROJECTX_WAREHOUSE", "postgres")
    monkeypatch.setenv("PGDATABASE", "somewhere")
    settings = WebhookSettings.from_env()
    assert settings.inbox_kind == "postgres" and settings.pg.pg_database == "somewhere"


def test_receive_dedupe_process_dead_letter_and_replay_on_postgres(pg_settings):
    sends = [f"msg_{i % 300}" for i in range(400)]  # 100 duplicates

    async def go():
        app = create_app(pg_settings)
        async with app.router.lifespan_context(app), asgi_client(app) as client:
            return await asyncio.gather(*(client.post(GENERIC, **generic_request(generic_body("test.pg", id=m), m))
                                          for m in sends))

    answers = collections.Counter(r.text for r in asyncio.run(go()))
    assert answers == {"accepted": 300, "duplicate": 100}
    seen = collections.Counter()
    failing = {"msg_7"}

    def handler(event):
        if event.delivery_id in failing:
            raise RuntimeError("downstream refused")
        seen.update([event.delivery_id])

    handlers.REGISTRY[("generic", "test.pg")] = handler
    db = open_database(pg_settings)
    queue = EventQueue(db, base_backoff=0)
    for _ in range(10):
        process(queue, lambda key: None)
    assert len(seen) == 299 and set(seen.values()) == {1}
    (dead,) = queue.dead_letters()
    assert dead["delivery_id"] == "msg_7" and dead["attempts"] == 10
    failing.clear()
    assert queue.replay() == 1
    process(queue, lambda key: None)
    assert len(seen) == 300 and queue.dead_letters() == []
    assert queue.health()["generic"] == {"done": 300}
    db.close()


def test_two_receivers_on_one_postgres_inbox_let_one_copy_of_a_replayed_message_in(pg_settings):
    """Copies of one signed Jira message under distinct ids, raced through two receivers (two writer
    connections): the digest's unique key makes the second claim wait for the first and see it."""
    from tests.webhook_helpers import JIRA, jira_body, jira_request

    body = jira_body(50001)
    captured = jira_request(body, "pg-copy-0")

    async def go():
        apps = [create_app(pg_settings), create_app(pg_settings)]
        async with apps[0].router.lifespan_context(apps[0]), apps[1].router.lifespan_context(apps[1]), \
                asgi_client(apps[0]) as a, asgi_client(apps[1]) as b:
            def copy(i):
                return {**captured, "headers": {**captured["headers"],
                                                "X-Atlassian-Webhook-Identifier": f"pg-copy-{i}"}}
            return await asyncio.gather(*((a if i % 2 else b).post(JIRA, **copy(i)) for i in range(12)))

    answers = asyncio.run(go())
    assert sorted(r.status_code for r in answers) == [200] + [401] * 11
    db = open_database(pg_settings)
    try:
        assert db.query("select count(*) from webhook_events where source = 'jira'") == [(1,)]
    finally:
        db.close()
