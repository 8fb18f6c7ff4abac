"""What a Table API answer may look like besides the plain shape the sync asks for.

The sync asks for raw values with reference links left out (``sysparm_display_value=false``,
``sysparm_exclude_reference_link=true``): every value a string. An instance, or a proxy or gateway in
front of it, that drops those parameters answers in the documented default or ``all`` shapes instead
(vendor-apis.md §1.4): a reference as ``{"link": ..., "value": <sys_id>}``, any field as
``{"display_value": ..., "value": ...}``. :func:`raw_values` takes the raw ``value`` from such an object
(the very value asked for: UTC times, sys_ids, choice values); an object without a string ``value``
(``sysparm_display_value=true``: display text only, in the user's time zone and format) is left as it
is, and validation quarantines its record naming the field. Before, every record with a non-empty
reference was quarantined ("expected a string, got dict"): the sync succeeded and loaded nothing.

:func:`error_of` reads ServiceNow's error object (``{"error": {"message", "detail"}, "status":
"failure"}``) from a body that carries no ``result`` list, also when it came with status 200 (a
transaction quota's "Transaction cancelled: maximum execution time exceeded" [unc: status]).
"""

from __future__ import annotations

from typing import Any

from pipelines.common.http import vendor_text

_WRAPPER_KEYS = frozenset({"value", "display_value", "link"})


def raw_values(rows: list[Any]) -> list[Any]:
    """``rows`` with every ``{"value": str, "link"/"display_value": ...}`` member replaced by its value."""
    out = []
    for row in rows:
        if isinstance(row, dict) and any(isinstance(v, dict) for v in row.values()):
            # the same type: a record of a page the strict parser refused stays one (validation looks into it)
            row = type(row)((k, _raw(v)) for k, v in row.items())
        out.append(row)
    return out


def _raw(value: Any) -> Any:
    if (isinstance(value, dict) and "value" in value and value.keys() <= _WRAPPER_KEYS
            and isinstance(value["value"], str | None)
            and all(isinstance(value.get(k), str | None) for k in ("link", "display_value"))):
        return value["value"]
    return value


def error_of(body: Any, response) -> str | None:
    """The vendor's error message (and detail) in ``body``, fit for an error text; None if it has none."""
    if not isinstance(body, dict) or "error" not in body or isinstance(body.get("result"), list):
        return None
    err = body["error"]
    if isinstance(err, dict):
        message, detail = err.get("message"), err.get("detail")
        text = vendor_text(str(message if message is not None else err), response, 300)
        return text + (f" ({vendor_text(str(detail), response, 300)})" if detail else "")
    return vendor_text(str(err), response, 300)
