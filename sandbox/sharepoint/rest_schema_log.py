"""The web's own schema (site columns and content types made through REST) and the change log of schema
objects, for ``GraphSandbox``:

- ``POST web/ContentTypes`` (office365's ``content_types.add(ContentTypeCreationInformation(name))``: ``Name``,
  ``Description``, ``Group``, ``Id: {"StringValue"}``) and ``POST web/ContentTypes/Create`` (``{"parameters":
  SP.ContentTypeEntityData}`` with ``ParentContentTypeId``) make a content type of the web; without an id it is a
  child of Item: ``0x0100`` and 32 hex digits (a child of ``ParentContentTypeId`` likewise) [unc: SharePoint's
  default parent]. ``MERGE`` on ``ContentTypes('<id>')`` takes ``Name``, ``Description``, ``Group``, ``Hidden``
  (204); ``…/Update`` (``{"updateChildren"}``) is accepted (200); ``DELETE`` removes it. The built-in Item,
  Document and Folder types cannot be changed or deleted (400) [unc: SharePoint's text]. A taken name is 400.
  Writes need a ``write`` grant on one of the web's libraries [unc: ManageLists], else 403.
- ``POST lists/…/ContentTypes/AddAvailableContentType('<id>')`` on a library adds one of the web's types (Item, or
  one made here) to it: its ``ContentTypes`` then show it with a list id (the web type's id, ``00``, the list's
  suffix) [unc: SharePoint asks ``ContentTypesEnabled``]; a type the web lacks is 404, one the list has 400.
- The change log: each field, content type and custom list made, changed or deleted through REST takes the
  store's next change number (``rest_schema_changed``); ``getChanges`` with ``Field``, ``ContentType``,
  ``List`` or ``Web`` in the query answers ``SP.ChangeField`` (``FieldId``), ``SP.ChangeContentType``
  (``ContentTypeId``), ``SP.ChangeList`` (``ListId``) and ``SP.ChangeWeb`` entries with ``ChangeType`` 1 Add,
  2 Update, 3 DeleteObject (``rest_changes.py`` merges them with item changes, by change number).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, DENIED, NOT_FOUND, RestError
from sandbox.sharepoint.store import now_iso

ARG = "-2147024809, System.ArgumentException"
WEB_TYPES = (("0x01", "Item", "Create a new list item.", "List Content Types"),)  # what a library may add [unc]
CT_SETTABLE = {"Name": str, "Description": str, "Group": str, "Hidden": bool}
KINDS = {"field": ("Field", "SP.ChangeField"), "contenttype": ("ContentType", "SP.ChangeContentType"),
         "list": ("List", "SP.ChangeList"), "web": ("Web", "SP.ChangeWeb")}


@dataclass
class WebSchema:
    """The site columns and content types a web was given through REST (``columns`` / ``column_defs`` as a
    list's, so ``rest_field_writes`` treats both alike)."""
    columns: set[str] = field(default_factory=set)
    column_defs: dict[str, dict[str, Any]] = field(default_factory=dict)
    types: dict[str, dict[str, Any]] = field(default_factory=dict)  # StringId -> Name, Description, Group, Hidden


class RestSchemaLog:
    """Mixed into ``GraphSandbox`` with ``RestApi`` and ``RestWebMore``."""

    def web_schema(self, site: str) -> WebSchema:
        with self.store.lock:
            return self.store.web_schema.setdefault(site, WebSchema())

    def rest_schema_changed(self, owner: str, kind: str, key: str, change_type: int) -> None:
        """Log a change (1 add, 2 update, 3 delete) of a schema object ``key`` of ``kind`` under ``owner`` (a site
        id for the web's, a list's id for a list's)."""
        with self.store.lock:
            self.store.seq += 1
            self.store.schema_log.append((self.store.seq, owner, kind, key, change_type, now_iso()))

    def rest_schema_changes(self, req: Request, query: dict[str, Any], owners: set[str], start: int, end: int,
                            site: str) -> list[tuple[int, str, dict[str, Any]]]:
        """(change number, entity type, properties) of the logged changes under ``owners`` the query asks for."""
        wanted = {k for k, (flag, _) in KINDS.items() if query.get(flag)}
        web_id = site.split(",")[1]
        out = []
        for seq, owner, kind, key, change_type, when in list(self.store.schema_log):
            if kind not in wanted or owner not in owners or not start < seq <= (end or seq):
                continue
            props: dict[str, Any] = {"ChangeType": change_type, "SiteId": web_id, "Time": when[:19] + "Z",
                                     "WebId": web_id}
            if kind == "field":
                props["FieldId"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{key}"))
            elif kind == "contenttype":
                props["ContentTypeId"] = {"StringValue": key}
            elif kind == "list":
                props["ListId"] = key
            out.append((seq, KINDS[kind][1], props))
        return out

    # -- a library's content types from the web's ---------------------------------------------------------------
    def list_type_rows(self, site: str, lid: str) -> list[tuple[str, str, str, str]]:
        """(web content type id, name, description, group) of the types added to list ``lid``."""
        known = {cid: (cid, *rest) for cid, *rest in [*WEB_TYPES, *self.web_type_rows(site)]}
        return [known[c] for c in self.store.list_types.get(lid, []) if c in known]

    def rest_list_add_type(self, site: str, lid: str, seg: tuple[str, str | None], present: set[str]) -> None:
        """``ContentTypes/AddAvailableContentType('<web type id>')``: the web's type (built-in Item, or one made)
        is added to the list (its list id: the web type's, ``00`` and the list's suffix); one the web does not
        have is 404, one the list has is 400 [unc: SharePoint's codes and texts]."""
        key = args(seg[1]).get("", "").strip()
        web = {c.lower(): c for c, *_ in [*WEB_TYPES, *self.web_type_rows(site)]}
        if key.lower() not in web:
            raise RestError(404, ("-2146232832, Microsoft.SharePoint.SPException", "The content type does not "
                                  "exist."))
        with self.store.lock:
            added = self.store.list_types.setdefault(lid, [])
            if web[key.lower()] in added or key.lower() in {p.lower() for p in present}:
                raise RestError(400, ("-2146232832, Microsoft.SharePoint.SPException", "A duplicate content type "
                                      "was found."))
            added.append(web[key.lower()])
        self.rest_schema_changed(lid, "contenttype", web[key.lower()], 1)

    # -- the web's content types ------------------------------------------------------------------------
    def web_type_rows(self, site: str) -> list[tuple[str, str, str, str]]:
        return [(cid, t["Name"], t["Description"], t["Group"]) for cid, t in self.web_schema(site).types.items()]

    def rest_web_types_write(self, req: Request, site: str, segs: list[tuple[str, str | None]], built_in: set[str],
                             verbose: bool) -> Response:
        """A write to ``web/ContentTypes…`` (``segs`` from ``contenttypes``)."""
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        if self.rest_grant(req, site) != "write":  # rest_perms.py
            raise RestError(403, DENIED)
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise RestError(400, BAD)
        schema = self.web_schema(site)
        if method == "POST" and ((names == ["contenttypes"] and not segs[0][1]) or names[1:] == ["create"]):
            raw = body.get("parameters") if names[1:] == ["create"] else body
            raw = raw if isinstance(raw, dict) else {}
            name = raw.get("Name")
            if not isinstance(name, str) or not name.strip():
                raise RestError(400, (ARG, "The content type needs a name."))  # [unc] the text
            given = raw.get("Id")
            cid = str(given.get("StringValue") if isinstance(given, dict) else given or "")
            parent = str(raw.get("ParentContentTypeId") or "0x01")
            cid = cid or f"{parent}00{uuid.uuid4().hex.upper()}"
            with self.store.lock:
                taken = {t["Name"].lower() for t in schema.types.values()} | {"item", "document", "folder"}
                if name.strip().lower() in taken or cid.lower() in {c.lower() for c in [*schema.types, *built_in]}:
                    raise RestError(400, ("-2146232832, Microsoft.SharePoint.SPException", "A duplicate content type "
                                          f'"{name.strip()}" was found.'))
                schema.types[cid] = {"Name": name.strip(), "Description": str(raw.get("Description") or ""),
                                     "Group": str(raw.get("Group") or "Custom Content Types"), "Hidden": False}
            self.rest_schema_changed(site, "contenttype", cid, 1)
            return self._rest_json(self._web_content_type(req, (cid, name.strip(), schema.types[cid]["Description"],
                                                                schema.types[cid]["Group"]), verbose),
                                   verbose, 201 if len(names) == 1 else 200)
        key = args(segs[0][1] or (segs[1][1] if names[1:2] == ["getbyid"] else "")).get("", "")
        rest = names[2:] if names[1:2] == ["getbyid"] else names[1:]
        cid = next((c for c in schema.types if c.lower() == key.lower()), None)
        if cid is None:
            if key.lower() in {c.lower() for c in built_in}:
                raise RestError(400, ("-2146232832, Microsoft.SharePoint.SPException",
                                      "The content type is read only."))  # [unc]
            raise RestError(404, NOT_FOUND)
        if rest == ["update"] and method == "POST":  # ContentType.update(True): push to children (none here)
            return Response(200, b"")
        if rest:
            raise RestError(400, BAD)
        if method == "DELETE":
            with self.store.lock:
                schema.types.pop(cid, None)
            self.rest_schema_changed(site, "contenttype", cid, 3)
            return Response(200, b"")
        if method not in ("MERGE", "PATCH", "PUT"):
            raise RestError(400, BAD)
        changes = {k: v for k, v in body.items() if k not in ("__metadata", "StringId", "Id")}
        for k, v in changes.items():
            if k not in CT_SETTABLE or not isinstance(v, CT_SETTABLE[k]):
                raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                      f"The property '{k}' does not exist on type 'SP.ContentType'. Make sure to "
                                      "only use property names that are defined by the type."))
        with self.store.lock:
            schema.types[cid].update(changes)
        self.rest_schema_changed(site, "contenttype", cid, 2)
        return Response(204, b"")
