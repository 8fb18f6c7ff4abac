"""`GraphSandbox`: Microsoft Graph v1.0 drive items of SharePoint document libraries, and the
Entra ID token endpoint for certificate client credentials (``auth.py``), on ``sandbox.core``.
``msgraph-sdk`` with ``azure-identity``'s ``CertificateCredential`` works against it unchanged
(authority host ``sb.url``, Graph base URL ``sb.graph_url``, the sandbox CA trusted): Entra ID and
Graph accept only https, so run it with ``tls=True``.

- Sites by id or by path (``sites/{hostname}:/sites/{name}:``), their ``drives`` (those the app was
  granted) and default ``drive``; the site and its drive are 403 accessDenied without any grant there.
- Drive items by id or by path (``items/{id}:/{path}:``, ``root:/{path}:``), percent-encoded or not;
  ``$expand`` (``listItem($expand=fields)``, ``children($select=…)``); ``$select`` (unknown properties 400);
  ``children`` and ``search(q='…')`` (drive, root or any folder: names and text content) paged by ``$top``
  and ``@odata.nextLink``, ordered by ``$orderby`` (name, createdDateTime, lastModifiedDateTime, size;
  ``desc``), kept by ``$filter``, counted by ``$count=true`` (``odata.py``; options Graph refuses are 400);
  files carry a pre-authenticated ``@microsoft.graph.downloadUrl``.
- ``PATCH`` of an item renames it (``name``) or moves it (``parentReference.id`` or ``.path``); 409 on a clash
  unless ``@microsoft.graph.conflictBehavior`` says ``rename`` or ``replace``.
- Simple upload ``PUT …:/{name}:/content`` (missing folders on the path are created, as Graph does);
  ``createUploadSession`` then ``PUT`` of byte ranges to the returned ``uploadUrl`` (no bearer token:
  the URL carries its own ``tempauth``) with ``Content-Range``, each fragment at most 60 MiB, ``202``
  with ``nextExpectedRanges`` (``"next-last"``) until the last one, then ``201`` and the item.
- ``delta`` (``delta.py``): changes since a token, deletions with the ``deleted`` facet.
- ``DELETE`` of an item puts it in the site's recycle bin; ``permanentDelete`` does not (``graph_recycle.py``).
- Elsewhere: upload sessions (``uploads.py``: resume, cancel, expiry, ``deferCommit``), ``versions`` and
  ``thumbnails`` (``versions.py``), sharing (``sharing.py``: ``createLink``, ``invite``, ``permissions``),
  ``copy`` with its monitor URL and ``@microsoft.graph.conflictBehavior`` (``copying.py``), new folders,
  moves, fields, ``checkout`` and ``checkin`` (``writes.py``), sites, lists and list items (``sites.py``);
  names SharePoint refuses (``names.py``: illegal characters, reserved names) are 400 invalidRequest;
  JSON batching, ``POST /v1.0/$batch`` (``batch.py``); ``/shares/{id}/driveItem`` (``sharing.py``);
  Microsoft Search, ``POST /v1.0/search/query`` (``graph_search.py``); custom lists (``genericList``) through
  Graph, ``POST /sites/{id}/lists``, ``columns``, ``contentTypes``, list items with ``fields`` (``graph_lists.py``);
  change notifications, ``/v1.0/subscriptions`` on a drive's root or a list, validated and delivered to the
  ``notificationUrl`` (``subscriptions.py``); lifecycle notifications to ``lifecycleNotificationUrl``
  (``reauthorizationRequired``, ``subscriptionRemoved``) and ``/reauthorize`` (``sub_lifecycle.py``).
- ``GET …/content`` answers ``302`` to a pre-authenticated ``download.aspx`` URL, as SharePoint does;
  ``?format=pdf`` to one of a PDF conversion (``graph_convert.py``).
- List-item fields: ``PATCH list/items/{id}/fields`` (or ``items/{id}/listItem/fields``) sets the
  library's ``Title`` and custom columns only (others: 400 "Field '…' is not recognized").
- Permissions per drive and app (``read``/``write``, as ``Sites.Selected`` grants): 403 accessDenied.
  Quota per drive: an upload past it is 507 quotaLimitReached.
- Faults (``sb.faults``, and ``sb.fail_next(status, count, method, path)`` for exact sequences):
  429 tooManyRequests + Retry-After, 5xx serviceNotAvailable/generalException, 401
  InvalidAuthenticationToken, 403 accessDenied, 507 quotaLimitReached. ``Item.listed_size`` makes an
  item list another ``size`` than its bytes, as Graph does for some Office, PDF and OneNote files.
- Errors are ``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``;
  a caller's ``client-request-id`` header is echoed (header and ``innerError``).
- SharePoint REST v1 (``{sb.url}/sites/{name}/_api/…``, ``rest*.py``) over the same items,
  for office365-rest-python-client's ``ClientContext``; its tokens are for ``https://{host}/.default``; the
  realm challenge ACS clients read (``rest_realm.py``). Also ``listItem`` delta (``graph_list_delta.py``),
  subsites and site permissions (``graph_site_more.py``); functions may be namespace-qualified
  (``microsoft.graph.delta()``).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any
from urllib.parse import unquote

from sandbox.core.base import Sandbox
from sandbox.core.http import Request, Response, Router, json_response
from sandbox.core.tokens import TokenStore
from sandbox.sharepoint.auth import Directory
from sandbox.sharepoint.batch import Batch
from sandbox.sharepoint.copying import Copying, conflict_behavior
from sandbox.sharepoint.custom_folders import CustomFolders
from sandbox.sharepoint.custom_list_ops import CustomListOps
from sandbox.sharepoint.custom_lists import CustomLists
from sandbox.sharepoint.delta import Delta
from sandbox.sharepoint.errors import GraphError, graph_error
from sandbox.sharepoint.graph_audience import graph_audience
from sandbox.sharepoint.graph_convert import GraphConvert
from sandbox.sharepoint.graph_custom_delta import GraphCustomDelta
from sandbox.sharepoint.graph_extras import GraphExtras
from sandbox.sharepoint.graph_faults import CODES as CODES  # re-exported: imported from here
from sandbox.sharepoint.graph_faults import GraphFaults
from sandbox.sharepoint.graph_item_versions import GraphItemVersions
from sandbox.sharepoint.graph_list_delta import GraphListDelta
from sandbox.sharepoint.graph_lists import GraphLists
from sandbox.sharepoint.graph_recycle import GraphRecycle
from sandbox.sharepoint.graph_search import GraphSearch
from sandbox.sharepoint.graph_site_more import GraphSiteMore
from sandbox.sharepoint.items import Items
from sandbox.sharepoint.library_item_versions import LibraryItemVersions
from sandbox.sharepoint.listing import Listing
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.odata import check_options
from sandbox.sharepoint.rest import RestApi
from sandbox.sharepoint.rest_batch import RestBatch
from sandbox.sharepoint.rest_caml import RestCaml
from sandbox.sharepoint.rest_changes import RestChanges
from sandbox.sharepoint.rest_custom_caml import RestCustomCaml
from sandbox.sharepoint.rest_expand import RestExpand
from sandbox.sharepoint.rest_field_writes import RestFieldWrites
from sandbox.sharepoint.rest_file_ops import RestFileOps
from sandbox.sharepoint.rest_files import RestFiles
from sandbox.sharepoint.rest_folder_ops import RestFolderOps
from sandbox.sharepoint.rest_groups import RestGroups
from sandbox.sharepoint.rest_item_changes import RestItemChanges
from sandbox.sharepoint.rest_item_lookup import RestItemLookup
from sandbox.sharepoint.rest_item_more import RestItemMore
from sandbox.sharepoint.rest_item_ops import RestItemOps
from sandbox.sharepoint.rest_lists import RestLists
from sandbox.sharepoint.rest_perms import RestPerms
from sandbox.sharepoint.rest_props import RestProps
from sandbox.sharepoint.rest_realm import RestRealm
from sandbox.sharepoint.rest_recycle import RestRecycle
from sandbox.sharepoint.rest_role_defs import RestRoleDefs
from sandbox.sharepoint.rest_role_writes import RestRoleWrites
from sandbox.sharepoint.rest_schema import RestSchema
from sandbox.sharepoint.rest_schema_log import RestSchemaLog
from sandbox.sharepoint.rest_search import RestSearch
from sandbox.sharepoint.rest_uploads import RestUploads
from sandbox.sharepoint.rest_user_info import RestUserInfo
from sandbox.sharepoint.rest_users import RestUsers
from sandbox.sharepoint.rest_versions import RestVersions
from sandbox.sharepoint.rest_web_more import RestWebMore
from sandbox.sharepoint.rest_web_ops import RestWebOps
from sandbox.sharepoint.sharing import Sharing
from sandbox.sharepoint.sites import Sites
from sandbox.sharepoint.store import Drive, GraphStore, Item
from sandbox.sharepoint.sub_lifecycle import SubscriptionLifecycle
from sandbox.sharepoint.subscriptions import Subscriptions
from sandbox.sharepoint.uploads import UploadSessions
from sandbox.sharepoint.versions import Versions
from sandbox.sharepoint.writes import Writes

ACTIONS = ("/children", "/content", "/createUploadSession", "/listItem/fields", "/listItem", "/checkout", "/checkin",
           "/discardCheckout", "/permanentDelete")
REF = re.compile(r"^(?:root|items/(?P<id>[^/:]+))(?::/(?P<path>.*?)(?::|$))?(?P<action>/[A-Za-z/]+)?/?$")
# a function or action may be namespace-qualified, as OData allows: ``microsoft.graph.delta()``
NS = r"(?:microsoft\.graph\.)?"
DELTA = re.compile(r"^(?P<base>.*?)/" + NS + r"delta(?:\(\)|\(token='(?P<token>[^']*)'\))?/?$")
COUNT = re.compile(r"^(?P<base>.*?)/children/\$count/?$")
SEARCH = re.compile(r"^(?:(?P<base>.*?)/)?" + NS + r"search\(q='(?P<q>(?:[^']|'')*)'\)/?$")
SUB = re.compile(r"^(?P<ref>root|items/[^/:]+|(?:root|items/[^/:]+):/.*:)/(?P<op>versions|permissions|thumbnails|"
                 + NS + r"(?:copy|createLink|invite))(?P<rest>/.*)?$")


class GraphSandbox(GraphFaults, Items, Listing, Delta, Writes, UploadSessions, Versions, Sharing, Copying, Sites, Batch,
                   GraphSearch,
                   GraphExtras, GraphConvert, GraphItemVersions, GraphLists, LibraryItemVersions, SubscriptionLifecycle,
                   Subscriptions, RestApi, RestBatch, RestCaml, RestChanges, RestSearch, RestLists, RestFiles,
                   RestFileOps, RestFolderOps, RestUploads,
                   RestVersions, RestExpand, RestProps, RestRecycle, RestItemOps, RestUsers, RestGroups, RestSchema,
                   RestRealm, GraphSiteMore, RestWebMore, RestItemLookup, RestFieldWrites, RestSchemaLog,
                   RestRoleWrites, RestRoleDefs, RestItemMore, GraphListDelta, RestPerms, RestWebOps,
                   CustomLists, CustomListOps, RestCustomCaml, GraphRecycle, CustomFolders, RestUserInfo,
                   GraphCustomDelta, RestItemChanges,
                   Sandbox):
    vendor = "sharepoint"
    server_header = "Microsoft-IIS/10.0"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, seed: int = 42, tls: bool = True,
                 latency_ms: float = 0, token_ttl_seconds: int = 3599, **kwargs: Any) -> None:
        self.store = GraphStore()
        self.tokens = TokenStore(ttl_seconds=token_ttl_seconds)
        self.directory = Directory(self.tokens)
        self.downloads: dict[str, str] = {}  # tempauth -> item id (``id@label`` for an older version)
        self.thumbs: dict[str, bytes] = {}  # thumbnail token -> PNG
        self.monitors: dict[str, dict[str, Any]] = {}  # copy monitor id -> its job
        self.scripted: list[dict[str, Any]] = []
        self._scripted_lock = threading.Lock()
        self.subscriptions_init()  # subscriptions.py: change notifications
        self.lifecycle_init()  # sub_lifecycle.py: their lifecycle notifications
        super().__init__(host, port, seed=seed, tls=tls, latency_ms=latency_ms, **kwargs)
        self.faults.tokens = self.tokens

    @property
    def graph_url(self) -> str:
        return self.url + "/v1.0"

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "authority_host": self.url, "graph_url": self.graph_url}

    # -- routes --------------------------------------------------------------------------------------
    def build_routes(self, router: Router) -> None:
        d = self.directory
        router.add("GET", r"/(?P<tenant>[^/_][^/]*)/v2\.0/\.well-known/openid-configuration",
                   d.openid_configuration, faults=False)
        router.add("POST", r"/(?P<tenant>[^/_][^/]*)/oauth2/v2\.0/token", d.token, faults=False)
        self.site_more_routes(router, self._authed)  # graph_site_more.py: subsites, site permissions
        self.site_routes(router, self._authed)
        self.rest_routes(router)  # SharePoint REST v1, <site>/_api/… (rest.py)
        self.realm_routes(router)  # the realm challenge ACS clients read (rest_realm.py)
        router.add("POST", r"/v1\.0/\$batch", self._authed(self.batch))
        router.add("POST", r"/v1\.0/search/query", self._authed(self.graph_search))  # graph_search.py
        self.subscription_routes(router, self._authed)  # subscriptions.py
        router.add("GET", r"/v1\.0/shares/(?P<share>[^/]+)/driveItem(?P<rest>/content)?/?",
                   self._authed(self.shared_item))
        router.add("GET", r"/v1\.0/sites/(?P<site>.+?)(?P<rest>/drives|/drive)?/?", self._authed(self.site_route))
        router.add("GET", r"/v1\.0/drives/(?P<drive>[^/]+)", self._authed(self.get_drive))
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):  # every token here is app-only
            router.add(method, r"/v1\.0/me(?:/.*)?", self._authed(lambda req: graph_error(
                400, "BadRequest", "/me request is only valid with delegated authentication flow.")))
        tail = r"/v1\.0/drives/(?P<drive>[^/]+)/(?P<tail>.+)"
        for method in ("GET", "PUT", "POST", "PATCH", "DELETE"):
            router.add(method, tail, self._authed(self.drive_item))
        session = r"/_api/v2\.0/uploadSession/(?P<sid>[A-Za-z0-9_-]+)"
        for method, handler in (("PUT", self.upload_fragment), ("GET", self.session_status),
                                ("DELETE", self.cancel_session), ("POST", self.commit_session)):
            router.add(method, session, handler, auth_faults=False)
        router.add("GET", r"/_layouts/15/download\.aspx", self.download, auth_faults=False)
        self.extras_routes(router)  # graph_extras.py
        router.add("GET", r"/_api/v2\.0/monitor/(?P<mid>[A-Za-z0-9-]+)", self.monitor, auth_faults=False)
        router.add("GET", r"/_api/v2\.0/thumbnail/(?P<token>[A-Za-z0-9_-]+)\.png", self.thumbnail, auth_faults=False)

    def _authed(self, handler):
        def wrapped(req: Request) -> Response:
            who, why = self.directory.principal(req)
            if who is None:
                return graph_error(401, "InvalidAuthenticationToken", "Access token is empty." if why == "missing"
                                   else f"Access token validation failure ({why}).",
                                   [("WWW-Authenticate", 'Bearer realm=""')])
            if not graph_audience(self.directory.scope_of(req.header("Authorization")[7:].strip()), req.base_url):
                return graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid "
                                   "audience.", [("WWW-Authenticate", 'Bearer realm=""')])  # graph_audience.py
            req.principal = who
            try:
                with self.store.writing(who):  # items it writes show it as lastModifiedBy (items.py)
                    return handler(req)
            except json.JSONDecodeError:  # a body that is not JSON: Graph's 400, not a 500
                return graph_error(400, "BadRequest", "Unable to read JSON request payload. Please ensure "
                                   "Content-Type header is set and payload is of valid JSON format.")
        return wrapped

    # -- helpers -------------------------------------------------------------------------------------
    def _drive(self, req: Request, need: str = "read") -> Drive:
        drive = self.store.drives.get(unquote(req.params["drive"]))
        if drive is None:
            raise GraphError(404, "itemNotFound", "The requested drive was not found.")
        grant = drive.grants.get(req.principal)
        if grant is None or (need == "write" and grant != "write"):
            raise GraphError(403, "accessDenied", "Access denied")
        return drive

    def _resolve(self, drive: Drive, tail: str, create: bool = False) -> tuple[Item | None, Item, str, str]:
        """(the item or None, its parent, its name, the action) for ``tail`` after ``/drives/{id}/``."""
        m = REF.match(unquote(tail))
        # office365-rest-python-client writes ``root:/a://children``: Graph reads the doubled slash as one
        action = re.sub(r"/+", "/", m.group("action") or "") if m else ""
        if m is None or (action and action not in ACTIONS):
            raise GraphError(400, "invalidRequest", f"Invalid request: unsupported segment in {tail!r}")
        start = self.store.items.get(drive.root_id if m.group("id") in (None, "root") else m.group("id"))
        if start is None or start.drive_id != drive.id:
            raise GraphError(404, "itemNotFound", "The resource could not be found.")
        item, parent, name = start, self.store.items.get(start.parent_id or ""), start.name
        for part in [p for p in (m.group("path") or "").split("/") if p]:
            if create and (item is None or self.store.child(item.id, part) is None):
                check_name(part)  # a name the upload would create
            if item is None and create:  # an upload to a path makes its missing folders, as Graph does
                item = self.store.add(drive.id, parent.id, name, None)
            if item is None:
                raise GraphError(404, "itemNotFound", "The resource could not be found.")
            if item.content is not None:
                raise GraphError(400, "invalidRequest", f"'{item.name}' is a file, not a folder.")
            parent, name, item = item, part, self.store.child(item.id, part)
        return item, parent or start, name, action

    # -- handlers ------------------------------------------------------------------------------------
    def drive_item(self, req: Request) -> Response:
        method = req.method
        preview = req.params["tail"].rstrip("/").endswith("/preview")  # a read, as Files.Read.All allows
        drive = self._drive(req, "read" if method == "GET" or preview else "write")
        # office365 writes ``root:/a.txt://permissions``: Graph reads the doubled slash after the path as one
        tail = re.sub(r"(?<=:)/{2,}", "/", unquote(req.params["tail"]))
        if tail == "list" or tail.startswith("list/"):
            return self.list_route(drive, [p for p in tail.split("/")[1:] if p], req)
        extra = self.drive_extra(drive, tail, req)  # graph_extras.py: special folders, preview
        if extra is not None:
            return extra
        sub = SUB.match(tail)
        if sub is not None:
            target = self._exists(self._resolve(drive, sub.group("ref"))[0])
            op, rest = sub.group("op").removeprefix("microsoft.graph."), sub.group("rest") or ""
            if op == "versions":
                return self.versions_route(drive, target, rest, req)
            if op == "thumbnails":
                return self.thumbnails_route(target, rest, req)
            if op == "copy" and method == "POST" and not rest:
                return self.copy_item(drive, target, req)
            if op != "copy":
                return self.permissions_route(target, op, rest, req)
            raise GraphError(400, "invalidRequest", f"{method} is not supported on {req.path}")
        delta = DELTA.match(unquote(req.params["tail"]))
        if delta is not None and method == "GET":
            folder, _, _, action = self._resolve(drive, delta.group("base"))
            if action:
                raise GraphError(400, "invalidRequest", f"Invalid request: unsupported segment in {req.path!r}")
            return self.delta(self._exists(folder), drive, req, delta.group("token"))
        search = SEARCH.match(unquote(req.params["tail"]))
        if search is not None and method == "GET":
            folder, _, _, action = self._resolve(drive, search.group("base") or "root")
            if action:
                raise GraphError(400, "invalidRequest", f"Invalid request: unsupported segment in {req.path!r}")
            return self.search(self._exists(folder), drive, req, search.group("q").replace("''", "'"))
        count = COUNT.match(tail)
        if count is not None and method == "GET":  # listing.py: children/$count
            folder, _, _, action = self._resolve(drive, count.group("base"))
            if action:
                raise GraphError(400, "invalidRequest", f"Invalid request: unsupported segment in {req.path!r}")
            return self.children_count(self._exists(folder), drive, req)
        upload = method in ("PUT", "POST") and re.search(r"/(content|createUploadSession)/?$", req.params["tail"])
        item, parent, name, action = self._resolve(drive, req.params["tail"], create=bool(upload))
        if method == "GET" and action in ("", "/content") and item is not None and self._unchanged(item, req):
            return Response(304, b"")  # If-None-Match naming its current eTag or cTag, as Graph documents
        if method == "GET" and action == "":
            check_options(req.query, "item")
            return self._found(item, drive, req)
        if method == "GET" and action == "/children":
            return self.children(self._exists(item), drive, req)
        if method == "GET" and action == "/content":
            target = self._exists(item)
            if target.content is None:
                raise GraphError(400, "invalidRequest", "The item is a folder; only files have content.")
            if "format" in req.query or "$format" in req.query:  # graph_convert.py: content?format=pdf
                return self.converted_content(target, req)
            return Response(302, b"", "text/plain", [("Location", self._download_url(target, req))])
        if method == "GET" and action in ("/listItem", "/listItem/fields"):
            fields = self._fields(self._exists(item))
            return json_response(fields if action.endswith("fields") else {"id": fields["id"], "fields": fields})
        if method in ("PUT", "PATCH", "DELETE", "POST") and action in ("", "/content", "/createUploadSession",
                                                                    "/permanentDelete") and item is not None:
            self._precondition(item, req)
        if method == "PUT" and action == "/content":
            if len(req.body) > 250 * 1024 * 1024:
                raise GraphError(413, "invalidRequest", "Maximum request length exceeded; use an upload session.")
            behavior = conflict_behavior(req, None, "replace")
            if item is not None and item.content is None:
                raise GraphError(409, "nameAlreadyExists", "A folder with the specified name already exists.")
            with self.store.lock:
                name = self.settle_name(parent, name, behavior) if behavior != "replace" else name
                item = self.store.child(parent.id, name)
                self._room(drive, len(req.body), item)
                created = item is None
                stored = self.store.add(drive.id, parent.id, name, req.body)
            return json_response(self._item_resource(stored, drive, req), 201 if created else 200)
        if method == "POST" and action == "/createUploadSession":
            return self.create_session(drive, parent, name, item, req)
        if method == "POST" and action == "/children":
            return self.create_folder(drive, self._exists(item), req)
        if method == "POST" and action in ("/checkout", "/checkin", "/discardCheckout"):  # writes.py
            return self.check_out_or_in(self._exists(item), action == "/checkout", req, action == "/discardCheckout")
        if method == "PATCH" and action == "/listItem/fields":
            return self.patch_fields(drive, self._exists(item), req)
        if method == "PATCH" and action == "":
            return self.update_item(drive, self._exists(item), req)
        if (method, action) in (("DELETE", ""), ("POST", "/permanentDelete")):  # graph_recycle.py
            return self.graph_delete(drive, self._exists(item), req, permanent=bool(action))
        raise GraphError(400, "invalidRequest", f"{method} is not supported on {req.path}")

    def reset(self) -> None:
        super().reset()
        self.scripted.clear()
        self.subscriptions.clear()
        self.lifecycle_close()
