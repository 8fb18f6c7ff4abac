"""SharePoint REST v1 list item operations beside the plain GET/MERGE of ``rest_lists.py``, as
office365-rest-python-client's ``ListItem`` calls them:

- ``…/FieldValuesAsText`` and ``…/FieldValuesAsHtml`` (GET): every field of the item as a string
  (``SP.FieldStringValues``); ``None`` is ``""``; ``_x`` names keep SharePoint's ``OData_`` prefix;
- ``…/ValidateUpdateListItem`` (POST ``{"formValues": [{"FieldName", "FieldValue"}], "bNewDocumentUpdate", …}``):
  sets ``Title``, the library's custom columns, ``FileLeafRef`` (a rename) and, as ``SystemUpdate`` sends them,
  ``Modified`` / ``Created`` / ``Editor`` / ``Author``; answers one ``SP.ListItemFormUpdateValue`` a field
  (``HasException`` and ``ErrorMessage`` for a value it refuses, as SharePoint reports a bad value without
  failing the call). ``bNewDocumentUpdate=true`` overwrites the current version (no new one), as
  ``UpdateOverwriteVersion`` does; field edits never make a version here anyway (versions are contents);
- ``…/UpdateOverwriteVersion`` and ``…/SystemUpdate`` (POST with the changed fields in a MERGE body, or none).
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.names import check_name
from sandbox.sharepoint.rest_errors import BAD, RestError
from sandbox.sharepoint.store import Drive, Item

EVERY = "*,FileDirRef,EncodedAbsUrl,File_x0020_Type,BaseName"
SYSTEM = ("Modified", "Created", "Editor", "Author")  # the fields SystemUpdate sets through ValidateUpdateListItem


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Yes" if value else "No"  # [unc] a Yes/No field's text
    return str(value)


def _when(value: str) -> str:
    """An ISO or SharePoint ``M/d/yyyy h:mm tt`` date as the store's ISO form (UTC); ValueError otherwise."""
    text = value.strip()
    for fmt in ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")
        except ValueError:
            pass
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z")


class RestItemOps:
    """Mixed into ``GraphSandbox`` with ``RestLists``."""

    def rest_item_op(self, req: Request, d: Drive, item: Item, op: str, verbose: bool) -> Response | None:
        """The answer to ``op`` on ``item``, or None when ``op`` is not one of these."""
        if op == "effectivebasepermissions" and req.method == "GET":  # rest_perms.py
            return self.rest_effective_perms(req, d.site_id, d, verbose)
        if op in ("fieldvaluesastext", "fieldvaluesashtml") and req.method == "GET":
            return self._rest_field_strings(req, d, item, op.endswith("html"), verbose)
        if op == "validateupdatelistitem" and req.method == "POST":
            self._rest_drive(req, d.site_id, d.name, "write")
            return self._rest_validate_update(req, d, item, verbose)
        if op in ("updateoverwriteversion", "systemupdate") and req.method == "POST":
            self._rest_drive(req, d.site_id, d.name, "write")
            body = req.json() if req.body else {}
            changes = {k: v for k, v in (body if isinstance(body, dict) else {}).items() if k != "__metadata"}
            failed = [r for r in self._rest_apply(req, d, item, changes) if r["HasException"]]
            if failed:
                raise RestError(400, ("-2147024809, System.ArgumentException", failed[0]["ErrorMessage"]))
            return self._rest_void({"updateoverwriteversion": "UpdateOverwriteVersion"}.get(op, "SystemUpdate"),
                                   verbose)
        return None

    def _rest_field_strings(self, req: Request, d: Drive, item: Item, as_html: bool, verbose: bool) -> Response:
        props = self._rest_item(req, d, item, False, EVERY)
        props.pop("ParentList", None)
        out: dict[str, str] = {}
        for key, value in props.items():
            if isinstance(value, (dict, list)):
                continue
            text = _text(value)
            if key in ("Created", "Modified") and text:  # [unc] the site's locale (en-US) and time zone (UTC)
                text = datetime.fromisoformat(text.replace("Z", "+00:00")).strftime("%-m/%-d/%Y %-I:%M %p")
            out[key] = html.escape(text) if as_html else text
        out["Author"] = out["Editor"] = "SharePoint App"
        kind = "SP.FieldStringValues"
        uri = f"{self._rest_web_url(req)[0]}/_api/Web/Lists/Items({item.list_item_id})/" \
              f"FieldValuesAs{'Html' if as_html else 'Text'}"
        return self._rest_json(self._rest_entity(out, kind, uri, verbose), verbose)

    def _rest_validate_update(self, req: Request, d: Drive, item: Item, verbose: bool) -> Response:
        body = req.json() if req.body else {}
        values = body.get("formValues") if isinstance(body, dict) else None
        if not isinstance(values, list) or not all(isinstance(v, dict) and "FieldName" in v for v in values):
            raise RestError(400, BAD)
        changes = {str(v["FieldName"]): v.get("FieldValue") for v in values}
        rows = self._rest_apply(req, d, item, changes)
        kind = "SP.ListItemFormUpdateValue"
        rows = [self._rest_entity(r, kind, "", verbose) if verbose else r for r in rows]
        if verbose:
            for r in rows:
                r["__metadata"] = {"type": kind}
            return self._rest_json({"ValidateUpdateListItem": {"__metadata": {"type": f"Collection({kind})"},
                                                               "results": rows}}, verbose)
        return self._rest_json({"value": rows}, verbose)

    def _rest_apply(self, req: Request, d: Drive, item: Item, changes: dict[str, Any]) -> list[dict[str, Any]]:
        """Set ``changes`` on ``item`` (those SharePoint accepts), one ListItemFormUpdateValue each."""
        rows: list[dict[str, Any]] = []
        with self.store.lock:
            for name, value in changes.items():
                error = ""
                text = "" if value is None else str(value)
                try:
                    if name == "FileLeafRef":
                        new = check_name(text)
                        clash = self.store.child(item.parent_id or "", new)
                        if clash is not None and clash.id != item.id:
                            error = f"A file or folder with the name {self.rest_path(req, d, clash)} already exists."
                        else:
                            item.name = new
                    elif name in ("Modified", "Created"):
                        if text:
                            setattr(item, name.lower(), _when(text))
                    elif name in ("Editor", "Author"):
                        pass  # [unc] a user field: the app is every item's author and editor here
                    elif name == "Title" or name in d.columns:
                        item.fields[name] = text
                    else:  # [unc] SharePoint's text for a field the list does not have
                        error = f"Column '{name}' does not exist. It may have been deleted by another user."
                except ValueError:
                    error = "Invalid date/time value"  # [unc] the text
                except GraphError as exc:  # a name SharePoint refuses (names.check_name)
                    error = exc.detail or "The provided name is not allowed."

                rows.append({"ErrorCode": -2147024809 if error else 0, "ErrorMessage": error or None,
                             "FieldName": name, "FieldValue": text, "HasException": bool(error),
                             "ItemId": item.list_item_id})
            if any(not r["HasException"] for r in rows):
                item.version += 1
                self.store.touch(item)
        return rows
