"""Per-request context handed to Jira route handlers: caller, API version, base URL, renderer, params."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from sandbox.core.http import Request
from sandbox.core.numbers import ascii_int
from sandbox.jira.errors import fail
from sandbox.jira.render import Renderer

API = r"(?:/ex/jira/(?P<cloud>[^/]+))?/rest/api/(?P<ver>2|3|latest)"
AGILE = r"(?:/ex/jira/(?P<cloud>[^/]+))?/rest/agile/1\.0"


@dataclass
class Call:
    req: Request
    user: str  # accountId of the caller
    version: str  # "2" or "3"
    base: str  # site root as the client addressed it (site URL or .../ex/jira/{cloudId})
    r: Renderer

    @property
    def p(self) -> dict[str, str]:
        """Path parameters, percent-decoded as Jersey's @PathParam reads them (`GET /status/To%20Do` names the
        status "To Do")."""
        return {k: unquote(v) if "%" in v else v for k, v in self.req.params.items()}

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.req.query.get(name, default)

    def qbool(self, name: str) -> bool | None:
        """A boolean query parameter as Jira's JAX-RS reads it: "true" in any case (Python clients send
        "True"); None when absent."""
        raw = self.req.query.get(name)
        return None if raw is None else raw.strip().lower() == "true"

    def qlist(self, name: str) -> list[str]:
        return [v for k, v in self.req.query_pairs if k == name]

    def qint(self, name: str, default: int, lo: int = 0, hi: int = 1 << 31) -> int:
        raw = self.req.query.get(name)
        if raw in (None, ""):
            return default
        # ASCII digits with Java's optional sign, not int(): it read '٣' as 3 and took ' 3' and '3_000' [round 27]
        # [unc] Java's Integer.parseInt takes other scripts' decimal digits too; the sandbox refuses them
        value = ascii_int(raw, cap=2**63, signed=True)
        if value is None:
            raise fail(400, f"The '{name}' parameter must be an integer.")
        return max(lo, min(hi, value))

    def body(self) -> Any:
        try:
            return self.req.json()
        except RecursionError:  # nesting past the parser's depth (was a 500) [unc: Jackson's wording]
            raise fail(400, "Unexpected character in request body: the request body nests too deeply.") from None
        except ValueError:
            raise fail(400, "Unexpected character in request body: the request body is not valid JSON.") from None

    def obj(self) -> dict[str, Any]:
        data = self.body()
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise fail(400, "Can not deserialize instance of object out of non-object token")
        return data


def paged(values: list[Any], start: int, limit: int, self_url: str | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Jira's generic page: {"self"?, "maxResults","startAt","total","isLast","values"}."""
    chunk = values[start:start + limit]
    out: dict[str, Any] = {"maxResults": limit, "startAt": start, "total": len(values),
                           "isLast": start + limit >= len(values), "values": chunk}
    if self_url:
        out["self"] = self_url
    out.update(extra or {})
    return out
