"""Classification by the rules in the ``evidence_classification_rules`` seed (users edit it).

Every rule whose pattern matches adds its controls; the matching rule with the lowest priority
names the evidence class; no match leaves ``document`` with no controls. Rules are read from the
seed CSV at ingest time (``PROJECTX_EVIDENCE_RULES`` overrides the path), so an edit takes effect
on the next file without a deploy.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_RULES = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "evidence_classification_rules.csv"
MATCH_ON = ("text", "filename", "mime_type", "tag", "source")


@dataclass(frozen=True)
class Rule:
    rule_id: str
    priority: int
    match_on: str
    pattern: re.Pattern
    evidence_class: str
    control_ids: tuple[str, ...]


@dataclass(frozen=True)
class Classification:
    evidence_class: str
    control_ids: tuple[str, ...]
    rule_ids: tuple[str, ...]


def load_rules(path: str | os.PathLike | None = None) -> list[Rule]:
    source = Path(path or os.environ.get("PROJECTX_EVIDENCE_RULES") or DEFAULT_RULES)
    rules = []
    with source.open(newline="", encoding="utf-8") as fh:
        for n, row in enumerate(csv.DictReader(fh), start=2):
            if row["match_on"] not in MATCH_ON:
                raise ValueError(f"{source}:{n}: match_on {row['match_on']!r} is not one of {', '.join(MATCH_ON)}")
            try:
                pattern = re.compile(row["pattern"], re.IGNORECASE)
            except re.error as exc:
                raise ValueError(f"{source}:{n}: pattern {row['pattern']!r} is not a regular expression "
                                 f"({exc}): fix rule {row['rule_id']}") from None
            rules.append(Rule(row["rule_id"], int(row["priority"]), row["match_on"], pattern,
                              row["evidence_class"], tuple((row.get("control_ids") or "").split())))
    return sorted(rules, key=lambda r: (r.priority, r.rule_id))


def classify(metadata: Mapping[str, Any], filename: str, source: str, tags: Iterable[str],
             rules: list[Rule]) -> Classification:
    subjects = {
        "text": " ".join(str(metadata.get(k) or "") for k in ("text_excerpt", "email_subject")),
        "filename": filename or "",
        "mime_type": str(metadata.get("mime_type") or ""),
        "source": source or "",
    }
    tag_list = list(tags)
    matched = []
    for rule in rules:
        values = tag_list if rule.match_on == "tag" else [subjects[rule.match_on]]
        if any(rule.pattern.search(v) for v in values):
            matched.append(rule)
    if not matched:
        return Classification("document", (), ())
    controls = tuple(dict.fromkeys(c for r in matched for c in r.control_ids))
    return Classification(matched[0].evidence_class, controls, tuple(r.rule_id for r in matched))
