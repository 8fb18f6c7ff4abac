"""Shared drive themes, as Drive v3 has them: ``about.driveThemes`` (and the deprecated ``teamDriveThemes``)
lists them (``id``, ``backgroundImageLink``, ``colorRgb``); a drive's ``themeId`` (drives.create / update)
sets its ``colorRgb`` and ``backgroundImageLink`` from the theme and is a write-only field, "it can only be
set on requests that don't set colorRgb or backgroundImageFile"; a drive created without a theme or colour
gets a theme chosen for it (Drive: at random; here from the drive's id).

[unc] the theme ids and colours (a few of Drive's, as its clients have shown them) and the answer to an
unknown ``themeId`` or a ``themeId`` with ``colorRgb`` (here 400 invalid on ``drive.themeId``)."""

from __future__ import annotations

import zlib
from typing import Any

from sandbox.gdrive.errors import DriveError

THEMES = {"abacus": "#2b65b6", "blueprints": "#4986e7", "bok_choy": "#16a765", "clouds": "#4986e7",
          "coffee": "#8f6e52", "cubes": "#ac725e", "desk": "#c2c2c2", "flowers": "#c04678"}


def link(theme: str) -> str:
    return f"https://ssl.gstatic.com/team_drive_themes/{theme}_background.jpg"


def about_themes() -> list[dict[str, str]]:
    return [{"id": theme, "backgroundImageLink": link(theme), "colorRgb": color} for theme, color in THEMES.items()]


def check(body: dict[str, Any]) -> None:
    """400 for a ``themeId`` Drive would not take, before anything is written."""
    theme = body.get("themeId")
    if theme is None:
        return
    if theme not in THEMES:
        raise DriveError(400, "invalid", f"Invalid value for: drive.themeId: {theme}", location="drive.themeId")
    if body.get("colorRgb") or body.get("backgroundImageFile"):
        raise DriveError(400, "invalid", "themeId cannot be set together with colorRgb or backgroundImageFile.",
                         location="drive.themeId")


def apply(drive: Any, body: dict[str, Any], creating: bool) -> None:
    """Set ``drive``'s colour and background from ``body`` (checked), or from a theme picked for a new drive."""
    theme = body.get("themeId")
    if theme is None and creating and not body.get("colorRgb"):
        theme = list(THEMES)[zlib.crc32(drive.id.encode()) % len(THEMES)]
    if theme is not None:
        drive.color_rgb, drive.background_link = THEMES[theme], link(theme)
