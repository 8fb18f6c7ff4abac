"""Field (column) schema writes through SharePoint REST v1, for ``GraphSandbox``, as office365-rest-python-client
makes them: ``fields.add_text_field(title)`` / ``add_number`` / ``add_choice_field`` … (``POST …/Fields/AddField``
with ``{"parameters": SP.FieldCreationInformation}``), ``fields.add(FieldType.…, Title=…)`` (``POST …/Fields``
with the field's properties), ``create_field_as_xml`` (``POST …/Fields/CreateFieldAsXml``), ``field.update()``
(``MERGE``) and ``field.delete_object()``; on the web (``web/Fields``, ``site/RootWeb/Fields``: site columns), a
document library and a custom list. Before, each was 400 "The expression … is not valid." (a custom list had no
``Fields`` at all).

- A new field's ``InternalName`` / ``StaticName`` is its title with characters other than letters, digits and
  ``_`` written ``_xHHHH_`` (a space is ``_x0020_``), cut at 32 characters, as SharePoint derives it; a title whose
  internal name the collection already has is 400 "A duplicate field name … was found." [unc: SharePoint may
  instead number the new name]. The answer is the new ``SP.Field…`` entity (``SP.FieldText`` with ``MaxLength``
  255, ``SP.FieldNumber``, ``SP.FieldChoice`` with ``Choices`` …), ``CanBeDeleted`` true, group "Custom Columns".
- A list's new field is a column of the list (``Drive.columns`` / ``CustomList.columns``, with a Graph-shaped
  definition in ``column_defs``, so Graph's ``columns`` and the items' fields show it and item writes take it).
- ``MERGE`` takes ``Title``, ``Description``, ``Required``, ``Indexed``, ``Hidden``, ``Group`` (``InternalName``
  never changes) and answers 204; another property of ``SP.Field`` is 400 [unc]. A built-in field cannot be
  changed or deleted here (400) [unc: SharePoint lets some be changed].
- Writes need the app's ``write`` grant on the list (on the web: on any of its libraries) [unc: SharePoint asks
  ManageLists, which its Edit role has]; a ``read`` app is 403.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError

# FieldTypeKind -> (TypeAsString, SP entity type, Graph column type, Graph facet)
KINDS: dict[int, tuple[str, str, str, dict[str, Any]]] = {
    2: ("Text", "SP.FieldText", "text", {}),
    3: ("Note", "SP.FieldMultiLineText", "text", {"allowMultipleLines": True}),
    4: ("DateTime", "SP.FieldDateTime", "dateTime", {}),
    6: ("Choice", "SP.FieldChoice", "choice", {}),
    8: ("Boolean", "SP.Field", "boolean", {}),
    9: ("Number", "SP.FieldNumber", "number", {}),
    10: ("Currency", "SP.FieldCurrency", "currency", {}),
    11: ("URL", "SP.FieldUrl", "hyperlinkOrPicture", {}),
    15: ("MultiChoice", "SP.FieldMultiChoice", "choice", {"allowMultipleSelections": True}),  # [unc] the facet
    17: ("Calculated", "SP.FieldCalculated", "calculated", {}),
    20: ("User", "SP.FieldUser", "personOrGroup", {}),
}
BY_NAME = {v[0].lower(): k for k, v in KINDS.items()}
ENTITY = {v[1]: k for k, v in KINDS.items() if v[1] != "SP.Field"}
SETTABLE = {"Title": str, "Description": str, "Required": bool, "Indexed": bool, "Hidden": bool, "Group": str}
ARG = "-2147024809, System.ArgumentException"


def internal_name(title: str) -> str:
    """SharePoint's internal name for a new field of ``title``: ``_xHHHH_`` for what is not a letter, digit or
    ``_``, at most 32 characters."""
    out = "".join(c if (c.isascii() and c.isalnum()) or c == "_" else f"_x{ord(c):04x}_" for c in title)
    return out[:32]


def _choices(raw: Any) -> list[str]:
    if isinstance(raw, dict):  # verbose: {"__metadata": …, "results": [...]}
        raw = raw.get("results")
    return [str(c) for c in raw] if isinstance(raw, list) else []


def field_row(owner: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The REST row (as ``rest_lists.field_rows`` makes them) of a field made through REST."""
    kind = int(spec["kind"])
    type_name = KINDS[kind][0]
    row = {"Id": spec.get("id") or str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{spec['name']}")),
           "InternalName": spec["name"], "StaticName": spec["name"], "EntityPropertyName": spec["name"],
           "Title": spec["displayName"], "TypeAsString": type_name, "FieldTypeKind": kind,
           "Hidden": bool(spec.get("hidden")), "ReadOnlyField": False, "Required": bool(spec.get("required")),
           "Indexed": bool(spec.get("indexed")), "CanBeDeleted": True, "Group": spec.get("group") or "Custom Columns",
           "Description": spec.get("description") or ""}
    if kind == 2:
        row["MaxLength"] = 255
    if kind in (6, 15):
        row["Choices"] = list(spec.get("facet", {}).get("choices") or [])
    if kind == 17:
        row["Formula"] = spec.get("facet", {}).get("formula") or ""
    return row


def rows_of(owner: str, target: Any, built_in: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``built_in`` rows (``rest_lists.field_rows``: the usual fields and the target's columns as Note) with each
    column made through REST shown as it was made, and the web's REST-made fields after them."""
    made = {n: s for n, s in target.column_defs.items() if "kind" in s and n in target.columns}
    rows = [field_row(owner, made.pop(r["InternalName"])) if r["InternalName"] in made else r for r in built_in]
    return rows + [field_row(owner, s) for _, s in sorted(made.items())]


class RestFieldWrites:
    """Mixed into ``GraphSandbox`` with ``RestLists`` (``rest_fields_answer``)."""

    @staticmethod
    def rest_field_rows(owner: str, target: Any) -> list[dict[str, Any]]:
        """A list's (``Drive`` or ``CustomList``) fields: the usual ones, its columns."""
        from sandbox.sharepoint.rest_lists import field_rows

        return rows_of(owner, target, field_rows(owner, sorted(target.columns)))

    def rest_fields_write(self, req: Request, owner: str, target: Any, rows: list[dict[str, Any]], base: str,
                          segs: list[tuple[str, str | None]], verbose: bool, may_write: bool) -> Response:
        """A write to ``…/Fields`` (``segs`` from ``fields``) of ``target`` (a ``Drive``, a ``CustomList`` or a
        web's ``WebSchema``: ``columns`` and ``column_defs``), whose rows (built-in and custom) are ``rows``."""
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        if not may_write:
            raise RestError(403, DENIED)
        body = req.json() if req.body else {}
        if not isinstance(body, dict):
            raise RestError(400, BAD)
        if method == "POST" and ((names == ["fields"] and not segs[0][1]) or names[1:] in (["addfield"],
                                                                                        ["createfieldasxml"])):
            if names[1:] == ["addfield"]:
                spec = self._field_spec(body.get("parameters"))
            elif names[1:] == ["createfieldasxml"]:
                spec = self._field_from_xml((body.get("parameters") or {}).get("SchemaXml"))
            else:
                spec = self._field_spec(body, (body.get("__metadata") or {}).get("type"))
            spec.setdefault("id", str(uuid.uuid5(uuid.NAMESPACE_URL, f"{owner}/{spec['name']}")))
            with self.store.lock:
                if spec["name"].lower() in {str(r["InternalName"]).lower() for r in rows}:
                    raise RestError(400, ("-2130575340, Microsoft.SharePoint.SPException",
                                          f'A duplicate field name "{spec["name"]}" was found.'))
                target.columns.add(spec["name"])
                target.column_defs[spec["name"]] = spec
            self.rest_schema_changed(owner, "field", spec["name"], 1)  # rest_schema_log.py
            row = field_row(owner, spec)
            return self._rest_json(self._rest_entity(row, KINDS[spec["kind"]][1], f"{base}(guid'{row['Id']}')",
                                                     verbose), verbose, 201 if len(names) == 1 else 200)
        found = self._field_named(rows, segs)
        spec = target.column_defs.get(found["InternalName"])
        if found["InternalName"] not in target.columns:
            raise RestError(400, ("-2146232832, Microsoft.SharePoint.SPException",
                                  "This field is built in and cannot be changed or deleted here."))  # [unc]
        if method == "DELETE":
            with self.store.lock:
                target.columns.discard(found["InternalName"])
                target.column_defs.pop(found["InternalName"], None)
            self.rest_schema_changed(owner, "field", found["InternalName"], 3)
            return Response(200, b"")
        if method not in ("MERGE", "PATCH", "PUT"):
            raise RestError(400, BAD)
        changes = {k: v for k, v in body.items() if k != "__metadata"}
        for key, value in changes.items():
            if key not in SETTABLE:
                raise RestError(400, ("-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                                      f"The property '{key}' does not exist on type 'SP.Field'. Make sure to only "
                                      "use property names that are defined by the type."))
            if not isinstance(value, SETTABLE[key]):
                raise RestError(400, ("-1, Microsoft.OData.ODataException", f"Cannot convert the value of '{key}'."))
        graph = {"Title": "displayName", "Description": "description", "Required": "required", "Indexed": "indexed",
                 "Hidden": "hidden", "Group": "group"}
        with self.store.lock:
            spec = dict(spec or {"name": found["InternalName"], "displayName": found["Title"], "type": "text",
                                 "facet": {}})
            spec.setdefault("kind", found["FieldTypeKind"])
            spec.setdefault("id", found["Id"])
            for key, value in changes.items():
                spec[graph[key]] = value
            target.column_defs[found["InternalName"]] = spec
        self.rest_schema_changed(owner, "field", found["InternalName"], 2)
        return Response(204, b"")

    @staticmethod
    def _field_named(rows: list[dict[str, Any]], segs: list[tuple[str, str | None]]) -> dict[str, Any]:
        by, key = (segs[1][0], args(segs[1][1]).get("", "")) if len(segs) >= 2 \
            else ("getbyid", args(segs[0][1]).get("", ""))
        if len(segs) > 2 or (len(segs) == 1 and not segs[0][1]):
            raise RestError(400, BAD)
        match = {"getbyinternalnameortitle": ("InternalName", "Title"), "getbytitle": ("Title",), "getbyid": ("Id",)}
        if by not in match:
            raise RestError(400, BAD)
        found = next((r for r in rows for k in match[by] if str(r[k]).lower() == str(key).lower()), None)
        if found is None:
            raise RestError(404, (ARG, f"Column '{key}' does not exist. It may have been deleted by another user."))
        return found

    @staticmethod
    def _field_spec(raw: Any, entity: str | None = None) -> dict[str, Any]:
        """A column definition (``column_defs``, Graph-shaped, with SharePoint's ``kind``) from
        ``SP.FieldCreationInformation`` or a field's properties (``SP.FieldText`` …)."""
        if not isinstance(raw, dict):
            raise RestError(400, BAD)
        title = raw.get("Title")
        kind = raw.get("FieldTypeKind", ENTITY.get(entity or ""))
        if not isinstance(title, str) or not title.strip():
            raise RestError(400, (ARG, "The field needs a title."))  # [unc] the text
        if isinstance(kind, bool) or not isinstance(kind, int) or kind not in KINDS:
            raise RestError(400, (ARG, f"Field type {kind} is not supported here."))  # [unc] lookups and others
        facet = dict(KINDS[kind][3])
        if kind in (6, 15):
            facet["choices"] = _choices(raw.get("Choices"))
        if kind == 17:
            facet["formula"] = str(raw.get("Formula") or "")
        return {"name": internal_name(title.strip()), "displayName": title.strip(), "type": KINDS[kind][2],
                "kind": kind, "required": bool(raw.get("Required")), "indexed": bool(raw.get("Indexed")),
                "description": str(raw.get("Description") or ""), "facet": facet, "group": raw.get("Group") or ""}

    def _field_from_xml(self, xml: Any) -> dict[str, Any]:
        """``<Field Type="Text" DisplayName="…" Name="…" Required="TRUE" …/>`` as ``_field_spec`` takes it."""
        if not isinstance(xml, str) or not re.match(r"\s*<Field\b", xml):
            raise RestError(400, (ARG, "The field schema is not valid."))  # [unc] the text
        attrs = {m.group(1): m.group(3) for m in re.finditer(r'(\w+)\s*=\s*(["\'])(.*?)\2', xml)}
        kind = BY_NAME.get(attrs.get("Type", "").lower())
        choices = re.findall(r"<CHOICE>(.*?)</CHOICE>", xml, flags=re.I)
        spec = self._field_spec({"Title": attrs.get("DisplayName") or attrs.get("Name"), "FieldTypeKind": kind,
                                 "Required": attrs.get("Required", "").upper() == "TRUE", "Choices": choices,
                                 "Description": attrs.get("Description"), "Group": attrs.get("Group")})
        if attrs.get("Name"):
            spec["name"] = internal_name(attrs["Name"])
        if attrs.get("ID"):
            spec["id"] = attrs["ID"].strip("{}").lower()
        return spec
