"""SharePoint REST API v1 (``<site>/_api/...``) over the same store as Graph, as
office365-rest-python-client's ``ClientContext`` speaks it (files and folders in ``rest_files.py``).

- The site URL is ``{sb.url}/sites/{name}`` (the name as ``store.site`` got it, spaces dropped); each library
  the site has is a list titled by its name at ``/sites/{name}/{library}``; the site's first library also
  answers as ``Documents`` / ``Shared Documents`` (as Graph's ``/drive`` does) [unc: real URLs differ].
- ``POST _api/contextinfo`` (FormDigestValue), ``GET _api/web``, ``web/RootFolder`` (its ``Folders`` are the
  libraries' root folders, as ``ensure_folder_path`` walks them); lists and items in ``rest_lists.py``, CAML
  queries in ``rest_caml.py``; ``POST _api/$batch`` in ``rest_batch.py``; ``_api/search`` in ``rest_search.py``;
  ``getChanges`` in ``rest_changes.py``; ``RecycleBin`` in ``rest_recycle.py``; ``SP.MoveCopyUtil`` in
  ``rest_file_ops.py``. ``_api/site`` (and ``site/RootWeb``), ``web/CurrentUser`` (the app), ``web/Webs`` (none).
- Every answer carries ``SPRequestGuid`` and ``request-id`` (the same GUID); an expression SharePoint cannot
  read is 400 ``The expression "web/…" is not valid.``
- Auth: a bearer token from the emulator's Entra ID for ``https://{host}/.default`` (the site's host);
  missing, unknown, expired or other-audience tokens are 401 with ``WWW-Authenticate: Bearer realm=…``
  and SharePoint's ``{"error_description": …}`` body; a site or library the app was not granted is 403.
  ``X-RequestDigest`` is not checked: SharePoint does not check it for OAuth bearer requests [unc].
- Answers follow ``Accept``: ``odata=verbose`` wraps in ``{"d": …}`` with ``__metadata`` and collections
  in ``results``; otherwise (nometadata, minimalmetadata, none) plain objects and ``value`` [unc: minimal
  adds ``odata.metadata``]. Errors: ``{"error": {"code": "<hresult>, <type>", "message": {"lang", "value"}}}``
  for verbose, the same under ``odata.error`` otherwise.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from sandbox.core.http import Request, Response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.rest_errors import (
    BAD,
    DENIED,
    NOT_FOUND,
    RestError,
    error_response,
    request_ids,
    unauthorized,
    verbose_of,
)
from sandbox.sharepoint.rest_perms import base_permissions
from sandbox.sharepoint.store import Drive

SEGMENT = re.compile(r"(?P<name>[A-Za-z_$][\w.$]*)(?:\((?P<args>(?:[^()']|'(?:[^']|'')*')*)\))?(?:/|$)")
DOCS = ("documents", "shared documents")
# POSTed service operations that only read
READS = ("getitems", "renderlistdataasstream", "renderlistdata", "getchanges", "getcheckedoutfiles", "getlist",
         "getlistusingpath", "getusereffectivepermissions", "getlistitemchangessincetoken")


def segments(tail: str) -> list[tuple[str, str | None]]:
    """``web/GetFolderByServerRelativeUrl('/a')/Files`` -> [(web, None), (getfolderbyserverrelativeurl, "'/a'"), …]."""
    out, pos = [], 0
    while pos < len(tail):
        m = SEGMENT.match(tail, pos)
        if m is None or m.end() == pos:
            raise RestError(400, BAD)
        out.append((m.group("name").lower(), m.group("args")))
        pos = m.end()
    return out


def aliased(segs: list[tuple[str, str | None]], query: dict[str, str]) -> list[tuple[str, str | None]]:
    """OData parameter aliases put back in place: ``GetListUsingPath(@v)?@v={"DecodedUrl": "/a"}`` (a JSON
    object: its members as named arguments, as office365's ``SPResPath`` sends them) or ``(url=@a1)?@a1='/a'``."""

    def value(name: str) -> str:
        raw = query.get("@" + name)
        if raw is None:
            raise RestError(400, BAD)
        try:
            parsed = json.loads(raw)
        except ValueError:
            return raw  # already a literal ('…', a number, true)
        if isinstance(parsed, dict):
            return ",".join(f"{k}='{str(v).replace(chr(39), chr(39) * 2)}'" for k, v in parsed.items())
        return "'" + str(parsed).replace("'", "''") + "'" if isinstance(parsed, str) else raw

    out = []
    for name, raw in segs:
        if raw and "@" in raw:
            raw = re.sub(r"('(?:[^']|'')*')|@(\w+)", lambda m: m.group(1) or value(m.group(2)), raw)
        out.append((name, raw))
    return out


def args(raw: str | None) -> dict[str, str]:
    """``'x'`` -> {"": "x"}; ``url='a',overwrite=true`` -> {"url": "a", "overwrite": "true"}; guid'…' kept bare."""
    out: dict[str, str] = {}
    for m in re.finditer(r"(?:(\w+)\s*=\s*)?(?:(?:guid)?'((?:[^']|'')*)'|([^,']+))", raw or ""):
        out[(m.group(1) or "").lower()] = (m.group(2).replace("''", "'") if m.group(2) is not None
                                           else m.group(3).strip())
    return out


def pick(props: dict[str, Any], select: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """``$select``: the named properties (the exact name, else one in another case [unc]); ``*`` all the
    default ones; ``extra`` those shown only when named; unknown names are left out [unc: SharePoint refuses
    some]; nothing selected: the default ones."""
    names = [n.strip() for n in select.split(",") if n.strip() and "/" not in n]
    if not names:
        return props
    every = {**props, **(extra or {})}
    out = dict(props) if "*" in names else {}
    for n in names:
        key = n if n in every else next((k for k in every if k.lower() == n.lower()), None)
        if key is not None:
            out[key] = every[key]
    return out


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except ValueError:
        return None


def iso(stamp: str) -> str:
    return stamp[:19] + "Z"


class RestApi:
    """Mixed into ``GraphSandbox`` (uses ``store``, ``directory``); file handlers from ``RestFiles``."""

    def rest_routes(self, router) -> None:
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            router.add(method, r"/(?P<kind>sites|teams)/(?P<site>[^/]+)/_api(?:/(?P<tail>.*))?", self.rest)
        router.add("POST", r"/_api/(?P<tail>(?i:contextinfo|SP\.Web\.GetWebUrlFromPageUrl))", self.rest_root)

    def rest_root(self, req: Request) -> Response:
        """The tenant's root site, as far as ``ClientContext.from_url`` / ``File.from_url`` reach it: ``POST
        _api/contextinfo`` and ``SP.Web.GetWebUrlFromPageUrl`` (``{"pageFullUrl"}``: the URL of the site the page
        is in, or 404 [unc]). A token for SharePoint's audience is enough; the root site has no content here."""
        verbose = verbose_of(req)
        sites = list(self.store.sites)
        refused = self._rest_auth(req, sites[0]) if sites else unauthorized("Unsupported security token.")
        if refused is not None:
            return refused
        if req.params["tail"].lower() == "contextinfo":
            digest = f"0x{secrets.token_hex(64).upper()},{datetime.now(UTC).strftime('%d %b %Y %H:%M:%S')} -0000"
            info = {"FormDigestTimeoutSeconds": 1800, "FormDigestValue": digest, "LibraryVersion": "16.0.0.0",
                    "SiteFullUrl": req.base_url, "WebFullUrl": req.base_url,
                    "SupportedSchemaVersions": ["14.0.0.0", "15.0.0.0"]}
            body = {"GetContextWebInformation": self._rest_entity(info, "SP.ContextWebInformation", "", verbose)}
            return self._rest_json(body if verbose else info, verbose)
        try:
            page = str((req.json() or {}).get("pageFullUrl") or "")
        except ValueError:
            page = ""
        m = re.match(r"^(?:https?://[^/]+)?/(sites|teams)/([^/?#]+)", page)
        names = {n.lower().replace(" ", ""): n for n in self.store.sites.values()}
        if m is None or unquote(m.group(2)).lower() not in names:
            return error_response(req, 404, *NOT_FOUND)
        url = f"{req.base_url}/{m.group(1)}/{m.group(2)}"
        return self._rest_json({"GetWebUrlFromPageUrl": url} if verbose else {"value": url}, verbose)

    # -- the envelope: auth, format, errors ------------------------------------------------------------
    def rest(self, req: Request) -> Response:
        verbose = verbose_of(req)
        try:
            site = self._rest_site(req)
            refused = self._rest_auth(req, site)
            if refused is not None:
                return refused
            if not any(req.principal in d.grants for d in self._rest_drives(site)):
                raise RestError(403, DENIED)  # an app granted nothing on the site (Sites.Selected), as Graph's site
            segs = aliased(segments(unquote(req.params.get("tail") or "")), req.query)
            with self.store.writing(req.principal):  # Graph's lastModifiedBy names the app (items.py)
                return self._rest_dispatch(req, site, segs, verbose)
        except GraphError as exc:  # a name or quota check shared with Graph [unc: SharePoint's codes for them]
            return error_response(req, exc.status, "-2130575245, Microsoft.SharePoint.SPException", exc.detail or "")
        except RestError as exc:
            text = exc.text
            if (exc.code, text) == BAD:  # SharePoint names the expression it could not read
                text = f'The expression "{unquote(req.params.get("tail") or "")}" is not valid.'
            return error_response(req, exc.status, exc.code, text)
        except ValueError:  # a body that is not JSON
            return error_response(req, 400, "-1, Microsoft.OData.ODataException", "Invalid JSON. A token was not "
                                  "recognized in the JSON content.")  # [unc] the text

    def _rest_json(self, obj: Any, verbose: bool, status: int = 200, raw: bool = False) -> Response:
        body = obj if raw else ({"d": obj} if verbose else obj)
        kind = "verbose" if verbose else "nometadata"
        return Response(status, json.dumps(body, separators=(",", ":")).encode(),
                        f"application/json;odata={kind};streaming=true;charset=utf-8",
                        [*request_ids(), ("X-SharePointHealthScore", "0")])

    def _rest_entity(self, props: dict[str, Any], kind: str, uri: str, verbose: bool) -> dict[str, Any]:
        if not verbose:
            return props
        return {"__metadata": {"id": uri, "uri": uri, "type": kind}, **props}

    def _rest_collection(self, items: list[dict[str, Any]], verbose: bool) -> dict[str, Any]:
        return {"results": items} if verbose else {"value": items}

    def _rest_site(self, req: Request) -> str:
        key = unquote(req.params["site"]).lower()
        for site_id, name in self.store.sites.items():
            if key in (name.lower(), name.lower().replace(" ", "")):
                return site_id
        raise RestError(404, NOT_FOUND)  # [unc] SharePoint answers an unknown site with an HTML 404

    def _rest_auth(self, req: Request, site: str) -> Response | None:
        header = req.header("Authorization")
        token = header[len("Bearer "):].strip() if header.startswith("Bearer ") else ""
        audience = f"https://{site.split(',')[0]}"
        who, why = self.directory.principal(req) if token else (None, "missing")
        scope = self.directory.scope_of(token) if who else ""
        resource = scope.lower().removesuffix("/.default")
        # SharePoint's resource by its host, or by its app id (``00000003-0000-0ff1-ce00-000000000000``) [unc]
        # or by the origin the client reached it at (``ClientContext`` asks for ``{its site's origin}/.default``)
        if who is not None and resource in (audience.lower(), "00000003-0000-0ff1-ce00-000000000000",
                                            req.base_url.lower().rstrip("/")):
            req.principal = who
            return None
        if who is not None:
            text = f"Invalid audience Uri '{scope.removesuffix('/.default')}'."
        else:
            text = {"missing": "Unsupported security token.", "expired": "The token is expired."}.get(
                why, "Invalid issuer or signature.")  # [unc] SharePoint's exact texts per reason
        return unauthorized(text, who.split("/")[0] if who else self.realm_of(site))  # rest_realm.py

    # -- resources ---------------------------------------------------------------------------------------
    def rest_web_answer(self, req: Request, site: str, verbose: bool) -> Response:
        """The site's (only) web, ``$select`` applied."""
        abs_url, rel = self._rest_web_url(req)
        props = {"Id": site.split(",")[1], "Title": self.store.sites[site], "Url": abs_url,
                 "ServerRelativeUrl": rel, "WebTemplate": "STS", "Language": 1033}
        extra = {"EffectiveBasePermissions": base_permissions(self.rest_grant(req, site), verbose)}  # rest_perms.py
        return self._rest_json(self._rest_entity(pick(props, req.query.get("$select", ""), extra), "SP.Web",
                                                 f"{abs_url}/_api/Web", verbose), verbose)

    def _rest_web_url(self, req: Request) -> tuple[str, str]:
        """(absolute site URL, server-relative URL) as the caller addressed the site."""
        rel = f"/{req.params['kind']}/{unquote(req.params['site'])}"
        return req.base_url + rel, rel

    def _rest_drives(self, site: str) -> list[Drive]:
        return [d for d in self.store.drives.values() if d.site_id == site]

    def _rest_drive(self, req: Request, site: str, title: str, need: str = "read") -> Drive:
        drives = self._rest_drives(site)
        lib = next((d for d in drives if d.name.lower() == title.lower()), None)
        if lib is None and title.lower() in DOCS and drives:
            lib = drives[0]
        if lib is None:
            raise RestError(404, ("-1, System.ArgumentException",
                                  f"List '{title}' does not exist at site with URL '{self._rest_web_url(req)[0]}'."))
        grant = lib.grants.get(req.principal)
        if grant is None or (need == "write" and grant != "write"):
            raise RestError(403, DENIED)
        return lib

    def rest_app_user(self, req: Request, verbose: bool) -> dict[str, Any]:
        """The app, as SharePoint shows an app-only caller: ``CurrentUser``, and every file's author and editor
        here (the app wrote them all) [unc: its fields]."""
        tenant, _, client = str(req.principal).partition("/")
        props = {"Id": 1073741823, "IsHiddenInUI": False, "LoginName": f"i:0i.t|ms.sp.ext|{client}@{tenant}",
                 "Title": "SharePoint App", "PrincipalType": 1, "Email": "", "IsSiteAdmin": False,
                 "UserId": None, "UserPrincipalName": None}
        return self._rest_entity(props, "SP.User", f"{self._rest_web_url(req)[0]}/_api/Web/GetUserById(1073741823)",
                                 verbose)

    # -- dispatch -----------------------------------------------------------------------------------------
    def _rest_dispatch(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        if [n for n, _ in segs[:2]] == ["site", "rootweb"] and len(segs) > 2:
            segs = [("web", None), *segs[2:]]  # the site collection's root web is the site's only web here
        names = [n for n, _ in segs]
        if names in (["contextinfo"], ["web", "contextinfo"]) and req.method == "POST":
            digest = f"0x{secrets.token_hex(64).upper()},{datetime.now(UTC).strftime('%d %b %Y %H:%M:%S')} -0000"
            info = {"FormDigestTimeoutSeconds": 1800, "FormDigestValue": digest, "LibraryVersion": "16.0.0.0",
                    "SiteFullUrl": self._rest_web_url(req)[0], "WebFullUrl": self._rest_web_url(req)[0],
                    "SupportedSchemaVersions": ["14.0.0.0", "15.0.0.0"]}
            body = {"GetContextWebInformation": self._rest_entity(info, "SP.ContextWebInformation", "", verbose)}
            return self._rest_json(body if verbose else info, verbose)
        if names == ["$batch"] and req.method == "POST":
            return self.rest_batch(req)  # rest_batch.py
        if names[:1] in (["search"], ["microsoft.office.server.search.rest.searchservice"]):
            return self.rest_search(req, segs[1:], verbose)  # rest_search.py
        if len(names) == 1 and names[0].startswith("sp.movecopyutil."):
            return self.rest_move_copy_util(req, site, names[0].rsplit(".", 1)[1], verbose)  # rest_file_ops.py
        if not names or names[0] not in ("web", "site"):
            raise RestError(404, ("-1, Microsoft.SharePoint.Client.ResourceNotFoundException",
                                  f"Cannot find resource for the request {names[0] if names else ''}."))
        granted = [d for d in self._rest_drives(site) if req.principal in d.grants]
        if names in (["web", "getchanges"], ["site", "getchanges"]) and req.method == "POST":  # rest_changes.py
            return self.rest_get_changes(req, site, (2 if names[0] == "web" else 1, site.split(",")[1]), granted,
                                         verbose)
        if names == ["site"] and req.method == "GET":
            abs_url, rel = self._rest_web_url(req)
            props = {"Id": site.split(",")[1], "Url": abs_url, "ServerRelativeUrl": rel, "ReadOnly": False,
                     "PrimaryUri": abs_url, "HubSiteId": str(uuid.UUID(int=0))}
            return self._rest_json(self._rest_entity(props, "SP.Site", f"{abs_url}/_api/Site", verbose), verbose)
        if names == ["web", "effectivebasepermissions"] and req.method == "GET":  # rest_perms.py
            return self.rest_effective_perms(req, site, None, verbose)
        if names == ["web", "currentuser"] and req.method == "GET":
            return self._rest_json(self.rest_app_user(req, verbose), verbose)
        if names[:2] in (["web", "siteusers"], ["web", "getuserbyid"], ["web", "ensureuser"]):
            return self.rest_users_route(req, site, segs[1:], verbose)  # rest_users.py
        if names[0] == "web" and names[1:2] and names[1] in ("sitegroups", "associatedownergroup",
                                                              "associatedmembergroup", "associatedvisitorgroup"):
            return self.rest_groups_route(req, self.store.sites[site], segs[1:], verbose)  # rest_groups.py
        op = self.rest_web_op(req, site, segs, verbose)  # rest_web_ops.py
        if op is not None:
            return op
        if names[:2] in (["web", "recyclebin"], ["site", "recyclebin"]):
            return self.rest_recycle_bin(req, site, segs[1:], verbose, names[0])  # rest_recycle.py
        if names in (["web", "allproperties"], ["web", "rootfolder", "properties"]):  # rest_props.py
            return self.rest_props(req, site, f"{self._rest_web_url(req)[0]}/_api/web/AllProperties", verbose)
        if names == ["web"] and req.method in ("POST", "PATCH", "MERGE", "PUT"):
            self.rest_refuse_bag_write(req, _json_or_none(req.body))
            # an update of the web (Title, Description…) needs ManageWeb, which a Sites.Selected "write" app
            # (SharePoint's Edit role) does not have [unc: a "fullcontrol" grant, not emulated, would]
            raise RestError(403, DENIED)
        if names in (["web"], ["site", "rootweb"]) and req.method == "GET":  # the site's only web here
            return self.rest_web_answer(req, site, verbose)
        if names[:2] in (["web", "roleassignments"], ["web", "roledefinitions"], ["web", "hasuniqueroleassignments"]):
            return self.rest_web_roles(req, site, segs[1:], verbose)  # rest_role_writes.py
        if names == ["web", "webs"] and req.method == "GET":  # no subsites here
            return self._rest_json(self._rest_collection([], verbose), verbose)
        if names == ["web", "lists"] and not segs[1][1] and req.method == "GET":  # lists(guid) below
            return self.rest_web_lists(req, site, granted, verbose)  # rest_web_ops.py
        if names == ["web", "lists"] and not segs[1][1] and req.method == "POST":  # rest_custom_caml.py
            return self.rest_create_list(req, site, verbose)
        need = "read" if req.method == "GET" or names[-1] in READS else "write"
        if names[:3] == ["web", "lists", "getbytitle"]:
            custom = self.rest_custom_list(req, site, title=args(segs[2][1]).get("", ""), need=need)
            if custom is not None:
                return self.rest_custom_route(req, site, custom, segs[3:], verbose)  # custom_lists.py
            d = self._rest_drive(req, site, args(segs[2][1]).get("", ""), need)
            return self.rest_list_route(req, d, segs[3:], verbose)
        by_id = names[:3] == ["web", "lists", "getbyid"]
        if by_id or (names[:2] == ["web", "lists"] and segs[1][1]):  # lists/GetById('…'), lists(guid'…')
            key = args(segs[2][1] if by_id else segs[1][1]).get("", "").lower()
            custom = self.rest_custom_list(req, site, lid=key, need=need)
            if custom is not None:
                return self.rest_custom_route(req, site, custom, segs[3 if by_id else 2:], verbose)
            d = next((d for d in self._rest_drives(site) if str(uuid.uuid5(uuid.NAMESPACE_URL, d.id)) == key), None)
            if d is None:
                raise RestError(404, ("-1, System.ArgumentException", "List does not exist.\n\nThe page you "
                                      "selected contains a list that does not exist.  It may have been deleted by "
                                      "another user."))
            return self.rest_list_route(req, self._rest_drive(req, site, d.name, need), segs[3 if by_id else 2:],
                                        verbose)
        if names[:2] in (["web", "getlist"], ["web", "getlistusingpath"]):  # by its URL
            a = args(segs[1][1])
            d, parts = self._rest_locate(req, site, a.get("decodedurl", a.get("", "")), need)
            if parts:
                raise RestError(404, NOT_FOUND)
            if len(segs) == 2 and req.method == "POST":  # as office365's Web.get_list_using_path calls it
                return self._rest_json(self._rest_list(req, d, verbose), verbose)
            return self.rest_list_route(req, d, segs[2:], verbose)
        if names[:2] == ["web", "defaultdocumentlibrary"]:
            return self.rest_list_route(req, self._rest_drive(req, site, "Documents", need), segs[2:], verbose)
        more = self.rest_web_more(req, site, segs[1:], verbose) if names[0] == "web" else None
        if more is None and names[0] == "web":  # rest_item_lookup.py: GetListItem(UsingPath)
            more = self.rest_web_lookup(req, site, segs[1:], verbose)
        if more is not None:  # rest_web_more.py: the web's fields, content types, regional settings
            return more
        return self.rest_files(req, site, segs[1:], verbose)

    def _rest_web_root(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        """``web/RootFolder``: the site's own folder, whose subfolders are the libraries' root folders (as
        ``ensure_folder_path`` walks it). ``Folders/Add('<library>')`` answers that library's root folder;
        another name is 403 here [unc: SharePoint makes a folder in the web's root]."""
        names = [n for n, _ in segs]
        need = "read" if req.method == "GET" else "write"
        if not names and req.method == "GET":
            abs_url, rel = self._rest_web_url(req)
            props = {"Name": "", "ServerRelativeUrl": rel, "ServerRelativePath": {"DecodedUrl": rel}, "Exists": True,
                     "ItemCount": 0, "WelcomePage": "SitePages/Home.aspx"}
            return self._rest_json(self._rest_entity(props, "SP.Folder", f"{abs_url}/_api/Web/RootFolder", verbose),
                                   verbose)
        if names == ["folders"] and not segs[0][1] and req.method == "GET":
            roots = [self._rest_folder(req, d, self.store.items[d.root_id], verbose) for d in self._rest_drives(site)
                     if req.principal in d.grants]
            return self._rest_json(self._rest_collection(roots, verbose), verbose)
        if names[:1] == ["folders"] and (segs[0][1] or names[1:2] == ["add"]):
            by_call = names[1:2] == ["add"]
            parts = [p for p in args(segs[1][1] if by_call else segs[0][1]).get("", "").split("/") if p]
            if not parts:
                raise RestError(400, BAD)
            try:
                d = self._rest_drive(req, site, parts[0], need)
            except RestError as exc:
                raise RestError(403 if by_call else 404, DENIED if by_call else NOT_FOUND) if exc.status == 404 \
                    else exc from None
            if by_call and req.method == "POST":
                made = self._rest_make_folder(d, self.store.items[d.root_id], parts[1:])
                return self._rest_json(self._rest_folder(req, d, made, verbose), verbose)
            folder = self._rest_walk(d, parts[1:])
            if by_call or folder is None or folder.content is not None:
                raise RestError(404, NOT_FOUND)
            return self.rest_folder_route(req, d, folder, segs[1:], verbose)
        raise RestError(400, BAD)
