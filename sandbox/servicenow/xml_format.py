"""XML in and out of the REST APIs, for clients that send ``Accept: application/xml`` or an XML body.

Out: the JSON answer as ServiceNow writes it in XML: `<response>` around the JSON object's members, a
list as its element repeated (`{"result":[a, b]}` is `<result>a</result><result>b</result>`), an empty
value as an empty element (`<parent/>`), a reference as `<link>`/`<value>` children. Errors keep their
envelope (`<response><error><message>...`). The answer is XML when the first JSON or XML media type in
Accept is XML; other answers (attachment files, HTML, the JSONv2 processor's) are left alone.
In: `<request><entry><field>value</field>...</entry></request>` (the REST API Explorer's XML body), or
any root element whose children are the fields.
"""

from __future__ import annotations

import json
import re
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from sandbox.core.http import HTTPError, Request, Response

XML_TYPE = "application/xml;charset=UTF-8"
_MEDIA = re.compile(r"(?:application|text)/(?:[\w.+-]*\+)?(json|xml)")


def wants_xml(req: Request) -> bool:
    """Whether the first JSON or XML media type the client accepts is XML."""
    found = _MEDIA.search(req.header("Accept").lower())
    return found is not None and found.group(1) == "xml"


def sends_xml(req: Request) -> bool:
    return "xml" in req.header("Content-Type").lower()


def _element(name: str, value: Any, out: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _element(name, item, out)
        return
    if isinstance(value, dict):
        out.append(f"<{name}>")
        for key, inner in value.items():
            _element(key, inner, out)
        out.append(f"</{name}>")
        return
    text = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
    out.append(f"<{name}>{escape(text)}</{name}>" if text else f"<{name}/>")


def to_xml(doc: Any) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?><response>']
    if isinstance(doc, dict):
        for key, value in doc.items():
            _element(key, value, out)
    out.append("</response>")
    return "".join(out).encode("utf-8")


def convert(req: Request, resp: Response) -> Response:
    """The JSON answer `resp` as XML when the client asked for XML (see module docstring)."""
    if not req.path.startswith("/api/") or not resp.body or not resp.content_type.startswith("application/json") \
            or not wants_xml(req):
        return resp
    try:
        doc = json.loads(resp.body)
    except ValueError:
        return resp
    return Response(resp.status, to_xml(doc), XML_TYPE, resp.headers)


def parse_body(req: Request) -> dict[str, str]:
    """An XML request body as field -> text."""
    try:
        root = ElementTree.fromstring(req.body)
    except ElementTree.ParseError as exc:
        raise HTTPError(400, "Exception while reading request", f"Invalid XML: {exc}") from exc
    entry = root.find("entry") if root.tag == "request" else None
    record = entry if entry is not None else root
    return {child.tag: (child.text or "").strip() if len(child) == 0 else (child.findtext("value") or "")
            for child in record}
