"""Drive's spaces: ``drive`` (My Drive and shared drives) and ``appDataFolder``, the application data
folder each user has for an app's own files (hidden from the user's Drive).

- ``appDataFolder`` is an alias of the caller's application data folder wherever a folder id goes
  (``parents`` on create, ``addParents``/``removeParents``, ``'appDataFolder' in parents``,
  ``files.get(fileId='appDataFolder')``), as ``root`` is of My Drive's root (``alias``);
- files under it are in the ``appDataFolder`` space (``spaces: ["appDataFolder"]``) and ``files.list``
  lists them only with ``spaces=appDataFolder``; the default ``spaces=drive`` leaves them out. A value
  that is not a space is 400 invalid on ``spaces`` (Drive's reason; message guessed).
- ``changes.list(restrictToMyDrive=true)`` leaves out changes to files outside the caller's My Drive
  hierarchy (shared files not under their root, app data).
- Not modelled: the ``drive.appdata`` scope (the token's other scopes decide, see ``auth.py``), the
  ``photos`` space (accepted, empty)."""

from __future__ import annotations

import hashlib

from sandbox.core.http import Request
from sandbox.gdrive.errors import DriveError
from sandbox.gdrive.store import DriveFile, DriveStore, root_id

APPDATA = "appDataFolder"
SPACES = ("drive", APPDATA, "photos")


def appdata_id(who: str) -> str:
    """The id of ``who``'s application data folder (shaped as Drive's folder ids)."""
    return "1" + hashlib.sha256(("appdata:" + who.lower()).encode()).hexdigest()[:32]


def alias(folder: str, who: str) -> str:
    """``root`` and ``appDataFolder`` as the caller's folder ids; any other id as it is."""
    return root_id(who) if folder == "root" else appdata_id(who) if folder == APPDATA else folder


def _reaches(store: DriveStore, f: DriveFile, folder: str) -> bool:
    seen, todo = set(), list(f.parents)
    while todo:
        parent = todo.pop()
        if parent == folder:
            return True
        if parent in store.files and parent not in seen:
            seen.add(parent)
            todo.extend(store.files[parent].parents)
    return False


def space_of(store: DriveStore, f: DriveFile) -> str:
    """``appDataFolder`` when ``f``'s parent chain reaches its owner's application data folder."""
    return APPDATA if _reaches(store, f, appdata_id(f.owner)) else "drive"


def in_my_drive(store: DriveStore, f: DriveFile, who: str) -> bool:
    """Whether ``f`` is in ``who``'s My Drive hierarchy (changes.list ``restrictToMyDrive=true``): under their
    root, not a file shared with them from someone else's folders."""
    return _reaches(store, f, root_id(who))


def wanted_spaces(req: Request) -> set[str]:
    asked = {s.strip() for s in (req.query.get("spaces") or "drive").split(",") if s.strip()}
    bad = sorted(asked - set(SPACES))
    if bad or not asked:
        raise DriveError(400, "invalid", f"Invalid Value: spaces {','.join(bad)!r}", location="spaces")
    return asked
