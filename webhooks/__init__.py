"""The long-running service: one Starlette app (``webhooks.app.create_app``) served by uvicorn.

It receives signed vendor webhooks (``webhooks.receiver``), commits each accepted delivery to its own
durable inbox (``webhooks.inbox``, never the warehouse) before answering 2xx, and leaves processing
to the Dagster sensor ``webhook_inbox`` (``sensors/webhook_inbox.py``). Run it with
``python -m webhooks`` or ``make receiver``.
"""
