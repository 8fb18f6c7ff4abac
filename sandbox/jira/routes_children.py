"""Comment, attachment and issue-link routes.

- Comments: GET list (startAt/maxResults/orderBy), POST (201), GET/PUT/DELETE one; `expand=renderedBody`
  adds the body as HTML, `expand=properties` the (always empty) entity properties. A `visibility` names an
  existing group or project role the caller belongs to, else 400 `errors.commentLevel` (`routes_roles`).
- Attachments: POST multipart (part `file`, header `X-Atlassian-Token: no-check` or 403 "XSRF check
  failed"), answered 200 with a JSON array; GET `/attachment/{id}` metadata; DELETE (GET
  `/attachment/content/{id}` is in `routes_media`). GET `/secure/issueAttachments/{issueId}.zip` (site path,
  not under /rest): a zip of the issue's attachments (an empty zip, 22 bytes, when it has none; a repeated
  file name gets a " (n)" suffix [unc]).
  413 (as the spec documents) for a file over `/attachment/meta`'s uploadLimit (10 MiB), more than 60 files in
  one request, or an issue past 2000 attachments (the per-issue limit); the messages are guessed [unc].
- Links: POST `/issueLink` (201, empty body; its `comment` goes on the inward issue with its `visibility`; linking
  an issue to itself is a 400, the same link again changes nothing), GET/DELETE `/issueLink/{id}`.
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.core.http import Response, json_response
from sandbox.jira import ops, visibility
from sandbox.jira.adf import as_version, valid_adf
from sandbox.jira.call import Call
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import is_id
from sandbox.jira.ownership import may_change
from sandbox.jira.rendered import to_html
from sandbox.jira.routes_roles import sees
from sandbox.jira.text_limits import TEXT_TOO_LONG, text_too_long

MAX_FILES_PER_REQUEST = 60
MAX_ATTACHMENTS_PER_ISSUE = 2000

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def _body_ok(c: Call, body: Any) -> Any:
    if body is None or (isinstance(body, str) and not body.strip()):
        raise fail(400, None, {"comment": "Comment body can not be empty!"})
    if c.version == "3" and not valid_adf(body):
        raise fail(400, None, {"comment": "Comment body is not valid!"})
    if c.version != "3" and not isinstance(body, str):
        raise fail(400, None, {"comment": "Comment body is not valid!"})
    if text_too_long(body):
        raise fail(400, None, {"comment": TEXT_TOO_LONG})
    return body


SELF_LINK = "You cannot link an issue to itself."  # [unc] wording


def _mime(part: Any, name: str) -> str:
    """The part's media type; a generic one (none, application/octet-stream, as pycontribs sends every file)
    is replaced by the type the file name suggests, as Jira's MIME sanitising does. [unc: Cloud's exact rules]"""
    given = part.get_content_type() if part.get("Content-Type") else ""
    if given and given not in ("application/octet-stream", "binary/octet-stream", "application/x-unknown"):
        return given
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _audience(sb: JiraSandbox, c: Call, issue: Any, vis: Any) -> Any:
    """The request's visibility once Jira would accept it from this caller on this issue's project (else 400),
    with both `value` and `identifier` filled (`visibility`)."""
    return visibility.checked(sb, c.user, issue.project, vis)


def _comment_bean(c: Call, comment: Any) -> dict[str, Any]:
    """A comment bean with the `expand` Jira accepts on every comment route: renderedBody, properties."""
    bean = c.r.comment(comment)
    wanted = {e.strip() for item in c.qlist("expand") for e in item.split(",")}
    if "renderedBody" in wanted:
        bean["renderedBody"] = to_html(as_version(comment.body, "2")) or ""
    if "properties" in wanted:  # set on create or through /comment/{id}/properties (`routes_entity_props`)
        props = c.r.store.work.get("comment_properties", {}).get(comment.id, {})
        bean["properties"] = [{"key": k, "value": v} for k, v in props.items()]
    return bean


def multipart_parts(ctype: str, body: bytes, name: str) -> list[Any]:
    """The parts of a multipart/form-data body whose form field is `name` (email.message parts)."""
    msg = BytesParser(policy=policy.HTTP).parsebytes(b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n" + body)
    return [p for p in msg.iter_parts() if p.get_param("name", header="content-disposition") == name]


def disposition(filename: str) -> str:
    """`attachment; filename="..."` with an ASCII fallback and the exact name in RFC 6266's `filename*` (a
    header is Latin-1 on the wire: a name like "résumé ✓.txt" written raw broke the response)."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename)
    if fallback == filename:
        return f'attachment; filename="{filename}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def register(sb: JiraSandbox, key: str) -> None:
    from sandbox.jira.routes_issues import issue_of

    def list_comments(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        comments = [x for x in sb.store.comments_of(issue) if sees(sb, c.user, issue.project, x.visibility)]
        if (c.q("orderBy") or "created").startswith("-"):
            comments.reverse()
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 100, 0, 5000)
        return json_response({"comments": [_comment_bean(c, x) for x in comments[start:start + limit]],
                              "maxResults": limit, "total": len(comments), "startAt": start})

    def add_comment(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        body = c.obj()
        props = body.get("properties") or []
        if not isinstance(props, list) or any(not isinstance(p, dict) or not p.get("key") for p in props):
            raise fail(400, None, {"properties": "Each comment property needs a key and a value."})
        vis = _audience(sb, c, issue, body.get("visibility"))
        comment = sb.store.add_comment(issue.id, _body_ok(c, body.get("body")), c.user, vis)
        if props:
            with sb.store.lock:
                table = sb.store.work.setdefault("comment_properties", {}).setdefault(comment.id, {})
                table.update({str(p["key"]): p.get("value") for p in props})
        return json_response(_comment_bean(c, comment), 201)

    def one_comment(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        comment = ops.find_comment(sb.store, issue.id, c.p["comment"])
        if comment is None or not sees(sb, c.user, issue.project, comment.visibility):
            raise fail(404, "Can not find a comment for the id: " + c.p["comment"] + ".")
        return json_response(_comment_bean(c, comment))

    def hidden(c: Call, issue: Any, verb: str) -> None:
        """A restricted comment the caller may not read is, to them, no comment (404); one they may read but
        not change (Edit/Delete Own Comments for their own, All for anyone's) is the spec's 400."""
        comment = ops.find_comment(sb.store, issue.id, c.p["comment"])
        if comment is not None and not sees(sb, c.user, issue.project, comment.visibility):
            raise fail(404, "Can not find a comment for the id: " + c.p["comment"] + ".")
        if comment is not None and not may_change(sb, c.user, issue.project, comment.author,
                                                  f"{verb.upper()}_OWN_COMMENTS", f"{verb.upper()}_ALL_COMMENTS"):
            raise fail(400, f"You do not have the permission to {verb} this comment.")  # [unc] wording

    def edit_comment(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        hidden(c, issue, "edit")
        body = c.obj()
        vis = _audience(sb, c, issue, body.get("visibility")) if "visibility" in body else ...
        comment = ops.edit_comment(sb.store, issue.id, c.p["comment"], _body_ok(c, body.get("body")), c.user, vis)
        if comment is None:
            raise fail(404, "Can not find a comment for the id: " + c.p["comment"] + ".")
        return json_response(_comment_bean(c, comment))

    def delete_comment(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        hidden(c, issue, "delete")
        if not ops.delete_comment(sb.store, issue.id, c.p["comment"], c.user):
            raise fail(404, "Can not find a comment for the id: " + c.p["comment"] + ".")
        return Response(status=204)

    def add_attachment(c: Call) -> Response:
        if c.req.header("X-Atlassian-Token").lower() != "no-check":
            return Response(status=403, body=b"XSRF check failed", content_type="text/plain;charset=UTF-8")
        issue = issue_of(sb, c.p["issue"])
        ctype = c.req.header("Content-Type")
        if "multipart/form-data" not in ctype.lower():
            raise fail(415, "Unsupported media type: attachments must be multipart/form-data.")
        parts = multipart_parts(ctype, c.req.body, "file")
        if not parts:
            raise fail(400, "No file was attached: the multipart part must be named 'file'.")
        _within_limits(sb, issue, parts)
        out = []
        for part in parts:
            data = part.get_payload(decode=True) or b""
            name = part.get_filename() or "attachment"
            att = sb.store.add_attachment(issue.id, name, _mime(part, name), data, c.user)
            out.append(c.r.attachment(att))
            sb.webhooks.on_entity("attachment_created", "attachment", sb.renderer(sb.url, "2").attachment(att),
                                  sb.store.issues[issue.id])  # `webhooks.ENTITY_EVENTS`
        return json_response(out)

    def attachment_or_404(c: Call) -> Any:
        ref = c.p["attachment"]
        att = sb.store.attachment(int(ref)) if is_id(ref) else None
        if att is None or att.issue_id not in sb.store.issues:
            raise fail(404, f"The attachment with id '{ref}' does not exist")
        return att

    def attachment_meta(c: Call) -> Response:
        return json_response(c.r.attachment(attachment_or_404(c), meta=True))

    def attachments_zip(c: Call) -> Response:
        issue = sb.store.resolve(c.p["issue"])
        if issue is None:
            raise fail(404, "Issue does not exist or you do not have permission to see it.")
        buf, seen = io.BytesIO(), set()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            for att in sb.store.attachments_of(issue):
                name, n = att.filename, 1
                stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
                while name in seen:
                    name, n = f"{stem} ({n}){dot}{ext}", n + 1
                seen.add(name)
                zf.writestr(name, att.data)
        return Response(status=200, body=buf.getvalue(), content_type="application/zip",
                        headers=[("Content-Disposition", f'attachment; filename="{issue.key}.zip"')])

    def attachment_delete(c: Call) -> Response:
        att = attachment_or_404(c)
        project = sb.store.issues[att.issue_id].project
        if not may_change(sb, c.user, project, att.author, "DELETE_OWN_ATTACHMENTS", "DELETE_ALL_ATTACHMENTS"):
            raise fail(403, "You do not have permission to delete attachment with id: " + str(att.id))  # [unc]
        bean = sb.renderer(sb.url, "2").attachment(att)
        ops.delete_attachment(sb.store, att, c.user)
        sb.webhooks.on_entity("attachment_deleted", "attachment", bean, sb.store.issues.get(att.issue_id))
        return Response(status=204)

    def add_link(c: Call) -> Response:
        body = c.obj()
        tref = str(_ref(body.get("type")) or "")
        type_id = next((k for k, v in sb.store.link_types.items() if tref in (k, v[0])), None)
        if type_id is None:
            raise fail(404, f"No issue link type with name '{tref}' found.")
        inward = sb.store.resolve(_ref(body.get("inwardIssue")))
        outward = sb.store.resolve(_ref(body.get("outwardIssue")))
        if inward is None or outward is None:
            raise fail(404, "Issue does not exist or you do not have permission to see it.")
        if inward.id == outward.id:
            raise fail(400, SELF_LINK)
        comment = shaped(body.get("comment"), "object")  # read before linking (a wrong type was a 500)
        text = _body_ok(c, comment.get("body")) if comment else None
        vis = _audience(sb, c, inward, comment.get("visibility")) if comment else None  # it was dropped (round 30)
        sb.store.add_link(type_id, inward.id, outward.id, c.user)
        if comment:
            sb.store.add_comment(inward.id, text, c.user, vis)
        return Response(status=201, body=b"", content_type="text/plain")

    def get_link(c: Call) -> Response:
        """A link with an end that is not live (archived, or its project in the trash) is the 404 of no link, as
        the live end's `issuelinks` leaves it out [unc] (it was a KeyError, a 500)."""
        link = sb.store.links.get(int(c.p["link"])) if is_id(c.p["link"]) else None
        if link is None or not {link.inward_id, link.outward_id} <= sb.store.issues.keys():
            raise fail(404, "No issue link with id '" + c.p["link"] + "' exists.")
        name, inward, outward = sb.store.link_types[link.type_id]
        return json_response({
            "id": str(link.id), "self": f"{c.r.api}/issueLink/{link.id}",
            "type": {"id": link.type_id, "name": name, "inward": inward, "outward": outward,
                     "self": f"{c.r.api}/issueLinkType/{link.type_id}"},
            "inwardIssue": c.r.issue_ref(sb.store.issues[link.inward_id]),
            "outwardIssue": c.r.issue_ref(sb.store.issues[link.outward_id])})

    def delete_link(c: Call) -> Response:
        """The spec: Browse on both issues' projects and Link Issues on one of them, else the 404 of no link. Only
        the live ends count; when neither end is live (both archived, or their project in the trash) there is no
        project to hold those in, so Administer Jira is required instead [unc: Cloud's rule for such a link]."""
        link = sb.store.links.get(int(c.p["link"])) if is_id(c.p["link"]) else None
        projects = [sb.store.issues[i].project for i in (link.inward_id, link.outward_id)
                    if i in sb.store.issues] if link is not None else []
        if link is None or not (
                (all(sb.holds(c.user, "BROWSE_PROJECTS", [p]) for p in projects)  # type: ignore[attr-defined]
                 and sb.holds(c.user, "LINK_ISSUES", projects)) if projects  # type: ignore[attr-defined]
                else sb.holds(c.user, "ADMINISTER", [])):  # type: ignore[attr-defined]
            raise fail(404, "No issue link with id '" + c.p["link"] + "' exists.")
        if sb.store.remove_link(link.id) is None:
            raise fail(404, "No issue link with id '" + c.p["link"] + "' exists.")
        return Response(status=204)

    sb.route("GET", key + r"/comment", list_comments)
    sb.route("POST", key + r"/comment", add_comment, "write")
    sb.route("GET", key + r"/comment/(?P<comment>\d+)", one_comment)
    sb.route("PUT", key + r"/comment/(?P<comment>\d+)", edit_comment, "write")
    sb.route("DELETE", key + r"/comment/(?P<comment>\d+)", delete_comment, "write")
    sb.route("POST", key + r"/attachments", add_attachment, "write")
    sb.route("GET", r"/attachment/(?P<attachment>[^/]+)", attachment_meta)
    sb.route("DELETE", r"/attachment/(?P<attachment>[^/]+)", attachment_delete, "write")
    sb.route("GET", r"/secure/issueAttachments/(?P<issue>\d+)\.zip", attachments_zip, prefix="none")
    sb.route("POST", r"/issueLink", add_link, "write")
    sb.route("GET", r"/issueLink/(?P<link>[^/]+)", get_link)
    sb.route("DELETE", r"/issueLink/(?P<link>[^/]+)", delete_link, "write")


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("key") or value.get("id") or value.get("name")
    return value


def _within_limits(sb: JiraSandbox, issue: Any, parts: list[Any]) -> None:
    """413 for what Jira Cloud refuses to attach: a file over the upload limit, over 60 files, over 2000 on an issue."""
    from sandbox.jira.routes_more import UPLOAD_LIMIT

    if len(parts) > MAX_FILES_PER_REQUEST:
        raise fail(413, f"You can attach at most {MAX_FILES_PER_REQUEST} files in one request.")
    for part in parts:
        if len(part.get_payload(decode=True) or b"") > UPLOAD_LIMIT:
            raise fail(413, f"The file '{part.get_filename() or 'attachment'}' is too large to attach: the limit is "
                            f"{UPLOAD_LIMIT} bytes.")
    if len(sb.store.attachments_of(issue)) + len(parts) > MAX_ATTACHMENTS_PER_ISSUE:
        raise fail(413, f"An issue can have at most {MAX_ATTACHMENTS_PER_ISSUE} attachments.")
