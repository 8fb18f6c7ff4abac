"""Graph lifecycle notifications for change-notification subscriptions (``subscriptions.py``), for
``GraphSandbox``.

A subscription created with ``lifecycleNotificationUrl`` (validated with the same ``validationToken``
handshake as ``notificationUrl``, in ``subscriptions.py``) gets, POSTed to that URL from a background thread,
Graph's lifecycle payload ``{"value": [{"subscriptionId", "subscriptionExpirationDateTime", "tenantId",
"clientState", "lifecycleEvent"}]}`` (the shape Graph's "Reduce missing subscriptions and change
notifications" page shows):

- ``reauthorizationRequired`` once when the subscription comes within ``sb.reauthorize_lead`` seconds of its
  expiry (600 by default) [unc: Graph documents the event for every resource and sends it when the app's
  access expires or is revoked and as a subscription nears expiry; its timing is not documented]. Renewing
  (``PATCH /subscriptions/{id}`` with ``expirationDateTime``, as Graph advises: it reauthorizes and renews in
  one call) or ``POST /subscriptions/{id}/reauthorize`` (204, Graph's action) arms it again;
- ``subscriptionRemoved`` when the emulator removes the subscription: at its expiry, or through
  ``sb.remove_subscription(id)`` (as Graph removing one on its side) [unc: Graph documents this event for
  Outlook and Teams resources only; for drives and lists the emulator sends it too, so a receiver's
  handling of it can be tested]. The subscription is then gone (404) and sends nothing more. A subscription
  the app deletes itself (``DELETE``) gets no lifecycle notification.

Deliveries are logged in ``sb.notifications`` with ``lifecycleEvent``; a non-2xx answer is retried after
``notify_retry_delays`` as change notifications are. Nothing is sent to a subscription without a
``lifecycleNotificationUrl`` (Graph: it cannot be added later)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.subscriptions import _stamp


class SubscriptionLifecycle:
    """Mixed into ``GraphSandbox`` ahead of ``Subscriptions`` (uses ``subscriptions``, ``store``, ``_sub_tls``)."""

    def lifecycle_init(self) -> None:
        self.reauthorize_lead = 600.0  # seconds before expiry that reauthorizationRequired is sent
        self.lifecycle_tick = 0.05  # how often the lifecycle thread looks at the subscriptions
        self._lifecycle_thread: threading.Thread | None = None
        self._lifecycle_stop = threading.Event()

    def subscription_routes(self, router, authed) -> None:
        router.add("POST", r"/v1\.0/subscriptions/(?P<sid>[^/]+)/reauthorize/?", authed(self.reauthorize_subscription))
        super().subscription_routes(router, authed)

    # -- the app's calls ----------------------------------------------------------------------------------
    def create_subscription(self, req: Request) -> Response:
        out = super().create_subscription(req)
        if out.status == 201:
            self._lifecycle_start()
        return out

    def one_subscription(self, req: Request) -> Response:
        out = super().one_subscription(req)
        if req.method == "PATCH" and out.status == 200:
            with self.store.lock:  # renewed: reauthorized, the reminder armed again
                sub = self.subscriptions.get(req.params["sid"])
                if sub is not None:
                    sub.pop("reauth_sent", None)
        return out

    def reauthorize_subscription(self, req: Request) -> Response:
        """``POST /subscriptions/{id}/reauthorize``: 204; the expiry is unchanged (Graph's action)."""
        sub = self._sub_live(req).get(req.params["sid"])
        if sub is None:
            raise GraphError(404, "ResourceNotFound", f"The object '{req.params['sid']}' was not found.")  # [unc]
        with self.store.lock:
            sub.pop("reauth_sent", None)
        return Response(204, b"")

    # -- removal ------------------------------------------------------------------------------------------
    def _sub_expired(self, sub: dict[str, Any]) -> None:
        """``subscriptions.py`` calls this (under the store's lock) for each expired subscription it drops."""
        self._lifecycle_send(sub, "subscriptionRemoved")

    def remove_subscription(self, sid: str) -> bool:
        """Remove subscription ``sid`` as Graph would on its side: ``subscriptionRemoved`` to its lifecycle URL."""
        with self.store.lock:
            sub = self.subscriptions.pop(sid, None)
        if sub is not None:
            self._lifecycle_send(sub, "subscriptionRemoved")
        return sub is not None

    # -- the background thread ----------------------------------------------------------------------------
    def _lifecycle_start(self) -> None:
        with self.store.lock:
            if self._lifecycle_thread is None or not self._lifecycle_thread.is_alive():
                self._lifecycle_stop.clear()
                self._lifecycle_thread = threading.Thread(target=self._lifecycle_loop, name="graph-lifecycle",
                                                          daemon=True)
                self._lifecycle_thread.start()

    def _lifecycle_loop(self) -> None:
        while not self._lifecycle_stop.wait(self.lifecycle_tick):
            now = datetime.now(UTC)
            with self.store.lock:
                if not self.subscriptions:
                    self._lifecycle_thread = None
                    return
                for sid, sub in list(self.subscriptions.items()):
                    if sub["expires"] <= now:
                        self.subscriptions.pop(sid, None)
                        self._sub_expired(sub)
                    elif not sub.get("reauth_sent") and sub["expires"] - now <= timedelta(
                            seconds=self.reauthorize_lead):
                        sub["reauth_sent"] = True
                        self._lifecycle_send(sub, "reauthorizationRequired")

    def lifecycle_close(self) -> None:
        self._lifecycle_stop.set()

    def _lifecycle_send(self, sub: dict[str, Any], event: str) -> None:
        url = sub.get("lifecycleNotificationUrl")
        if not url:
            return
        note = {"subscriptionId": sub["id"], "subscriptionExpirationDateTime": _stamp(sub["expires"]),
                "tenantId": sub["app"].split("/")[0], "clientState": sub["clientState"], "lifecycleEvent": event}
        threading.Thread(target=self._lifecycle_post, args=(str(url), note), name="graph-lifecycle-post",
                         daemon=True).start()

    def _lifecycle_post(self, url: str, note: dict[str, Any]) -> None:
        for delay in (0.0, *self.notify_retry_delays):
            time.sleep(delay)
            status = self._post_notes(url, note)  # subscriptions.py
            self.notifications.append({"subscriptionId": note["subscriptionId"], "url": url, "status": status,
                                       "lifecycleEvent": note["lifecycleEvent"], "body": {"value": [note]}})
            if 200 <= status < 300:
                return
