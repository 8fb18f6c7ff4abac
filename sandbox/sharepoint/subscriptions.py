"""Graph change notifications (webhooks) for drives and lists, for ``GraphSandbox``.

- ``POST /v1.0/subscriptions`` ``{changeType, notificationUrl, resource, expirationDateTime, clientState?,
  lifecycleNotificationUrl?}`` (201): ``resource`` is a drive's root (``/drives/{id}/root``,
  ``/sites/{id}/drive/root``) or a list (``/sites/{id}/lists/{id}``: a custom list, or a library's list, which
  stands for its drive); another resource is 400 [unc: the text]. Both take ``changeType`` ``updated`` only
  (another: 400 [unc: the text]); ``expirationDateTime`` at most 42,300 minutes ahead, as Graph documents for
  driveItem and list (later, or not in the future: 400 [unc: the text, modelled on Outlook's "Subscription
  expiration can only be 4230 minutes in the future."]); ``clientState`` at most 128 characters. The app needs a
  grant on the drive or list (403 accessDenied).
- Before answering, the emulator validates ``notificationUrl`` (and ``lifecycleNotificationUrl``, if given: its
  lifecycle notifications are in ``sub_lifecycle.py``) as Graph does: ``POST {url}?validationToken=…``
  (``text/plain``, no body) and wants ``200``, ``Content-Type: text/plain`` [unc: how strictly Graph checks the
  type] and the token as the body within ``validation_timeout`` seconds (10, Graph's); otherwise 400
  ``ValidationError`` "Subscription validation request failed. …" (a timeout: ``InvalidRequest`` "Subscription
  validation request timed out."), as Graph answers. Graph wants ``https``; the emulator also takes ``http`` to a
  loopback host (a receiver in a test) [sandbox allowance], and another ``http`` URL is 400 [unc: the text].
- On a change to the drive (any item created, changed or deleted, also through SharePoint REST) or the list (an
  item added, updated or deleted through Graph or REST), it POSTs ``{"value": [{"subscriptionId",
  "clientState", "changeType": "updated", "resource", "subscriptionExpirationDateTime", "tenantId"}]}`` to the
  URL from a background thread; like Graph for these resources it says nothing about what changed (call
  ``delta``); a list's notification also carries ``"resourceData": {"@odata.type": "#Microsoft.Graph.ListItem"}``
  and no item id [unc: as seen in posted payloads], a drive's none [unc]. An ``https`` URL is checked against
  the system CAs and the sandbox's own CA [sandbox allowance]. Changes that come while one is queued are one
  notification. A non-2xx answer, or none within 3 s, is retried after ``notify_retry_delays`` (0.2, 0.5, 1 s)
  [unc: Graph retries with backoff for up to 4 hours]; ``sb.notifications`` logs every attempt.
- ``GET /subscriptions`` (the app's own), ``GET``/``PATCH`` (renew: ``expirationDateTime``; a new
  ``notificationUrl`` is validated again)/``DELETE`` (204) ``/subscriptions/{id}``. An expired subscription
  stops notifying and is gone: 404 [unc: Graph keeps it a while before deleting it].
"""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from sandbox.core.http import Request, Response, json_response
from sandbox.core.tls import ensure_certificates
from sandbox.sharepoint.errors import GraphError, json_body

MAX_MINUTES = 42300  # driveItem and list, as Graph documents
DRIVE_ROOT = re.compile(r"^/?(?:drives/(?P<drive>[^/]+)|sites/(?P<site>[^/]+?)/drive)/root/?$")
LIST = re.compile(r"^/?sites/(?P<site>.+?)/lists/(?P<list>[^/]+)/?$")


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Subscriptions:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``_site``)."""

    def subscriptions_init(self) -> None:
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.notifications: list[dict[str, Any]] = []  # every delivery attempt: id, url, status, body
        self.validation_timeout = 10.0
        self.notify_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
        self._sub_pending: dict[str, None] = {}  # subscription ids with a notification to send, in order
        self._sub_wake = threading.Condition()
        self._sub_worker: threading.Thread | None = None

    def subscription_routes(self, router, authed) -> None:
        router.add("GET", r"/v1\.0/subscriptions/?", authed(self.list_subscriptions))
        router.add("POST", r"/v1\.0/subscriptions/?", authed(self.create_subscription))
        for method in ("GET", "PATCH", "DELETE"):
            router.add(method, r"/v1\.0/subscriptions/(?P<sid>[^/]+)/?", authed(self.one_subscription))

    # -- what a subscription watches -----------------------------------------------------------------------
    def _sub_target(self, resource: str, req: Request) -> tuple[str, str]:
        """("drive", drive id) or ("list", custom list id) for ``resource``, checking the app's grant."""
        path = unquote(resource.strip())
        m = DRIVE_ROOT.match(path)
        if m is not None:
            if m.group("drive"):
                drive = self.store.drives.get(m.group("drive"))
            else:
                site = self._site(m.group("site"))
                drive = next((d for d in self.store.drives.values() if d.site_id == site), None)
            if drive is None:
                raise GraphError(404, "itemNotFound", "The requested drive was not found.")
            if req.principal not in drive.grants:
                raise GraphError(403, "accessDenied", "Access denied")
            return "drive", drive.id
        m = LIST.match(path)
        if m is not None:
            site, ref = self._site(m.group("site")), m.group("list").lower()
            from sandbox.sharepoint.sites import list_id

            drive = next((d for d in self.store.drives.values() if d.site_id == site
                          and ref in (list_id(d), d.name.lower())), None)
            if drive is not None:
                if req.principal not in drive.grants:
                    raise GraphError(403, "accessDenied", "Access denied")
                return "drive", drive.id
            lst = self.g_find_list(site, ref, req)
            if lst is None:
                raise GraphError(404, "itemNotFound", f"List '{m.group('list')}' does not exist at this site.")
            if req.principal not in lst.grants:
                raise GraphError(403, "accessDenied", "Access denied")
            return "list", lst.id
        raise GraphError(400, "InvalidRequest", f"The resource '{resource}' is not supported for change "
                         "notifications.")

    @staticmethod
    def _sub_expiry(raw: Any) -> datetime:
        try:
            when = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise GraphError(400, "InvalidRequest", "expirationDateTime is not a valid date and time.") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        now = datetime.now(UTC)
        if when <= now:
            raise GraphError(400, "InvalidRequest", "Subscription expiration date must be in the future.")
        if when > now + timedelta(minutes=MAX_MINUTES):
            raise GraphError(400, "InvalidRequest", f"Subscription expiration can only be {MAX_MINUTES} minutes "
                             "in the future.")
        return when

    # -- validation ------------------------------------------------------------------------------------------
    def _sub_validate(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise GraphError(400, "InvalidRequest", "The notificationUrl must be an absolute https URL.")
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise GraphError(400, "InvalidRequest", "The notificationUrl must use https.")
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = url + ("&" if parts.query else "?") + "validationToken=" + quote(token)
        request = urllib.request.Request(target, data=b"", method="POST",
                                         headers={"Content-Type": "text/plain; charset=utf-8"})
        failed = "Subscription validation request failed. "
        try:
            with urllib.request.urlopen(request, timeout=self.validation_timeout, context=self._sub_tls()) as resp:
                status, kind, body = resp.status, resp.headers.get("Content-Type", ""), resp.read()
        except urllib.error.HTTPError as err:
            raise GraphError(400, "ValidationError", f"{failed}HTTP status code is '{err.reason}'. Notification "
                             "endpoint must respond with 200 OK to validation request.") from None
        except TimeoutError:
            raise GraphError(400, "InvalidRequest", "Subscription validation request timed out.") from None
        except (urllib.error.URLError, OSError) as err:
            if "timed out" in str(err):
                raise GraphError(400, "InvalidRequest", "Subscription validation request timed out.") from None
            raise GraphError(400, "ValidationError", f"{failed}Notification endpoint must respond with 200 OK to "
                             "validation request.") from None
        if status != 200:
            raise GraphError(400, "ValidationError", f"{failed}HTTP status code is '{status}'. Notification "
                             "endpoint must respond with 200 OK to validation request.")
        if not kind.lower().startswith("text/plain") or body.decode("utf-8", "replace") != token:
            raise GraphError(400, "ValidationError", f"{failed}Response must exactly match validationToken query "
                             "parameter.")

    def _sub_tls(self) -> ssl.SSLContext:
        """The system CAs and the sandbox's own CA (the one its TLS uses), so a receiver on https://127.0.0.1
        with a certificate that CA signed is trusted, as Graph trusts a publicly signed one [sandbox allowance]."""
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cafile=str(self.ca_bundle or ensure_certificates()))
        return ctx

    # -- handlers --------------------------------------------------------------------------------------------
    def _sub_shown(self, sub: dict[str, Any], req: Request, entity: bool = True) -> dict[str, Any]:
        out = {"id": sub["id"], "resource": sub["resource"], "applicationId": sub["app"].split("/")[-1],
               "changeType": sub["changeType"], "clientState": sub["clientState"],
               "notificationUrl": sub["notificationUrl"], "notificationQueryOptions": None,
               "lifecycleNotificationUrl": sub["lifecycleNotificationUrl"],
               "expirationDateTime": _stamp(sub["expires"]), "creatorId": sub["creatorId"],
               "includeResourceData": False, "latestSupportedTlsVersion": "v1_2", "encryptionCertificate": None,
               "encryptionCertificateId": None, "notificationUrlAppId": None}
        if entity:
            return {"@odata.context": f"{req.base_url}/v1.0/$metadata#subscriptions/$entity", **out}
        return out

    def _sub_live(self, req: Request) -> dict[str, dict[str, Any]]:
        now = datetime.now(UTC)
        with self.store.lock:
            for sid in [s for s, sub in self.subscriptions.items() if sub["expires"] <= now]:
                self._sub_expired(self.subscriptions.pop(sid))
            return {s: sub for s, sub in self.subscriptions.items() if sub["app"] == req.principal}

    def _sub_expired(self, sub: dict[str, Any]) -> None:
        """An expired subscription was dropped (``sub_lifecycle.py`` sends subscriptionRemoved)."""

    def create_subscription(self, req: Request) -> Response:
        body = json_body(req)
        if not isinstance(body, dict):
            raise GraphError(400, "InvalidRequest", "Invalid request body.")
        for key in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not body.get(key):
                raise GraphError(400, "InvalidRequest", f"The '{key}' property is required.")  # [unc] the text
        kind, key = self._sub_target(str(body["resource"]), req)
        changes = [c.strip() for c in str(body["changeType"]).split(",")]
        if changes != ["updated"]:
            raise GraphError(400, "InvalidRequest", f"ChangeType '{body['changeType']}' is not supported for "
                             f"resource '{body['resource']}'. Only 'updated' is supported.")
        expires = self._sub_expiry(body["expirationDateTime"])
        state = body.get("clientState")
        if state is not None and len(str(state)) > 128:
            raise GraphError(400, "InvalidRequest", "clientState must be at most 128 characters long.")
        self._sub_validate(str(body["notificationUrl"]))
        if body.get("lifecycleNotificationUrl"):  # validated the same way, as Graph documents
            self._sub_validate(str(body["lifecycleNotificationUrl"]))
        sub = {"id": str(uuid.uuid4()), "resource": str(body["resource"]), "changeType": "updated",
               "clientState": state, "notificationUrl": str(body["notificationUrl"]),
               "lifecycleNotificationUrl": body.get("lifecycleNotificationUrl"), "expires": expires,
               "app": req.principal, "creatorId": str(uuid.uuid5(uuid.NAMESPACE_URL, str(req.principal))),
               "watch": (kind, key)}
        with self.store.lock:
            self.subscriptions[sub["id"]] = sub
            if self._sub_on_change not in self.store.listeners:
                self.store.listeners.append(self._sub_on_change)
        return json_response(self._sub_shown(sub, req), 201)

    def list_subscriptions(self, req: Request) -> Response:
        return json_response({"@odata.context": f"{req.base_url}/v1.0/$metadata#subscriptions",
                              "value": [self._sub_shown(s, req, False) for s in self._sub_live(req).values()]})

    def one_subscription(self, req: Request) -> Response:
        sub = self._sub_live(req).get(req.params["sid"])
        if sub is None:
            raise GraphError(404, "ResourceNotFound", f"The object '{req.params['sid']}' was not found.")  # [unc]
        if req.method == "GET":
            return json_response(self._sub_shown(sub, req))
        if req.method == "DELETE":
            with self.store.lock:
                self.subscriptions.pop(sub["id"], None)
            return Response(204, b"")
        body = json_body(req)
        if not isinstance(body, dict) or not body:
            raise GraphError(400, "InvalidRequest", "Invalid request body.")
        extra = set(body) - {"expirationDateTime", "notificationUrl", "@odata.type"}
        if extra:
            raise GraphError(400, "InvalidRequest", f"Only expirationDateTime and notificationUrl can be updated, "
                             f"not {sorted(extra)[0]}.")  # [unc] the text
        expires = self._sub_expiry(body["expirationDateTime"]) if body.get("expirationDateTime") else sub["expires"]
        if body.get("notificationUrl") and body["notificationUrl"] != sub["notificationUrl"]:
            self._sub_validate(str(body["notificationUrl"]))
            sub["notificationUrl"] = str(body["notificationUrl"])
        sub["expires"] = expires
        return json_response(self._sub_shown(sub, req))

    # -- delivery ----------------------------------------------------------------------------------------------
    def _sub_on_change(self, kind: str, key: str) -> None:
        now = datetime.now(UTC)
        hits = [s["id"] for s in list(self.subscriptions.values()) if s["watch"] == (kind, key) and s["expires"] > now]
        if not hits:
            return
        with self._sub_wake:
            for sid in hits:
                self._sub_pending[sid] = None
            if self._sub_worker is None or not self._sub_worker.is_alive():
                self._sub_worker = threading.Thread(target=self._sub_loop, name="graph-notifications", daemon=True)
                self._sub_worker.start()
            self._sub_wake.notify_all()

    def _sub_loop(self) -> None:
        while True:
            with self._sub_wake:
                while not self._sub_pending:
                    if not self._sub_wake.wait(timeout=30):
                        self._sub_worker = None
                        return
                sid = next(iter(self._sub_pending))
                del self._sub_pending[sid]
            self._sub_deliver(sid)

    def _sub_deliver(self, sid: str) -> None:
        for delay in (0.0, *self.notify_retry_delays):
            time.sleep(delay)
            sub = self.subscriptions.get(sid)
            if sub is None or sub["expires"] <= datetime.now(UTC):
                return  # deleted or expired: no more notifications
            note = {"subscriptionId": sid, "clientState": sub["clientState"], "changeType": "updated",
                    "resource": sub["resource"], "subscriptionExpirationDateTime": _stamp(sub["expires"]),
                    "tenantId": sub["app"].split("/")[0]}
            if LIST.match(sub["resource"]):  # [unc] Graph's list notifications name the type only, not the item
                note["resourceData"] = {"@odata.type": "#Microsoft.Graph.ListItem"}
            status = self._post_notes(sub["notificationUrl"], note)
            self.notifications.append({"subscriptionId": sid, "url": sub["notificationUrl"], "status": status,
                                       "body": {"value": [note]}})
            if 200 <= status < 300:
                return

    def _post_notes(self, url: str, note: dict[str, Any]) -> int:
        """POST ``{"value": [note]}`` to a receiver, as Graph does: its status, or 0 if it could not be reached."""
        request = urllib.request.Request(url, data=json.dumps({"value": [note]}).encode(), method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8"})
        try:
            with urllib.request.urlopen(request, timeout=3, context=self._sub_tls()) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code
        except (urllib.error.URLError, OSError):
            return 0
