"""User-identifying query parameters under Cloud's GDPR strict mode, shared by the user lookups.

- `username` / `key` (`userKey`) alone: 400 "The query parameter 'username' is not supported in GDPR strict mode."
  (Cloud's wording, as pycontribs/jira#2350 and AtlassianPS/JiraPS#465 quote it for `/user/search` and `/user`).
- beside `accountId`: 400 "'accountId' must be the only user identifying query parameter in GDPR strict mode."
  (Cloud's wording, as palashkulsh/jira-cmd#147 quotes it).
- `query` with `accountId`: 400, as the spec lists for `/user/search` and the assignable searches
  ([unc] wording, the one `/user/viewissue/search` already gives).
- `/user/search` with none of `query`, `accountId`, `property`: 400 (the spec); [unc] the wording is the one
  JiraPS#465 quotes from Cloud for an empty `username`.
- `/user/search?property=<key>.<path>=<value>`: users whose property `<key>` holds `<value>` at `<path>` (the
  spec's `thepropertykey.something.nested=1`); one without `=` or a key is 400 ([unc] wording).
"""

from __future__ import annotations

from sandbox.jira.call import Call
from sandbox.jira.errors import fail

LEGACY = ("username", "key", "userKey")


def strict_identity(c: Call, legacy: tuple[str, ...] = LEGACY) -> None:
    """400 when a request names a user the way GDPR strict mode no longer takes."""
    given = [name for name in legacy if c.q(name)]
    if not given:
        return
    if c.q("accountId"):
        raise fail(400, "'accountId' must be the only user identifying query parameter in GDPR strict mode.")
    raise fail(400, f"The query parameter '{given[0]}' is not supported in GDPR strict mode.")


def one_of_query_or_account(c: Call) -> None:
    if c.q("query") and c.q("accountId"):
        raise fail(400, "The query parameters 'query' and 'accountId' can not be used together.")


def property_filter(c: Call) -> tuple[str, str, str] | None:
    """`(key, ".path", value)` of `?property=`, None when absent; 400 when it cannot be read."""
    raw = c.q("property")
    if raw is None:
        return None
    left, eq, value = raw.partition("=")
    key, _dot, path = left.partition(".")
    if not eq or not key.strip():
        raise fail(400, f"The property query '{raw[:100]}' is not valid.")  # [unc] wording
    return key.strip(), "." + path if path else "", value
