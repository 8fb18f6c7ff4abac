"""The `properties` and `historyMetadata` members of an issue write body (the spec's IssueUpdateDetails), as
POST `/issue` (and each `/issue/bulk` element), PUT `/issue/{key}` and POST `/issue/{key}/transitions` read them.

- `properties`: a list of EntityProperty `{"key","value"}`; each one is set on the issue as PUT
  `/issue/{key}/properties/{property}` would (`routes_social`'s table), after the fields are written. 400 when an
  element is not an object with a non-empty `key` of at most 255 characters and a `value` [unc: wording].
- `historyMetadata`: an object kept on the changelog entry the write makes and rendered back as that entry's
  `historyMetadata` (GET `/issue/{key}/changelog`, `expand=changelog`, and the `changelog` of the
  `jira:issue_updated` webhook [unc: Jira's webhook docs show only `{"id","items"}`]). The spec's HistoryMetadata
  allows further members, so it is kept as given. A write
  that changes no field makes no entry, so its metadata is dropped. 400 when it is not an object [unc: wording].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.errors import fail

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def body_properties(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The (key, value) pairs of the body's `properties`, checked before anything is written."""
    given = body.get("properties")
    if given in (None, []):
        return []
    if not isinstance(given, list):
        raise fail(400, "The issue properties must be a list of objects with a key and a value.")  # [unc]
    out = []
    for prop in given:
        key = prop.get("key") if isinstance(prop, dict) else None
        if not isinstance(key, str) or not key.strip() or "value" not in prop:
            raise fail(400, "Each issue property needs a key and a value.")  # [unc: wording]
        if len(key) > 255:
            raise fail(400, "The property key is too long. Maximum length is 255 characters.")
        out.append((key, prop["value"]))
    return out


def history_metadata(body: dict[str, Any]) -> dict[str, Any] | None:
    """The body's `historyMetadata` object, or None when it has none."""
    meta = body.get("historyMetadata")
    if meta is None:
        return None
    if not isinstance(meta, dict):
        raise fail(400, "historyMetadata must be an object.")  # [unc: wording]
    return meta or None


def set_properties(sb: JiraSandbox, issue_id: int, props: list[tuple[str, Any]]) -> None:
    """Store the issue's entity properties (created or replaced)."""
    if not props:
        return
    with sb.store.lock:
        table = sb.store.work.setdefault("properties", {}).setdefault(issue_id, {})
        for key, value in props:
            table[key] = value
