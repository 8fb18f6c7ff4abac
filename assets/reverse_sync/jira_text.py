"""Text of the Jira remediation issues as Jira takes it (:mod:`assets.reverse_sync.jira`): a summary on one line and
within Jira's length limits, ADF descriptions, the labels Project X owns, and our id's label and its JQL literal."""

from __future__ import annotations

from typing import Any

SUMMARY_LIMIT, TEXT_LIMIT = 255, 32767  # Jira refuses a longer summary (400) or text field (counted in UTF-16)


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units (as Jira counts) ending in an ellipsis, so a field Jira
    would refuse is sent shortened; unchanged when it fits. The same every run, so reruns compare equal."""
    if len(text) <= limit // 2 or len(text.encode("utf-16-le")) // 2 <= limit:
        return text
    out, used = [], 1  # the ellipsis
    for ch in text:
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > limit:
            break
        out.append(ch)
    return "".join(out) + "…"


def one_line(text: str) -> str:
    """A summary (vendor text) on one line, as Jira takes it (400 "... contains newline characters"); one without a
    line break is left as it was, so its hash stays the same."""
    lines = (text or "").splitlines()
    one = len(lines) <= 1 and not (text or "").endswith(("\n", "\r"))
    return text if one else " ".join(part.strip() for part in lines if part.strip())


LABEL_LIMIT = 255  # Jira refuses a longer label (400)


def label_problem(internal_id: str) -> str | None:
    """Why ``projectx:<internal_id>`` cannot be the issue's label (Jira refuses whitespace and labels over 255
    characters; the mart joins labels with commas, so a comma splits it), else None. Without that label the issue
    is found by no later run: a create whose answer is unclear would make it again and again."""
    label = f"projectx:{internal_id}"
    why = ("holds whitespace, which Jira refuses in a label" if any(ch.isspace() for ch in internal_id)
           else "holds a comma, which splits the mart's comma-joined labels" if "," in internal_id
           else f"is {len(label)} characters long, over Jira's {LABEL_LIMIT} for a label"
           if len(label) > LABEL_LIMIT else None)
    if why is None:
        return None
    return (f"the Jira issue for {internal_id[:80]!r} was not created: its label {label[:80]!r} {why}, and that label "
            "is how every later push finds the issue (without it a retried create could make a second one). Give "
            "the task an id without whitespace or commas, at most "
            f"{LABEL_LIMIT - len('projectx:')} characters, in outbound.jira_remediation_issues")


def jql_string(value: str) -> str:
    """``value`` as a JQL string literal: in double quotes, a quote or backslash in it escaped, so an id of ours
    holding one is searched for as it is (not a syntax error, nor another clause of the query)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def adf(text: str) -> dict[str, Any]:
    """Plain text as an Atlassian Document (one paragraph per line)."""
    lines = [line for line in (text or "").split("\n")]
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": line}] if line else []} for line in lines]}


def managed_labels(labels: Any) -> str:
    """The labels Project X owns on an issue, sorted and comma-joined (people may add their own)."""
    items = labels.split(",") if isinstance(labels, str) else labels if isinstance(labels, list) else []
    items = [x for x in items if isinstance(x, str)]  # a label that is no string is none of ours
    return ",".join(sorted({x.strip() for x in items if x.strip() == "projectx" or
                            x.strip().startswith(("projectx:", "control:"))}))
