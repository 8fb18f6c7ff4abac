"""SharePoint REST v1 custom lists (``genericList``, BaseTemplate 100): the only lists whose items take
attachments. Made with ``sb.add_custom_list(site_id, title, grants={app: "read"|"write"}, columns=…)`` (none
are seeded); Graph's ``/sites/{id}/lists`` shows and writes the same lists (``graph_lists.py``), and a change
through either API notifies their subscriptions (``store.changed``).

- the list (``web/lists``, ``lists/GetByTitle('…')``, ``lists(guid'…')``) at ``/sites/{site}/Lists/{Title}``
  (spaces dropped), ``EnableAttachments`` true; ``items`` GET (``$select``, ``$filter``, ``$orderby``, ``$top``),
  POST (``Title`` and the list's columns; another name is 400 as for a library), ``items(n)`` GET / MERGE /
  DELETE; ``ContentTypes`` (Item, Folder), ``Views`` / ``DefaultView`` (``All Items``, ViewFields
  ``LinkTitle``), ``RoleAssignments`` (the web's, ``rest_schema.py``).
- ``items(n)/AttachmentFiles``: GET; ``add(FileName='…')`` / ``AddUsingPath(DecodedUrl='…')`` POST with the
  bytes as body (a taken name: 400 SPFileExistsException [unc: the text]); ``AttachmentFiles('…')`` /
  ``GetByFileName('…')`` GET, ``/$value`` GET and PUT, DELETE (or POST ``X-HTTP-Method: DELETE``),
  ``RecycleObject``; the item's ``Attachments`` is true while it has one. As office365's ``Attachment`` reads
  and deletes through ``web/GetFileByServerRelativeUrl('/sites/…/Lists/{T}/Attachments/{n}/{name}')``
  (and ``…Path``), those URLs answer too (``rest_files.py`` hands them here). All in ``custom_attachments.py``.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int
from sandbox.sharepoint.custom_attachments import CustomListAttachments
from sandbox.sharepoint.rest import args, iso, pick
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.rest_filter import query_rows
from sandbox.sharepoint.store import now_iso

APP_USER = 1073741823  # the app, as rest_app_user shows it
MISSING_ITEM = ("-2147024809, System.ArgumentException", "Item does not exist. It may have been deleted by another "
                "user.")


CHANGES = itertools.count(1)  # custom list change numbers (GetListItemChangesSinceToken, custom_folders.py)


@dataclass
class Row:
    id: int
    fields: dict[str, str]
    created: str = field(default_factory=now_iso)
    modified: str = field(default_factory=now_iso)
    version: int = 1
    attachments: dict[str, bytes] = field(default_factory=dict)  # file name -> content, in order added
    history: list[tuple[dict[str, str], str]] = field(default_factory=list)  # earlier fields and their dates
    folder: str = ""  # the folder it is in, relative to the list's root folder ("" the root; "A/B")
    fs_type: int = 0  # FileSystemObjectType: 0 an item, 1 a folder (custom_folders.py)
    leaf: str = ""  # a folder's name (FileLeafRef); an item's is "{id}_.000"

    def __post_init__(self) -> None:
        self.seq = next(CHANGES)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "modified" and "seq" in self.__dict__:  # every write dates it: a new change number
            super().__setattr__("seq", next(CHANGES))

    @property
    def path(self) -> str:
        """A folder's path under the list's root folder ("A/B")."""
        return f"{self.folder}/{self.leaf}" if self.folder else self.leaf


@dataclass
class CustomList:
    id: str
    title: str
    site_id: str
    grants: dict[str, str]
    columns: set[str]
    rows: dict[int, Row] = field(default_factory=dict)
    next_id: int = 1
    created: str = field(default_factory=now_iso)
    column_defs: dict[str, dict[str, Any]] = field(default_factory=dict)  # column -> Graph definition (none: text)
    # the name its URL and entity type name come from, kept on a rename: its first title, numbered when another
    # list of the web had that URL (add_custom_list)
    made_as: str = ""
    gone: dict[int, int] = field(default_factory=dict)  # a deleted row's id -> the change number of its deletion
    made_seq: int = field(default_factory=lambda: next(CHANGES))

    def drop(self, row_id: int) -> None:
        """Take a row out (a folder with every row under it), remembering the deletions (callers hold the lock)."""
        row = self.rows.pop(row_id, None)
        if row is None:
            return
        self.gone[row_id] = next(CHANGES)
        if row.fs_type == 1:
            under = row.path + "/"
            for other in [r for r in self.rows.values() if (r.folder + "/").startswith(under)]:
                self.rows.pop(other.id, None)
                self.gone[other.id] = next(CHANGES)

    @property
    def url_name(self) -> str:
        return (self.made_as or self.title).replace(" ", "")

    @property
    def entity(self) -> str:
        return (self.made_as or self.title).replace(" ", "_x0020_")


class CustomLists(CustomListAttachments):
    """Mixed into ``GraphSandbox`` with ``RestApi`` (uses its envelope helpers)."""

    def add_custom_list(self, site_id: str, title: str, grants: dict[str, str] | None = None,
                        columns: set[str] = frozenset()) -> CustomList:
        """A new custom list; when its URL (the title without spaces) is one a list of the web has (a list renamed
        away from that title keeps its URL), it gets the first free one numbered from 1 (``Tasks1``)
        [unc: SharePoint's numbering]."""
        lst = CustomList(str(uuid.uuid4()), title, site_id, dict(grants or {}), set(columns))
        with self.store.lock:
            used = {c.url_name.lower() for c in self.store.custom_lists.values() if c.site_id == site_id}
            lst.made_as = next(f"{title}{n or ''}" for n in range(len(used) + 1)
                               if f"{title}{n or ''}".replace(" ", "").lower() not in used)
            self.store.custom_lists[lst.id] = lst
        self.rest_schema_changed(lst.id, "list", lst.id, 1)  # rest_schema_log.py: getChanges(List=True)
        return lst

    def rest_custom_list(self, req: Request, site: str, title: str | None = None, lid: str | None = None,
                         need: str = "read") -> CustomList | None:
        """The site's custom list by title or id (None: no such list), checking the app's grant (403)."""
        lst = next((c for c in self.store.custom_lists.values() if c.site_id == site
                    and ((title is not None and c.title.lower() == title.lower()) or c.id == lid)), None)
        if lst is not None:
            grant = lst.grants.get(req.principal)
            if grant is None or (need == "write" and grant != "write"):
                raise RestError(403, DENIED)
        return lst

    def _c_base(self, req: Request, lst: CustomList) -> str:
        return f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lst.id}')"

    def rest_custom_entity(self, req: Request, lst: CustomList, verbose: bool, select: str | None = None
                           ) -> dict[str, Any]:
        rel = self._rest_web_url(req)[1]
        last = max([lst.created, *(r.modified for r in lst.rows.values())])
        props = {"Id": lst.id, "Title": lst.title, "BaseTemplate": 100, "BaseType": 0, "ItemCount": len(lst.rows),
                 "Hidden": False, "EntityTypeName": f"{lst.entity}List", "ParentWebUrl": rel,
                 "EnableAttachments": True, "EnableVersioning": False, "ContentTypesEnabled": False,
                 "HasUniqueRoleAssignments": self.list_has_unique_roles(lst.id),  # rest_role_writes.py
                 "DefaultViewUrl": f"{rel}/Lists/{lst.url_name}/AllItems.aspx",
                 "ListItemEntityTypeFullName": f"SP.Data.{lst.entity}ListItem", "Created": iso(lst.created),
                 "LastItemModifiedDate": iso(last)}
        shown = pick(props, req.query.get("$select", "") if select is None else select)
        if select is None and "rootfolder" in req.query.get("$expand", "").lower().replace(" ", "").split(","):
            shown["RootFolder"] = self.c_folder_entity(req, lst, "", verbose, "")  # custom_folders.py
        return self._rest_entity(shown, "SP.List", self._c_base(req, lst), verbose)

    def _c_item(self, req: Request, lst: CustomList, row: Row, paths: bool = False) -> dict[str, Any]:
        """An item's default properties; ``paths``: with those shown only when selected (``c_item_paths``)."""
        kind = "0x012000" if row.fs_type == 1 else "0x0100"
        return {"FileSystemObjectType": row.fs_type, "Id": row.id, "ID": row.id, "Title": row.fields.get("Title", ""),
                **{c: row.fields.get(c) for c in sorted(lst.columns)},
                "ContentTypeId": kind + uuid.uuid5(uuid.NAMESPACE_URL, lst.id).hex.upper(),
                "Attachments": bool(row.attachments), "GUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{lst.id}/{row.id}")),
                "Created": iso(row.created), "Modified": iso(row.modified), "AuthorId": APP_USER,
                "EditorId": APP_USER, "OData__UIVersionString": f"{row.version}.0",
                **(self.c_item_paths(req, lst, row) if paths else {})}

    def _c_item_entity(self, req: Request, lst: CustomList, props: dict[str, Any], verbose: bool) -> dict[str, Any]:
        props = self.c_expand_users(req, props, verbose)  # custom_folders.py: $expand=Author,Editor
        return self._rest_entity(props, f"SP.Data.{lst.entity}ListItem",
                                 f"{self._c_base(req, lst)}/Items({props.get('Id', props.get('ID'))})", verbose)

    def _c_changes(self, req: Request, lst: CustomList) -> dict[str, str]:
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise RestError(400, BAD)
        changes = {k: v for k, v in body.items() if k != "__metadata"}
        for key in changes:
            if key != "Title" and key not in lst.columns:
                raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                      f"The property '{key}' does not exist on type 'SP.Data.{lst.entity}ListItem'. "
                                      "Make sure to only use property names that are defined by the type."))
        return {k: "" if v is None else str(v) for k, v in changes.items()}

    def rest_custom_route(self, req: Request, site: str, lst: CustomList, segs: list[tuple[str, str | None]],
                          verbose: bool) -> Response:
        names = [n for n, _ in segs]
        if not names and req.method == "GET":
            return self._rest_json(self.rest_custom_entity(req, lst, verbose), verbose)
        if names == ["items"] and not segs[0][1]:
            if req.method == "POST":
                changes = self._c_changes(req, lst)
                with self.store.lock:
                    row = Row(lst.next_id, changes)
                    lst.rows[row.id], lst.next_id = row, lst.next_id + 1
                self.store.changed("list", lst.id)
                return self._rest_json(self._c_item_entity(req, lst, self._c_item(req, lst, row), verbose),
                                       verbose, 201)
            rows = query_rows([self._c_item(req, lst, r, True) for r in lst.rows.values()], req.query)
            shown = [self._c_item_entity(req, lst, self.c_pick(r, req.query.get("$select", "")), verbose)
                     for r in rows]
            return self._rest_json(self._rest_collection(shown, verbose), verbose)
        if names[:1] == ["getitembyid"] and segs[0][1]:
            segs = [("items", segs[0][1]), *segs[1:]]
            names = [n for n, _ in segs]
        if names[:1] == ["items"]:
            by_call = names[1:2] == ["getbyid"]
            key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
            row = lst.rows.get(ascii_int(key))
            if row is None:
                raise RestError(404, MISSING_ITEM)
            return self._c_item_route(req, site, lst, row, segs[2 if by_call else 1:], verbose)
        made = self.rest_custom_folder_op(req, lst, segs, verbose)  # custom_folders.py
        if made is not None:
            return made
        if names == ["rootfolder", "properties"]:  # rest_props.py
            return self.rest_props(req, f"{site}/{lst.id}", f"{req.base_url}/_api/RootFolder/Properties", verbose,
                                   lst.title)  # by id: a renamed list keeps its bag
        if names[:1] == ["fields"]:  # rest_field_writes.py; a write was looked up as one: the app may write
            rows = self.rest_field_rows(lst.id, lst)
            base = f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lst.id}')/Fields"
            if req.method != "GET":
                return self.rest_fields_write(req, lst.id, lst, rows, base, segs, verbose, True)
            return self.rest_fields_answer(req, rows, base, segs, verbose)
        if req.method == "GET" and names[0] in ("contenttypes", "views", "defaultview"):
            return self._c_schema(req, lst, segs, verbose)
        roles = self.rest_list_roles(req, site, lst.id, segs, verbose)  # rest_role_writes.py
        if roles is not None:
            return roles
        if req.method == "GET" and names[0] == "roleassignments":
            return self.rest_roles_route(req, self.store.sites[site], segs, verbose)
        if names[:1] == ["getusereffectivepermissions"] and len(names) == 1:  # rest_item_more.py
            return self.rest_list_user_perms(req, site, lst.grants.get(req.principal), segs[0], verbose)
        if names == ["getchanges"] and req.method == "POST":  # rest_changes.py: the list's own (List=True)
            return self.rest_get_changes(req, site, (3, lst.id), [], verbose)
        if names == ["getitems"] and req.method == "POST":  # rest_custom_caml.py
            return self.rest_custom_get_items(req, lst, verbose)
        done = self.rest_custom_list_op(req, lst, segs, verbose)  # custom_list_ops.py
        if done is not None:
            return done
        raise RestError(400, BAD)

    def _c_item_route(self, req: Request, site: str, lst: CustomList, row: Row, segs: list[tuple[str, str | None]],
                      verbose: bool) -> Response:
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        if names[:1] == ["attachmentfiles"]:
            return self._c_attachments(req, lst, row, segs, verbose)
        roles = self.rest_list_roles(req, site, f"{lst.id}/{row.id}", segs, verbose, lst.id,
                                     f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lst.id}')/Items({row.id})")
        if roles is not None:  # rest_role_writes.py: the item's own, else inherited
            return roles
        done = self.rest_custom_item_op(req, lst, row, segs, verbose)  # custom_folders.py: Folder, FieldValuesAs…
        if done is not None:
            return done
        if names[:1] == ["parentlist"]:  # office365's ListItem.update() reads its ListItemEntityTypeFullName
            return self.rest_custom_route(req, site, lst, segs[1:], verbose)
        if names == ["recycle"] and req.method == "POST":  # rest_custom_caml.py
            self.rest_custom_list(req, site, lid=lst.id, need="write")
            return self.rest_custom_recycle(req, lst, row, verbose)
        if names[:1] == ["versions"]:  # rest_item_more.py
            return self.rest_custom_item_versions(req, lst, row, segs, verbose)
        if names == ["systemupdate"] and req.method == "POST":  # rest_item_more.py: nothing to save
            self.rest_custom_list(req, site, lid=lst.id, need="write")
            return Response(200, b"")
        if names == ["updateoverwriteversion"] and req.method == "POST":  # custom_list_ops.py
            self.rest_custom_list(req, site, lid=lst.id, need="write")
            return self.rest_custom_overwrite_version(lst, row)
        if names:
            raise RestError(400, BAD)
        if method == "GET":
            props = self.c_pick(self._c_item(req, lst, row, True), req.query.get("$select", ""))
            return self._rest_json(self._c_item_entity(req, lst, props, verbose), verbose)
        self.rest_custom_list(req, site, lid=lst.id, need="write")
        if method == "DELETE":
            with self.store.lock:
                lst.drop(row.id)
            self.store.changed("list", lst.id)
            return Response(200, b"")
        if method not in ("MERGE", "PATCH", "PUT"):
            raise RestError(400, BAD)
        changes = self._c_changes(req, lst)
        with self.store.lock:
            row.history.append((dict(row.fields), row.modified))  # an older version (graph_item_versions.py)
            row.fields.update(changes)
            row.version += 1
            row.modified = now_iso()
        self.store.changed("list", lst.id)
        return Response(204, b"")

    # -- content types and views ------------------------------------------------------------------------
    def _c_schema(self, req: Request, lst: CustomList, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        names, base = [n for n, _ in segs], self._c_base(req, lst)
        if names == ["contenttypes"]:
            suffix = uuid.uuid5(uuid.NAMESPACE_URL, lst.id).hex.upper()
            types = []
            for cid, name, desc in ((f"0x0100{suffix}", "Item", "Create a new list item."),
                                    (f"0x012000{suffix}", "Folder", "Create a new folder.")):
                props = {"Id": {"StringValue": cid}, "StringId": cid, "Name": name, "Description": desc,
                         "Group": "List Content Types", "Hidden": False, "ReadOnly": False, "Sealed": False}
                types.append(self._rest_entity(props, "SP.ContentType", f"{base}/ContentTypes('{cid}')", verbose))
            return self._rest_json(self._rest_collection(types, verbose), verbose)
        vid, rel = str(uuid.uuid5(uuid.NAMESPACE_URL, lst.id + "/view")), self._rest_web_url(req)[1]
        view = self._rest_entity({"Id": vid, "Title": "All Items", "DefaultView": True, "Hidden": False,
                                  "PersonalView": False, "ReadOnly": False, "Paged": True, "RowLimit": 30,
                                  "ViewType": "HTML", "BaseViewId": "1",
                                  "ServerRelativeUrl": f"{rel}/Lists/{lst.url_name}/AllItems.aspx",
                                  "ViewQuery": '<OrderBy><FieldRef Name="ID" /></OrderBy>'},
                                 "SP.View", f"{base}/Views(guid'{vid}')", verbose)
        if names == ["views"] and not segs[0][1]:
            return self._rest_json(self._rest_collection([view], verbose), verbose)
        key = args(segs[1][1] if names[1:2] in (["getbytitle"], ["getbyid"]) else segs[0][1]).get("", "").lower()
        rest = names[2:] if names[1:2] in (["getbytitle"], ["getbyid"]) else names[1:]
        if names[0] == "views" and key not in ("all items", vid):
            raise RestError(404, ("-2147024809, System.ArgumentException", "The specified view is invalid."))
        if not rest:
            return self._rest_json(view, verbose)
        if rest == ["viewfields"]:
            items: Any = ["LinkTitle"]
            if verbose:
                items = {"__metadata": {"type": "Collection(Edm.String)"}, "results": items}
            return self._rest_json(self._rest_entity({"Items": items, "SchemaXml": '<FieldRef Name="LinkTitle" />'},
                                                     "SP.ViewFieldCollection", f"{base}/Views(guid'{vid}')/ViewFields",
                                                     verbose), verbose)
        raise RestError(400, BAD)
