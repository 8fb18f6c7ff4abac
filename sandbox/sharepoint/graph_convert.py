"""``GET /drives/{id}/items/{id}/content?format=pdf`` (Graph's "download a file in another format").

- ``format=pdf`` of a file whose extension Graph converts to PDF (Word, Excel, PowerPoint, OpenDocument, RTF,
  HTML, Markdown, e-mail, TIFF, …, as documented): ``302`` to a pre-authenticated ``download.aspx`` URL that
  serves ``application/pdf``; the sandbox's conversion is a small valid one-page PDF naming the file and its
  size [sandbox allowance: not a rendering of the content].
- Another extension (a ``.txt``, a ``.pdf``, an image other than TIFF) is ``406 notSupported`` [unc: Graph's code
  and text]; ``format=html`` (Loop/Fluid/whiteboard files only) and ``format=jpg`` (images and CAD only) are not
  served: 406 the same way [unc]; an unknown ``format`` is 400 invalidRequest [unc]; a folder 400 as before.
"""

from __future__ import annotations

import secrets

from sandbox.core.http import Request, Response
from sandbox.core.pdf import text_pdf
from sandbox.sharepoint.errors import GraphError
from sandbox.sharepoint.store import Item

TO_PDF = {"doc", "docx", "dot", "dotx", "dotm", "dsn", "dwg", "eml", "epub", "htm", "html", "markdown", "md", "msg",
          "odp", "ods", "odt", "pps", "ppsx", "ppt", "pptx", "rtf", "tif", "tiff", "xls", "xlsm", "xlsx"}
FORMATS = ("pdf", "html", "jpg", "glb")


class GraphConvert:
    """Mixed into ``GraphSandbox`` (uses ``downloads``)."""

    downloads: dict[str, str]

    def converted_content(self, item: Item, req: Request) -> Response:
        wanted = (req.query.get("format") or req.query.get("$format") or "").lower()  # msgraph-sdk sends $format
        if wanted not in FORMATS:
            raise GraphError(400, "invalidRequest", f"Invalid format '{wanted}'.")  # [unc] the text
        ext = item.name.rsplit(".", 1)[-1].lower() if "." in item.name else ""
        if wanted != "pdf" or ext not in TO_PDF:
            raise GraphError(406, "notSupported", f"Conversion of '{ext or item.name}' files to '{wanted}' is not "
                             "supported.")  # [unc] the code and text
        token = secrets.token_urlsafe(24)
        self.downloads[token] = f"{item.id}@pdf"
        return Response(302, b"", "text/plain", [("Location", f"{req.base_url}/_layouts/15/download.aspx?UniqueId="
                                                              f"{item.id}&tempauth={token}")])

    @staticmethod
    def pdf_of(item: Item) -> bytes:
        return text_pdf(f"{item.name} ({len(item.content or b'')} bytes)")
