"""A list's own permissions through SharePoint REST v1, for ``GraphSandbox``, as office365-rest-python-client's
``List.break_role_inheritance`` / ``reset_role_inheritance`` / ``add_role_assignment`` / ``remove_role_assignment``
/ ``get_role_assignment`` make them (library or custom list):

- ``POST …/BreakRoleInheritance(copyRoleAssignments=…,clearSubscopes=…)``: the list stops inheriting the web's
  assignments; with ``copyRoleAssignments`` true (in the body, as office365 sends it, or the URL) it starts with a
  copy of them (the Owners, Members and Visitors groups), else with only the caller's, Full Control
  ([MS-CSOMSPT]). Breaking it again keeps what the list has.
  ``POST …/ResetRoleInheritance``: it inherits again (its own assignments are gone). Both answer 200 with no body.
- ``HasUniqueRoleAssignments`` (the property, and ``GET …/HasUniqueRoleAssignments``) follows.
- ``POST …/RoleAssignments/AddRoleAssignment(principalId=n,roleDefId=m)`` binds a role to a principal (the
  app 1073741823, a default group 3/4/5, a user ``EnsureUser`` added); ``RemoveRoleAssignment(…)`` unbinds it
  (the assignment goes when it has no role left). On a list that inherits, both are 400 "This operation is not
  allowed on an object that inherits permissions." An unknown principal or role definition is 404 / 400 [unc].
- ``GET …/RoleAssignments`` (``$expand=Member,RoleDefinitionBindings``) and ``RoleAssignments/GetByPrincipalId(n)``
  (with ``/Member``, ``/RoleDefinitionBindings``) answer the list's own assignments while it has them, else the
  web's (``rest_schema.rest_roles_route``).
- A list item (``items(n)/BreakRoleInheritance`` …) likewise, inheriting from its list (the list's own
  assignments when it has them, else the web's); breaking a list's inheritance with ``clearSubscopes`` true (the
  default) makes its items inherit from it again; on an object that already has its own, the call changes nothing
  ([MS-CSOMSPT]).
- All of these writes need ManagePermissions, which SharePoint's Edit role (a Sites.Selected ``write`` grant) does
  not have: such an app is 403 "Access denied." Only an app granted ``fullcontrol`` on the site
  (``GraphStore.full_control``, as a tenant admin grants Sites.Selected ``fullcontrol``) may make them
  [unc: the emulator does not show that grant in ``EffectiveBasePermissions``].
"""

from __future__ import annotations

from typing import Any

from sandbox.core.http import Request, Response
from sandbox.core.numbers import json_int
from sandbox.sharepoint.rest import args
from sandbox.sharepoint.rest_errors import BAD, DENIED, RestError
from sandbox.sharepoint.rest_schema import GROUPS, ROLES

APP_ID = 1073741823
FULL_CONTROL = 1073741829
INHERITS = ("-2146232832, Microsoft.SharePoint.SPException",
            "This operation is not allowed on an object that inherits permissions.")
NO_PRINCIPAL = "Can not find the principal with id: {}."


class RestRoleWrites:
    """Mixed into ``GraphSandbox`` with ``RestSchema`` and ``RestUsers``."""

    def list_has_unique_roles(self, lid: str) -> bool:
        return lid in self.store.unique_roles

    def site_roles(self, site: str) -> list[tuple]:
        """SharePoint's role definitions and those made on the site (``RoleDefinitions`` POST)."""
        return [*ROLES, *self.store.role_defs.get(site, [])]

    def rest_web_roles(self, req: Request, site: str, segs: list[tuple[str, str | None]], verbose: bool) -> Response:
        """``web/RoleDefinitions…``, ``web/RoleAssignments…`` and ``web/HasUniqueRoleAssignments`` (``segs`` after
        ``web``): the web's assignments as changed (``unique_roles[site]``), else SharePoint's defaults."""
        names = [n for n, _ in segs]
        base = f"{self._rest_web_url(req)[0]}/_api/Web"
        if names[0] == "roledefinitions":
            return self.rest_role_definitions(req, site, segs, verbose)  # rest_role_defs.py
        if req.method != "GET":
            if names[1:] not in (["addroleassignment"], ["removeroleassignment"]):
                raise RestError(400, BAD)  # [unc] a root web cannot break or reset its inheritance
            if req.principal not in self.store.full_control.get(site, set()):
                raise RestError(403, DENIED)
            with self.store.lock:
                self.store.unique_roles.setdefault(site, [[g, r] for g, _, r in GROUPS])
        elif site not in self.store.unique_roles or names == ["hasuniqueroleassignments"]:
            return self.rest_roles_route(req, self.store.sites[site], segs, verbose)  # rest_schema.py
        return self.rest_list_roles(req, site, site, segs, verbose, None, base)

    def rest_list_roles(self, req: Request, site: str, lid: str, segs: list[tuple[str, str | None]],
                        verbose: bool, parent: str | None = None, base: str = "") -> Response | None:
        """The answer to a list's role request (``segs`` after the list), or None when it is none; for a list
        item, ``lid`` is ``<list id>/<item id>``, ``parent`` the list's id and ``base`` its URL."""
        names = [n for n, _ in segs]
        method = req.header("X-HTTP-Method").upper() or req.method
        if not names or names[0] not in ("breakroleinheritance", "resetroleinheritance", "roleassignments",
                                         "hasuniqueroleassignments"):
            return None
        own = self.store.unique_roles.get(lid)
        if names == ["hasuniqueroleassignments"] and req.method == "GET":
            value = own is not None
            return self._rest_json({"HasUniqueRoleAssignments": value} if verbose else {"value": value}, verbose)
        # an item's list's own, else the web's when it was changed (else the web's defaults: ``GROUPS``)
        inherited = next((self.store.unique_roles[k] for k in (parent, site) if k and k in self.store.unique_roles),
                         None) if lid != site else None
        if req.method == "GET":
            if own is None and inherited is None:
                return self.rest_roles_route(req, self.store.sites[site], segs, verbose)  # rest_schema.py
            return self._list_roles_answer(req, site, lid, own if own is not None else inherited, segs, verbose,
                                           base)
        if method != "POST":
            raise RestError(400, BAD)
        if req.principal not in self.store.full_control.get(site, set()):
            raise RestError(403, DENIED)  # ManagePermissions: not in the Edit role a "write" grant is
        body = req.json() if req.body else {}
        a = {k.lower(): v for k, v in args(segs[-1][1]).items()}
        a.update({k.lower(): str(v).lower() for k, v in (body if isinstance(body, dict) else {}).items()})
        with self.store.lock:
            if names == ["breakroleinheritance"]:
                if lid not in self.store.unique_roles:
                    copy = a.get("copyroleassignments", "true").lower() == "true"
                    start = [list(p) for p in inherited] if inherited is not None else [[g, r] for g, _, r in GROUPS]
                    self.store.unique_roles[lid] = start if copy else [
                        [APP_ID, FULL_CONTROL]]  # [MS-CSOMSPT]: only the caller's assignment is left
                    if a.get("clearsubscopes", "true").lower() == "true":  # the list's items inherit from it again
                        for key in [k for k in self.store.unique_roles if k.startswith(lid + "/")]:
                            del self.store.unique_roles[key]
                return Response(200, b"")
            if names == ["resetroleinheritance"]:
                self.store.unique_roles.pop(lid, None)
                return Response(200, b"")
            if names[1:] not in (["addroleassignment"], ["removeroleassignment"]) or len(names) != 2:
                raise RestError(400, BAD)
            # Int32 ids as JSON numbers or ASCII digits; '٣' (int() read 3), 1e999 and null (a 500) are 400 too
            pid, rid = (json_int(a.get(k), cap=2**31, signed=True) for k in ("principalid", "roledefid"))
            if pid is None or rid is None or max(abs(pid), abs(rid)) > 2**31 - 1:
                raise RestError(400, BAD)
            if own is None:
                raise RestError(400, INHERITS)
            if rid not in {r[0] for r in self.site_roles(site)}:
                raise RestError(400, ("-2147024809, System.ArgumentException", "Value does not fall within the "
                                      "expected range."))
            if pid not in self._known_principals(req, site):
                raise RestError(404, ("-2146232832, Microsoft.SharePoint.SPException", NO_PRINCIPAL.format(pid)))
            pair = [pid, rid]
            if names[1] == "addroleassignment" and pair not in own:
                own.append(pair)
            elif names[1] == "removeroleassignment" and pair in own:
                own.remove(pair)
        return Response(200, b"")

    def _known_principals(self, req: Request, site: str) -> set[int]:
        users = {int(r["Id"]) for r in self._rest_user_rows(req, site)}  # rest_users.py: the app, ensured users
        return users | {g[0] for g in GROUPS} | {APP_ID}

    def _list_roles_answer(self, req: Request, site: str, lid: str, own: list[list[int]],
                           segs: list[tuple[str, str | None]], verbose: bool, base: str = "") -> Response:
        names = [n for n, _ in segs]
        roles = {r[0]: r for r in self.site_roles(site)}
        base = (base or f"{self._rest_web_url(req)[0]}/_api/Web/Lists(guid'{lid}')") + "/RoleAssignments"
        by_principal: dict[int, list[int]] = {}
        for pid, rid in own:
            by_principal.setdefault(pid, []).append(rid)
        expand = {e.strip().lower() for e in req.query.get("$expand", "").split(",") if e.strip()}

        def member(pid: int) -> dict[str, Any]:
            group = next((g for g in GROUPS if g[0] == pid), None)
            if group is not None:
                return self._rest_group(req, self.store.sites[site], pid, group[1], verbose)
            if pid == APP_ID:
                return self.rest_app_user(req, verbose)
            row = next(r for r in self._rest_user_rows(req, site) if int(r["Id"]) == pid)
            return self._rest_user_entity(req, row, verbose)

        def bindings(pid: int) -> dict[str, Any]:
            return self._rest_collection([self._rest_role(req, roles[r], verbose) for r in by_principal[pid]],
                                         verbose)

        def assignment(pid: int) -> dict[str, Any]:
            props: dict[str, Any] = {"PrincipalId": pid}
            if "member" in expand:
                props["Member"] = member(pid)
            if "roledefinitionbindings" in expand:
                props["RoleDefinitionBindings"] = bindings(pid)
            return self._rest_entity(props, "SP.RoleAssignment", f"{base}/GetByPrincipalId({pid})", verbose)

        if names == ["roleassignments"] and not segs[0][1]:
            return self._rest_json(self._rest_collection([assignment(p) for p in by_principal], verbose), verbose)
        by_call = names[1:2] == ["getbyprincipalid"]
        key = args(segs[1][1] if by_call else segs[0][1]).get("", "")
        pid = next((p for p in by_principal if str(p) == key), None)
        if pid is None:
            raise RestError(404, ("-2146232832, Microsoft.SharePoint.SPException", NO_PRINCIPAL.format(key)))
        rest = names[2:] if by_call else names[1:]
        if not rest:
            return self._rest_json(assignment(pid), verbose)
        if rest == ["member"]:
            return self._rest_json(member(pid), verbose)
        if rest == ["roledefinitionbindings"]:
            return self._rest_json(bindings(pid), verbose)
        raise RestError(400, BAD)
