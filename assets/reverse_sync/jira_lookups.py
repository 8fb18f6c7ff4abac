"""Look-ups of the Jira remediation issues' writer (:class:`assets.reverse_sync.jira.JiraIssueWriter`): an issue by
our id's label, a status category, the integration account's latest comment, a transition into a category, and the
Jira account of an owner's e-mail. Reads only; each answer of the wrong shape is the record's VendorError."""

from __future__ import annotations

from typing import Any

from assets.reverse_sync.jira_shapes import adf_text
from assets.reverse_sync.jira_text import jql_string
from pipelines.common.http import VendorError
from pipelines.jira.settings import API


class Lookups:
    """Mixed into ``JiraIssueWriter``: needs ``client``, ``me()``, ``_accounts`` and ``_by_search``."""

    client: Any
    _accounts: dict[str, str | None]
    _by_search: set[str]

    def find_issue(self, internal_id: str) -> tuple[str, str | None] | None:
        """(id, key) of the issue carrying our id's label, or None: a create that may have gone through.

        An issue of the wrong shape (not an object, ``fields`` or ``labels`` not what Jira sends) raises
        VendorError, so this record is dead-lettered rather than the whole push stopped."""
        label = f"projectx:{internal_id}"
        for page in self.client.search(f'labels = {jql_string(label)} ORDER BY created ASC', ["labels"]):
            for bean in page:
                fields = bean.get("fields") if isinstance(bean, dict) else None
                labels = fields.get("labels") if isinstance(fields, dict) else None
                if not isinstance(bean, dict) or not isinstance(fields, dict | None) or \
                        not isinstance(labels, list | None):
                    raise VendorError(
                        f"Jira answered the search for issue label {label} with {_shape(bean, 'fields', 'labels')} "
                        "where an issue object with a 'labels' list belongs; check JIRA_BASE_URL points at the "
                        "Jira Cloud site", None)
                if label in (labels or []) and bean.get("id") not in (None, ""):
                    return str(bean["id"]), bean.get("key")
        return None

    def in_category(self, vendor_id: str, category: str) -> str | None:
        """The issue's id if its status is in ``category`` already: a transition that may have gone through."""
        bean = _object(self.client.get(f"{API}/issue/{vendor_id}", fields="status"), f"issue {vendor_id}")
        key = ((((bean or {}).get("fields") or {}).get("status") or {}).get("statusCategory") or {}).get("key")
        return vendor_id if key == category else None

    def find_comment(self, vendor_id: str, text: str) -> str | None:
        """The id of the issue's latest comment by the integration account if it says ``text``: a comment
        that may have gone through (each sync's comment names the changes it made, so it differs from the one
        before)."""
        latest = self.latest_comment(vendor_id)
        return str(latest["id"]) if latest is not None and adf_text(latest.get("body")) == text else None

    def find_recent_comment(self, vendor_id: str, text: str) -> str | None:
        """The id of the newest of the integration account's comments (among the issue's 50 newest) that says
        ``text``: an owed change comment posted by a push killed before it noted so, even when this run's reopen
        commented after it. [A later identical change within those 50 would read as posted: each note names its
        before and after values, so that takes the same change undone and made again in between.]"""
        mine = self._mine(vendor_id)
        hit = next((c for c in reversed(mine) if adf_text(c.get("body")) == text), None)
        return str(hit["id"]) if hit is not None else None

    def latest_comment(self, vendor_id: str) -> dict[str, Any] | None:
        """The integration account's latest comment on the issue (among the 50 newest), or None."""
        mine = self._mine(vendor_id)
        return mine[-1] if mine else None

    def _mine(self, vendor_id: str) -> list[dict[str, Any]]:
        """The integration account's comments among the issue's 50 newest, oldest first."""
        listed = _object(self.client.get(f"{API}/issue/{vendor_id}/comment", orderBy="-created", maxResults=50),
                         f"the comments of issue {vendor_id}")
        comments = listed.get("comments") or []
        if not isinstance(comments, list) or not all(isinstance(c, dict) for c in comments):
            raise VendorError(f"Jira answered the comments of issue {vendor_id} with {_shape(listed, 'comments')} "
                              "where a list of comment objects belongs", None)
        mine = [c for c in comments if isinstance(c.get("author"), dict) and c["author"].get("accountId") == self.me()]
        # oldest first by time, then by id (Jira's ids grow): two comments in the same millisecond came newest first
        # (orderBy=-created), and a sort by time alone kept them so, so "the latest" was the older of the two
        mine.sort(key=lambda c: (str(c.get("created") or ""), _id_order(c.get("id"))))
        return mine

    comment_text = staticmethod(adf_text)

    def transition_to(self, vendor_id: str, category: str) -> str:
        """The id of an available transition into a status of ``category`` (workflows differ per project)."""
        from pipelines.common.http import VendorError

        items = self.client.get(f"{API}/issue/{vendor_id}/transitions").get("transitions") or []
        for t in items:
            if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == category and t.get("isAvailable", True):
                return str(t["id"])
        raise VendorError(f"Jira issue {vendor_id} offers no transition into a '{category}' status: add one to "
                          "the project's workflow, or move the issue by hand", 409)

    def account(self, email: str | None) -> str | None:
        """Jira account id of the owner's e-mail, or None: never a guess between candidates.

        ``user/search?query=<the whole address>`` answers the users whose e-mail address, display name or
        a word of it starts with the query. Jira Cloud applies profile visibility to the answer: usually
        ``emailAddress`` is left out (or null), yet the query still matches the hidden address.

        1. One user showing exactly this address (any case) is the owner, whatever else came back.
        2. Else the answer must be exactly one user, active, of accountType "atlassian", with no address
           shown. A display name starting with a whole e-mail address is implausible, so that user's
           hidden address starts with the owner's; it may still be longer (owner a@x.co, user a@x.com or
           a@x.com.au). So any second user of any kind (hidden, inactive, an app, one showing a longer
           address) makes the answer ambiguous and nobody is chosen. What remains: an owner unknown to
           Jira while exactly one hidden address extends theirs; only Jira's e-mail API (approved apps
           only) could rule that out.

        Cached per writer (one search per owner); owners matched by rule 2 are kept in ``_by_search`` so
        each issue assigned that way is logged."""
        if not email:
            return None
        if email not in self._accounts:
            users = self.client.get(f"{API}/user/search", query=email) or []
            if not isinstance(users, list) or not all(isinstance(u, dict) for u in users):
                raise VendorError(f"Jira answered the user search for an owner's e-mail with {_shape(users)} "
                                  "where a list of user objects belongs; check JIRA_BASE_URL points at the "
                                  "Jira Cloud site", None)
            shown = [u for u in users if str(u.get("emailAddress") or "").lower() == email.lower()]
            hidden = [u for u in users if not u.get("emailAddress") and u.get("active") is True
                      and u.get("accountType") == "atlassian"]
            found = shown if shown else hidden if len(users) == 1 else []
            self._accounts[email] = str(found[0]["accountId"]) if len(found) == 1 and found[0].get("accountId") \
                else None
            if not shown and self._accounts[email]:
                self._by_search.add(email)
        return self._accounts[email]


def _object(answer: Any, what: str) -> dict[str, Any]:
    """A look-up's answer that must be a JSON object (None reads as empty), else a VendorError for the record. An
    object carrying Jira's error body (a 200 from a gateway or a plugin) is none: read as "no comment there" or
    "not in that status", the comment or the transition whose answer was lost was sent a second time."""
    from assets.reverse_sync.writes import error_in
    from pipelines.common.http import vendor_text

    said = error_in(answer)
    if said is not None:  # masked: a gateway may echo a credential; one line
        raise VendorError(f"Jira answered {what} 200 with an error ({vendor_text(said, None, 200)}) instead of it; "
                          "looked up again by the next run", None)
    if answer is None or isinstance(answer, dict):
        return answer or {}
    raise VendorError(f"Jira answered {what} with {_shape(answer)} where an object belongs; check "
                      "JIRA_BASE_URL points at the Jira Cloud site", None)


def _shape(value: Any, *keys: str) -> str:
    """What came back instead of the expected object, named by JSON type down ``keys`` (no values: they may
    carry personal data)."""
    path = []
    for key in keys:
        if not isinstance(value, dict) or value.get(key) is None:
            break
        value, path = value[key], [*path, key]
    kind = {dict: "object", list: "array", str: "string", bool: "boolean", int: "number",
            float: "number"}.get(type(value), type(value).__name__)
    return f"a JSON {kind}" + (f" as '{'.'.join(path)}'" if path else "")


def _id_order(value: Any) -> tuple[int, int, str]:
    """A comment id's place among others: numeric ids by number, anything else after them, as text."""
    text = str(value or "")
    return (0, int(text), "") if text.isdigit() and len(text) < 20 else (1, 0, text)
