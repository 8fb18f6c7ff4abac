"""Site user administration a client script calls: create (POST `/user`) and delete (DELETE `/user`).

- POST `/user` (Create user, "retained for legacy compatibility"): `emailAddress` and `products` are both required
  (the spec's NewUserDetails; pycontribs `add_user` and atlassian `user_create` send no `products` and so get
  Jira's 400). `name`/`password`/`displayName` are "no longer available" and not read: the display name is the
  address's local part until the person sets one. An address already on the site answers 201 with that user.
  A product gives its default group (`jira-software-users`); an empty list creates a user without product access.
- DELETE `/user?accountId=` (204): the user leaves Jira's user base, not their Atlassian account: here they turn
  inactive (user search stops finding them) and leave every group. No/unknown accountId: 400/404.
Guesses [unc]: the wording of the 400 errors; how a deleted user is shown afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response, json_response
from sandbox.jira.admin_guard import admin_only, site_admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.identity import full_user
from sandbox.jira.routes_groups import GROUPS, groups_of

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

PRODUCTS = ("jira-core", "jira-servicedesk", "jira-product-discovery", "jira-software")


def register(sb: JiraSandbox) -> None:
    def create_user(c: Call) -> Response:
        body = c.body()
        body = body if isinstance(body, dict) else {}
        email, products = body.get("emailAddress"), body.get("products")
        errors: dict[str, str] = {}
        if not isinstance(email, str) or "@" not in email.strip("@"):
            errors["emailAddress"] = "You must specify a valid email address."
        if not isinstance(products, list):
            errors["products"] = "You must specify the products the user has access to (an empty list for none)."
        elif any(p not in PRODUCTS for p in products):
            errors["products"] = f"Valid products are: {', '.join(PRODUCTS)}."
        if errors:
            raise fail(400, None, errors)
        with sb.store.lock:
            existed = any(u.email.lower() == str(email).lower() for u in sb.store.users.values())
            ident = sb.add_user(str(email), str(email).split("@", 1)[0])
            if not existed:
                members = groups_of(sb)[GROUPS[0]]
                if products and ident not in members:
                    members.append(ident)
                elif not products and ident in members:
                    members.remove(ident)
        return json_response(full_user(sb, c, ident), 201)

    def delete_user(c: Call) -> Response:
        account = c.q("accountId")
        if not account:
            raise fail(400, "The accountId query parameter needs to be provided.")
        with sb.store.lock:
            user = sb.store.users.get(account)
            if user is None or not user.active:
                raise fail(404, f"User with accountId '{account}' does not exist.")
            if account == sb.store.me.account_id:
                raise fail(400, "You cannot delete the currently logged in user.")
            user.active = False
            for members in groups_of(sb).values():
                if account in members:
                    members.remove(account)
        return Response(204)

    sb.route("POST", r"/user", admin_only(sb, create_user), "write")  # the spec: Administer Jira
    sb.route("DELETE", r"/user", site_admin_only(sb, delete_user), "write")  # the spec: Site administration
