"""Attachment API: /api/now[/v1]/attachment — metadata list/get, file download, upload, delete.

Metadata lives in the `sys_attachment` table (so sysparm_query works over table_name/table_sys_id),
bytes in `Store.files`. The list takes the Table API's name=value filters too (`?table_name=incident&table_sys_id=
<id>`, ANDed with sysparm_query): ansible-collections/servicenow.itsm lists, and then deletes, a record's
attachments so [obs: its AttachmentClient; ignoring them would hand it every attachment of the instance].
The list's default limit is 1000 (the current reference); it answers X-Total-Count and the Table API's Link
header (sysparm_suppress_pagination_header drops it). Uploads: raw body to
POST .../file?table_name&table_sys_id&file_name (Content-Type = file type), or multipart/form-data to
POST .../upload (fields table_name, table_sys_id, then the file part, which must come last: fields after
it are not read, and without the file or those fields the upload answers 400 "Failed to create the
attachment. File part might be missing in the request." [unc: wording, from users' reports]). Both
answer 201 + Location; a record that does not exist or that the caller may not read answers 404 (the
documented status for both). GET .../{sys_id}/file answers the bytes with the stored Content-Type and the
documented X-Attachment-Metadata header: the metadata record as GET /{sys_id} answers it (download_link,
sys_created_on...; [unc] that the header carries every field, the docs say "such as size, name, and file
type"), whatever the Accept header (pysnc asks application/json). PATCH /{sys_id} {"file_name"} renames
(204); /{sys_id}/attributes lists (GET) and adds (POST {"key", "value"}, 201) and removes (DELETE, 204) the
attachment's key-value attributes,
/attributes/{key} reads (GET), changes (PUT {"value"}) or removes (DELETE, 204) one, as documented.

The stored content_type is the one the upload names; an upload that names none (`Content-Type: */*`,
no Content-Type, or a multipart file part without one) gets the type its file name's extension stands
for (`report.pdf` application/pdf), application/octet-stream when the extension says nothing. pysnc's
add_attachment without content_type sends application/octet-stream, which is stored as sent.
[unc: the instance's guess from the extension for */*; its table of extensions is its own]

An upload naming a parent table of the record (`table_name=task&table_sys_id=<an incident>`) is accepted
(the record is found through the parent) and stored with the table_name as sent, `task`, not the record's
class: the instance writes the attachment through a GlideRecord opened on the named table, whose table
name is that one [unc: undocumented; not verified on an instance, kept as the earlier rounds had it].
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl
from sandbox.servicenow.app import build_query, check_accept, flag, int_param, json_object, pagination_links
from sandbox.servicenow.render import Mode, render_rows
from sandbox.servicenow.tables import Table

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

BASE = r"/api/now(?:/v1)?/attachment"
RAW = Mode("false", True, None)


def content_type_of(named: str, file_name: str) -> str:
    """The content type to store: `named` unless it names nothing (empty, */*), else the extension's."""
    named = named.split(";")[0].strip()
    if named and named != "*/*":
        return named
    return mimetypes.guess_type(file_name, strict=False)[0] or "application/octet-stream"


class AttachmentAPI:
    """Route handlers for attachments of one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        one = BASE + r"/(?P<sys_id>[0-9a-f]{32})"
        router.add("GET", BASE, self.list_metadata)
        router.add("POST", BASE + r"/file", self.upload_raw)
        router.add("POST", BASE + r"/upload", self.upload_multipart)
        router.add("GET", one, self.metadata)
        router.add("GET", one + r"/file", self.download)
        router.add("DELETE", one, self.delete)
        router.add("PATCH", one, self.rename)
        router.add("GET", one + r"/attributes", self.attributes)
        router.add("POST", one + r"/attributes", self.add_attribute)
        router.add("DELETE", one + r"/attributes", self.clear_attributes)
        router.add("PUT", one + r"/attributes/(?P<key>[^/]+)", self.attribute)
        router.add("GET", one + r"/attributes/(?P<key>[^/]+)", self.attribute)
        router.add("DELETE", one + r"/attributes/(?P<key>[^/]+)", self.attribute)

    @property
    def table(self) -> Table:
        return self.store.tables["sys_attachment"]

    def list_metadata(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        q = req.query
        limit, offset = int_param(q, "sysparm_limit", 1000), int_param(q, "sysparm_offset", 0)
        query = build_query(self.store, req, self.table, user)
        with self.store.lock:
            rows = self.store.engine.run(self.table, query)
            allowed = acl.row_filter(self.store, self.table, user)
            rows = rows if allowed is None else [r for r in rows if allowed(r)]
            parts = self._render(rows[offset:offset + limit], req)
        headers = [("X-Total-Count", str(len(rows)))]
        if not flag(q.get("sysparm_suppress_pagination_header")) and (offset > 0 or len(rows) > limit):
            headers.append(("Link", pagination_links(req, len(rows), limit, offset)))
        return Response(200, b'{"result":[' + b",".join(parts) + b"]}", headers=headers)

    def _render(self, rows: list[int], req: Request) -> list[bytes]:
        """The metadata records as the API answers them: the sys_attachment fields, then created_by_name and
        updated_by_name (the full names of sys_created_by / sys_updated_by; the user_name when no sys_user
        has it [unc]), as the current reference lists them. Called under the store lock."""
        created, updated = self.table.getter("sys_created_by"), self.table.getter("sys_updated_by")
        names: dict[str, str] = {}

        def name(user_name: str) -> str:
            if user_name not in names:
                sys_id = self.store.user_sys_id(user_name) if user_name else ""
                names[user_name] = (self.store.display_of("sys_user", sys_id) if sys_id else "") or user_name
            return names[user_name]

        return [body[:-1] + b',"created_by_name":' + json.dumps(name(created(r))).encode()
                + b',"updated_by_name":' + json.dumps(name(updated(r))).encode() + b"}"
                for body, r in zip(render_rows(self.table, rows, RAW, req.base_url, self.store), rows, strict=True)]

    def _row(self, req: Request) -> int:
        row = self.table.row_of(req.params["sys_id"])
        allowed = acl.row_filter(self.store, self.table, str(req.principal))
        if row is None or (allowed is not None and not allowed(row)):
            raise HTTPError(404, "Record doesn't exist or ACL restricts the record retrieval", None)
        return row

    def metadata(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        with self.store.lock:
            row = self._row(req)
            body = self._render([row], req)[0]
        return Response(200, b'{"result":' + body + b"}")

    def download(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        with self.store.lock:
            row = self._row(req)
            rec = self.table.record(row)
            content = self.store.files.get(rec["sys_id"], b"")
            # the whole metadata record, as GET /attachment/{sys_id} answers it (ASCII-escaped for the header)
            meta = json.dumps(json.loads(self._render([row], req)[0]))
        return Response(200, content, rec["content_type"] or "application/octet-stream",
                        [("X-Attachment-Metadata", meta)])

    def delete(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            row = self._row(req)
            acl.check_write(self.store, "sys_attachment", "Delete", user)
            self.store.files.pop(req.params["sys_id"], None)
            self.store.delete(self.table, row, user)
        return Response(204)

    def rename(self, req: Request) -> Response:
        """PATCH {"file_name"}: renames the attachment; 204 as documented."""
        user = self.sb.auth.authenticate(req)
        name = str(json_object(req, empty=True).get("file_name") or "").strip()
        if not name:
            raise HTTPError(400, "Missing parameter", "file_name is required")
        with self.store.lock:
            row = self._row(req)
            acl.check_write(self.store, "sys_attachment", "Update", user)
            self.store.update(self.table, row, {"file_name": name}, user)
        return Response(204)

    def _attributes(self, req: Request) -> dict[str, str]:
        """The attachment's attributes (sys_attachment_attribute on an instance; kept beside the table)."""
        self._row(req)
        return self.store.scratch("attachment_attributes").setdefault(req.params["sys_id"], {})

    def attributes(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        with self.store.lock:
            pairs = self._attributes(req)
            return json_response({"result": [{"key": k, "value": v} for k, v in pairs.items()]})

    def add_attribute(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        body = json_object(req)
        key, value = str(body.get("key") or ""), body.get("value")
        if not key or value is None:
            raise HTTPError(400, "Missing parameter", "key and value are required")
        with self.store.lock:
            pairs = self._attributes(req)
            acl.check_write(self.store, "sys_attachment", "Update", user)
            pairs[key] = str(value)
        return json_response({"result": {"key": key, "value": str(value)}}, 201)

    def clear_attributes(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            pairs = self._attributes(req)
            acl.check_write(self.store, "sys_attachment", "Update", user)
            pairs.clear()
        return Response(204)

    def attribute(self, req: Request) -> Response:
        """GET (200 {"key", "value"}), PUT {"value"} (200, the new pair) or DELETE (204) one attribute; 404
        when the attachment has none by that key."""
        user = self.sb.auth.authenticate(req)
        value = json_object(req).get("value") if req.method == "PUT" else None
        if req.method == "PUT" and value is None:
            raise HTTPError(400, "Missing parameter", "value is required")
        with self.store.lock:
            pairs, key = self._attributes(req), req.params["key"]
            if key not in pairs:
                raise HTTPError(404, "No Record found", f"The attachment has no attribute {key!r}")
            if req.method != "GET":
                acl.check_write(self.store, "sys_attachment", "Update", user)
            if req.method == "DELETE":
                del pairs[key]
                return Response(204)
            if req.method == "PUT":
                pairs[key] = str(value)
            return json_response({"result": {"key": key, "value": pairs[key]}})

    def _create(self, req: Request, table_name: str, table_sys_id: str, file_name: str, content_type: str,
                data: bytes, user: str) -> Response:
        if not (table_name and table_sys_id and file_name):
            raise HTTPError(400, "Missing parameter", "table_name, table_sys_id and file_name are required")
        with self.store.lock:
            found = self.store.locate(table_name, table_sys_id)
            allowed = acl.row_filter(self.store, found[0], user) if found else None
            if found is None or (allowed is not None and not allowed(found[1])):
                # the reference's status for a record that "does not exist or is not accessible" [doc; unc: wording]
                raise HTTPError(404, "Invalid table or record", f"{table_name}/{table_sys_id} does not exist")
            sys_id = self.store.new_sys_id()
            _, row = self.store.insert("sys_attachment", {
                "sys_id": sys_id, "file_name": file_name, "content_type": content_type or "application/octet-stream",
                "size_bytes": str(len(data)), "size_compressed": str(len(data)), "table_name": table_name,
                "table_sys_id": table_sys_id, "download_link": f"/api/now/attachment/{sys_id}/file",
                "hash": hashlib.sha256(data).hexdigest(),
            }, user)
            self.store.files[sys_id] = data
            body = self._render([row], req)[0]
        location = f"{req.base_url}/api/now/attachment/{sys_id}"
        return Response(201, b'{"result":' + body + b"}", headers=[("Location", location)])

    def upload_raw(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        q = req.query
        ctype = content_type_of(req.header("Content-Type"), q.get("file_name", ""))
        return self._create(req, q.get("table_name", ""), q.get("table_sys_id", ""), q.get("file_name", ""),
                            ctype, req.body, user)

    def upload_multipart(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        ctype = req.header("Content-Type")
        if not ctype.lower().startswith("multipart/form-data"):
            raise HTTPError(415, "Unsupported Media Type", "expected multipart/form-data")
        message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {ctype}\r\n\r\n".encode() + req.body)
        fields: dict[str, str] = {}
        file_name, file_type, data = "", "", b""
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition") or ""
            payload = part.get_payload(decode=True) or b""
            if part.get_filename():
                file_name, data = part.get_filename(), payload
                file_type = content_type_of(part.get("Content-Type", ""), file_name)
                break  # the instance reads the form up to the file part: fields after it go unseen
            fields[str(name)] = payload.decode("utf-8")
        if not file_name or not (fields.get("table_name") and fields.get("table_sys_id")):
            raise HTTPError(400, "Failed to create the attachment. File part might be missing in the request.", None)
        return self._create(req, fields.get("table_name", ""), fields.get("table_sys_id", ""), file_name,
                            file_type, data, user)
