"""The images behind the icon and avatar URLs the emulator hands out (round 33: every one of them was a 404).

- `GET /rest/api/{2,3}/universal_avatar/view/type/{issuetype|project|priority}/avatar/{id}` (an issue type's
  `iconUrl`, `/project/{key}/avatars` urls) and `.../type/{type}` (the default avatar): anonymous, as the spec
  says; `format=png|svg` (SVG when none is asked for [unc]), `size` xsmall|small|medium|large|xlarge (16, 24,
  32, 48, 96 px; anything else is the spec's 400 [unc: wording]). Any numeric id is served [unc: Cloud answers
  404 for an avatar it does not hold].
- Site images (no auth, as Jira's static resources): `/images/icons/priorities/{name}.svg` (priority
  `iconUrl`), `/images/icons/statuses/{name}.png` (status `iconUrl`), `/images/icons/issuetypes/{name}.svg`,
  and the avatar redirects' targets `/secure/useravatar` and `/secure/projectavatar` (PNG, `size` as above or
  a number of pixels) [unc: Cloud sends user avatars to its avatar CDN].
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandbox.core.http import Response
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.routes_media import png

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

SIZES = {"xsmall": 16, "small": 24, "medium": 32, "large": 48, "xlarge": 96}
_CACHE = "public, max-age=86400"  # [unc] Jira's static resources are cacheable


def svg(px: int, colour: str = "#8993A4") -> bytes:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{px}" height="{px}" viewBox="0 0 16 16">'
            f'<rect width="16" height="16" rx="2" fill="{colour}"/></svg>').encode()


def _pixels(raw: str | None, default: int = 48, strict: bool = True) -> int:
    if raw is None or raw == "":
        return default
    if raw in SIZES:
        return SIZES[raw]
    if not strict and is_id(raw) and 0 < int(raw) <= 400:
        return int(raw)
    if strict:
        raise fail(400, f"Invalid avatar size: {raw}")  # [unc] wording
    return default


def image(fmt: str, px: int) -> Response:
    if fmt == "svg":
        return Response(status=200, body=svg(px), content_type="image/svg+xml",
                        headers=[("Cache-Control", _CACHE)])
    return Response(status=200, body=png(px, px), content_type="image/png", headers=[("Cache-Control", _CACHE)])


def register(sb: JiraSandbox) -> None:
    def avatar(c: Call) -> Response:
        fmt = c.q("format") or "svg"
        if fmt not in ("png", "svg"):
            raise fail(400, f"Invalid avatar format: {fmt}")  # [unc] wording
        return image(fmt, _pixels(c.q("size")))

    def site_image(c: Call) -> Response:
        return image("svg" if c.p["ext"] == "svg" else "png", _pixels(c.q("size"), 16, strict=False))

    def site_avatar(c: Call) -> Response:
        return image("png", _pixels(c.q("size"), 48, strict=False))

    kinds = r"(?P<kind>issuetype|project|priority)"
    sb.route("GET", rf"/universal_avatar/view/type/{kinds}/avatar/(?P<id>\d+)", avatar, anonymous=True)
    sb.route("GET", rf"/universal_avatar/view/type/{kinds}", avatar, anonymous=True)
    sb.route("GET", r"/images/icons/(?:priorities|statuses|issuetypes)/[A-Za-z0-9_.-]+\.(?P<ext>svg|png)",
             site_image, prefix="none", anonymous=True)
    sb.route("GET", r"/secure/(?:user|project)avatar", site_avatar, prefix="none", anonymous=True)
