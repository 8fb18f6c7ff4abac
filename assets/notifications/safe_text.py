"""Vendor text made safe for Slack mrkdwn and e-mail: no mentions, no links, no invisible characters.

Titles, summaries, names and URLs in the outbox come from ServiceNow, Jira and OneTrust. Slack reads
``<!channel>``, ``<@U…>``, ``<#C…>`` and ``<url|label>`` in mrkdwn (and in a message's ``text``), so
``&``, ``<`` and ``>`` are always escaped; a URL is linked only when it is http(s) and is
percent-encoded so a ``|`` or ``>`` cannot end the link early. Bidi overrides (a title that displays
``exe.pdf`` backwards), zero-width spaces and the other invisible format characters, tag characters
outside a flag (hidden text), runs of variation selectors, C0/C1 controls, NUL and lone surrogates (which
make the JSON body unencodable) are removed. Limits are Slack's: 3000 characters per section or context text,
counted as UTF-16 code units to be safe; a cut never splits an ``&amp;`` escape.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

SECTION_LIMIT = 3000  # Slack: section / context mrkdwn text
BUTTON_URL_LIMIT = 3000  # Slack: a button's url
# C0 controls but \t and \n, DEL and C1, lone surrogates, and the invisible format characters (Unicode Cf):
# zero-width space, LRM/RLM and the Arabic letter mark, bidi embeddings/overrides/isolates, the soft hyphen
# ("ad\u00admin" shows as "admin"), the Mongolian vowel separator, word joiner and invisible operators, the
# deprecated format controls, BOM, interlinear annotation, shorthand and musical format controls. ZWJ/ZWNJ stay:
# emoji sequences and some scripts need them.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U0001bca0-\U0001bca3"
                        "\U0001d173-\U0001d17a\ud800-\udfff]")
# Tag characters (U+E0000-E007F) show as nothing but spell ASCII a reader such as an AI assistant reads:
# hidden text ("ASCII smuggling"). Kept only in an emoji tag sequence (the flags of England, Scotland, Wales:
# a black flag, tags, a cancel tag); anywhere else removed. A run of variation selectors hides bytes the same
# way (one selector per byte after a visible character): one selector shapes the character before it, a run
# of them is removed.
_TAGS = re.compile("(\U0001f3f4[\U000e0020-\U000e007e]{1,30}\U000e007f)|[\U000e0000-\U000e007f]")
_SELECTOR_RUN = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"  # reserved characters a URL keeps; everything else is percent-encoded


def clean(value: object) -> str:
    """Text without invisible or invalid characters; line breaks kept (as \\n)."""
    text = _INVISIBLE.sub("", ("" if value is None else str(value)).replace("\r\n", "\n").replace("\r", "\n"))
    if text.isascii():
        return text
    return _SELECTOR_RUN.sub("", _TAGS.sub(lambda m: m.group(1) or "", text))


def one_line(value: object) -> str:
    """Clean text on one line (a title, a subject): every run of whitespace becomes one space."""
    return " ".join(clean(value).split())


def mrkdwn(value: object) -> str:
    """Clean text escaped for Slack mrkdwn: shown as typed, never a mention or a link."""
    return clean(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(escaped: str, limit: int = SECTION_LIMIT, ellipsis: str = "…") -> str:
    """Escaped mrkdwn cut to ``limit`` (UTF-16 units) without splitting an ``&…;`` escape."""
    if utf16_len(escaped) <= limit:
        return escaped
    cut = escaped[:limit - len(ellipsis)]
    while cut and utf16_len(cut) > limit - len(ellipsis):
        cut = cut[:-1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + ellipsis


def safe_url(value: object, limit: int = BUTTON_URL_LIMIT) -> str | None:
    """An http(s) URL with a host, percent-encoded so it cannot close a Slack link; None otherwise."""
    raw = clean(value).strip()
    if not raw:
        return None
    url = quote(raw, safe=_URL_SAFE)
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or len(url) > limit:
        return None
    return url


def mrkdwn_link(url: str | None, label_escaped: str) -> str:
    """``<url|label>`` for a safe URL (its ``&`` escaped as Slack asks), else the label alone."""
    if not url:
        return label_escaped
    return f"<{url.replace('&', '&amp;')}|{label_escaped or url.replace('&', '&amp;')}>"
