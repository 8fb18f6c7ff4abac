"""Deleting versions and components with their issues moved elsewhere (registered before `routes_versions`).

- PUT `/version/{id}/mergeto/{moveIssuesTo}` (204): the version's fix and affected issues move to the other
  version of the same project, then it is deleted.
- POST `/version/{id}/removeAndSwap` (`moveFixIssuesTo`, `moveAffectedIssuesTo`; 204) and
  DELETE `/version/{id}?moveFixIssuesTo=&moveAffectedIssuesTo=` (204).
- DELETE `/component/{id}?moveIssuesTo=` (204).
Without a target the deleted version/component is simply removed from its issues. Each issue changed gets a
changelog entry (and an `issue_updated` webhook), as Jira's bulk version/component moves do. A target that
does not exist is a 404, one in another project (or the version itself) a 400.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response
from sandbox.jira.admin_guard import require_project_admin
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

ATTR = {"fix": "fix_versions", "affected": "versions", "components": "components"}


def register(sb: JiraSandbox) -> None:
    def find(kind: str, label: str, ident: Any) -> dict[str, Any]:
        item = sb.store.work[kind].get(int(ident)) if is_id(str(ident)) else None
        if item is None:
            raise fail(404, f"The {label} with id {ident} does not exist.")
        return item

    def target(kind: str, label: str, item: dict[str, Any], ident: Any) -> int | None:
        if ident in (None, ""):
            return None
        other = find(kind, label, ident)
        if other["id"] == item["id"] or other["project"] != item["project"]:
            raise fail(400, f"The {label} {ident} can not be used as a replacement for {item['id']}.")
        return int(other["id"])

    def swap(c: Call, item_id: int, moves: dict[str, int | None]) -> None:
        """Replace `item_id` by the target (or drop it) in each named issue attribute."""
        for issue in list(sb.store.issues.values()):
            changes = {}
            for which, to in moves.items():
                attr = ATTR[which]
                ids = getattr(issue, attr)
                if item_id in ids:
                    new = [x for x in ids if x != item_id]
                    if to is not None and to not in new:
                        new.append(to)
                    changes[attr] = tuple(new)
            if changes:
                sb.store.update(issue.id, changes, c.user)

    def drop_version(c: Call, fix: Any, affected: Any, refused: int = 401) -> Response:
        v = find("versions", "version", c.p["id"])
        # the spec: Administer Projects for the version's project or Administer Jira; without it DELETE and
        # mergeto answer 401, removeAndSwap 404 [unc: texts]
        require_project_admin(sb, c, v["project"], refused)
        moves = {"fix": target("versions", "version", v, fix), "affected": target("versions", "version", v, affected)}
        swap(c, v["id"], moves)
        with sb.store.lock:
            sb.store.work["versions"].pop(v["id"], None)
        return Response(status=204)

    def merge(c: Call) -> Response:
        to = c.p["to"]
        v, into = find("versions", "version", c.p["id"]), find("versions", "version", to)
        # Administer Projects on the version's project and on the one it merges into (a target in another project
        # is a 400 below, but only for who may administer both) [unc]
        for project in (v["project"], into["project"]):
            require_project_admin(sb, c, project, 401)
        return drop_version(c, to, to)

    def remove_and_swap(c: Call) -> Response:
        body = c.obj()
        return drop_version(c, body.get("moveFixIssuesTo"), body.get("moveAffectedIssuesTo"), 404)

    def delete_version(c: Call) -> Response:
        return drop_version(c, c.q("moveFixIssuesTo"), c.q("moveAffectedIssuesTo"))

    def delete_component(c: Call) -> Response:
        comp = find("components", "component", c.p["id"])
        require_project_admin(sb, c, comp["project"], 403,  # the spec's 403 [unc: text]
                              "You do not have permission to manage the project containing the component.")
        swap(c, comp["id"], {"components": target("components", "component", comp, c.q("moveIssuesTo"))})
        with sb.store.lock:
            sb.store.work["components"].pop(comp["id"], None)
        return Response(status=204)

    sb.route("PUT", r"/version/(?P<id>[^/]+)/mergeto/(?P<to>[^/]+)", merge, "write")
    sb.route("POST", r"/version/(?P<id>[^/]+)/removeAndSwap", remove_and_swap, "write")
    sb.route("DELETE", r"/version/(?P<id>[^/]+)", delete_version, "write")
    sb.route("DELETE", r"/component/(?P<id>[^/]+)", delete_component, "write")
