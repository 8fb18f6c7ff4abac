"""SharePoint REST v1 ``POST <site>/_api/$batch`` (OData v3 batching), as ``ClientContext.execute_batch()``
sends it: a ``multipart/mixed`` body whose parts are ``application/http`` requests (``GET <absolute url>
HTTP/1.1``, headers, a blank line, a body) or a ``multipart/mixed`` changeset of them. Lines end in CRLF or,
as ``email``'s generator writes them for the client, LF; the body may open with its own MIME headers.

Each request runs as if sent alone with the batch's own token (its errors, throttling), in order, reads and
changesets alike. The answer is ``multipart/mixed; boundary=batchresponse_<guid>`` with one
``application/http`` part per request, flat (SharePoint does not nest changeset answers in a
``changesetresponse``, and ``ClientContext`` reads only the top level). A request line that is not
``METHOD URL HTTP/1.1``, or a body that is not ``multipart/mixed``, is 400 for the whole batch [unc: the
text]. A method other than GET/POST/PUT/PATCH/DELETE (``MERGE``) is sent as POST with ``X-HTTP-Method``,
as SharePoint reads it. A sub-request failing does not roll the others back (SharePoint has no transactions).
"""

from __future__ import annotations

import re
import uuid
from email import message_from_bytes
from email.message import Message
from http import HTTPStatus
from urllib.parse import urlsplit

from sandbox.core.http import Request, Response
from sandbox.sharepoint.rest_errors import RestError, request_ids

# the URL runs from the first space to the last (OData's batch reader splits so: the client sends names with spaces)
LINE = re.compile(r"^(?P<method>[A-Z]+) (?P<url>\S.*?) HTTP/1\.[01]$")
BAD_BATCH = ("-1, Microsoft.Data.OData.ODataException", "The batch request is not valid.")  # [unc] the text
VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class RestBatch:
    """Mixed into ``GraphSandbox`` with ``RestApi`` (uses ``dispatch``)."""

    def rest_batch(self, req: Request) -> Response:
        ctype = req.header("Content-Type")
        if not ctype.lower().startswith("multipart/mixed") or "boundary=" not in ctype:
            raise RestError(400, BAD_BATCH)
        whole = message_from_bytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + req.body)
        parts: list[Message] = []
        for part in whole.get_payload() if whole.is_multipart() else []:
            parts.extend(part.get_payload() if part.is_multipart() else [part])  # a changeset's requests
        if not parts:
            raise RestError(400, BAD_BATCH)
        subs = [self._rest_sub_request(req, p) for p in parts]
        boundary = f"batchresponse_{uuid.uuid4()}"
        out = bytearray()
        for sub in subs:
            resp = self.dispatch(sub)
            head = [f"HTTP/1.1 {resp.status} {self._reason(resp.status)}"]
            if resp.body:
                head.append(f"CONTENT-TYPE: {resp.content_type}")
            head += [f"{k.upper()}: {v}" for k, v in resp.headers if k.lower() not in ("content-type",
                                                                                   "content-length")]
            out += (f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
                    + "\r\n".join(head) + "\r\n\r\n").encode() + resp.body + b"\r\n"
        out += f"--{boundary}--\r\n".encode()
        return Response(200, bytes(out), f"multipart/mixed; boundary={boundary}",
                        request_ids())

    @staticmethod
    def _reason(status: int) -> str:
        try:
            return HTTPStatus(status).phrase
        except ValueError:
            return "Unknown"

    @staticmethod
    def _rest_sub_request(outer: Request, part: Message) -> Request:
        if part.get_content_type() != "application/http":
            raise RestError(400, BAD_BATCH)
        raw = part.get_payload(decode=True) or b""
        head, body = [*re.split(rb"\r?\n\r?\n", raw.lstrip(b"\r\n"), maxsplit=1), b""][:2]
        lines = re.split(r"\r?\n", head.decode("utf-8", "replace"))
        m = LINE.match(lines[0].strip())
        if m is None:
            raise RestError(400, BAD_BATCH)
        headers = Message()
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep and name.strip():
                headers[name.strip()] = value.strip()
        for name in ("Authorization", "client-request-id"):
            if outer.header(name) and not headers.get(name):
                headers[name] = outer.header(name)
        method = m.group("method")
        if method not in VERBS:  # MERGE: SharePoint reads it from X-HTTP-Method on a POST
            del headers["X-HTTP-Method"]
            headers["X-HTTP-Method"] = method
            method = "POST"
        url = urlsplit(m.group("url").replace(" ", "%20"))
        path = url.path
        if not path.startswith("/"):  # relative to the service root (``…/_api/``)
            path = outer.path.rsplit("/", 1)[0] + "/" + path
        if "json" in headers.get("Content-Type", "json").lower():
            body = body.strip(b"\r\n")  # the client writes a blank line before a JSON body
        return Request(method=method, path=path, raw_query=url.query, headers=headers, body=body,
                       client=outer.client, base_url=outer.base_url, internal=True)
