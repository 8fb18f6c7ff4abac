"""Shared drive themes through google-api-python-client: ``about.driveThemes`` was empty, a drive's
``themeId`` was stored and echoed without touching its colour. Drive lists its themes in about, a theme
sets the drive's ``colorRgb`` and ``backgroundImageLink``, ``themeId`` is write-only, a new drive without
one gets a theme, and a theme with a colour or an unknown theme is refused."""

from __future__ import annotations

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive

__all__ = ["drive"]
LOOK = "id,colorRgb,backgroundImageLink,themeId"


def test_drive_themes(drive):
    about = drive.about().get(fields="driveThemes,teamDriveThemes").execute()
    themes = about["driveThemes"]
    assert themes and about["teamDriveThemes"] == themes
    assert all(set(t) == {"id", "backgroundImageLink", "colorRgb"} and t["colorRgb"].startswith("#") for t in themes)
    first, second = themes[0], themes[-1]

    drives = drive.drives()
    themed = drives.create(requestId="theme-1", body={"name": "Audit", "themeId": first["id"]}, fields=LOOK).execute()
    assert themed == {"id": themed["id"], "colorRgb": first["colorRgb"],
                      "backgroundImageLink": first["backgroundImageLink"]}  # no themeId: write-only
    plain = drives.create(requestId="theme-2", body={"name": "Plain"}, fields=LOOK).execute()
    assert (plain["colorRgb"], plain["backgroundImageLink"]) in {(t["colorRgb"], t["backgroundImageLink"])
                                                                 for t in themes}
    changed = drives.update(driveId=themed["id"], body={"themeId": second["id"]}, fields=LOOK).execute()
    assert (changed["colorRgb"], changed["backgroundImageLink"]) == (second["colorRgb"], second["backgroundImageLink"])
    coloured = drives.create(requestId="theme-3", body={"name": "Red", "colorRgb": "#ff0000"}, fields=LOOK).execute()
    assert coloured["colorRgb"] == "#ff0000" and "backgroundImageLink" not in coloured

    for body in ({"name": "Bad", "themeId": "no-such-theme"}, {"name": "Both", "themeId": first["id"],
                                                               "colorRgb": "#00ff00"}):
        status, detail = refused(drives.create(requestId="theme-" + body["name"], body=body))
        assert (status, detail["reason"], detail["location"]) == (400, "invalid", "drive.themeId"), body
    names = sorted(d["name"] for d in drives.list(fields="drives(name)").execute()["drives"])
    assert names == ["Audit", "Plain", "Red"]  # nothing made by the refused calls
