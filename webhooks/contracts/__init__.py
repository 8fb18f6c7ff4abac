"""JSON Schema contracts for webhook payloads (spec §5.3), one file per payload type, loaded once.

``validate(name, payload)`` returns None or the first violation as a sentence (its JSON path and
message), which becomes the quarantine reason.

Patterns are matched as JSON Schema means them (ECMA-262), not as Python's ``re`` reads the same text:
``\\d`` is an ASCII digit (Python's matched any Unicode digit: a Jira ``issue.id`` of Arabic-Indic digits
was accepted, then failed its handler ten times into the dead letters) and ``$`` is the end of the string
(Python's also matched before a final newline: ``"<sys_id>\\n"`` passed ``^[0-9a-f]{32}$``). The contracts
use ``$`` only as an end anchor, never escaped or in a character class. A ``date-time`` ends at its last
character the same way.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

HERE = Path(__file__).parent
NAMES = tuple(sorted(p.stem for p in HERE.glob("*.json")))
_END_ANCHOR = re.compile(r"(?<!\\)\$")


@functools.cache
def _ecma(pattern: str) -> re.Pattern[str]:
    return re.compile(_END_ANCHOR.sub(r"\\Z", pattern), re.ASCII)


def _pattern(validator, pattern: str, instance: Any, schema: dict) -> Any:
    if validator.is_type(instance, "string") and not _ecma(pattern).search(instance):
        yield ValidationError(f"{instance[:100]!r} does not match {pattern!r}")


Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})
FORMATS = FormatChecker()
_date_time = FORMATS.checkers["date-time"][0]
FORMATS.checks("date-time")(lambda instance: not (isinstance(instance, str) and "\n" in instance)
                            and _date_time(instance))


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((HERE / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Validator(schema, format_checker=FORMATS)


def _step(part: object) -> str:
    """One step of an error's JSON path, its control characters escaped: a key is any text the sender
    wrote, and a NUL in the quarantine reason failed the row on PostgreSQL (a 503 every retry, the signed
    body never kept)."""
    return json.dumps(part, ensure_ascii=False)[1:-1] if isinstance(part, str) else str(part)


def validate(name: str, payload: Any) -> str | None:
    checker = validator(name)
    if checker.is_valid(payload):  # the common case, without collecting errors
        return None
    error = next(iter(checker.iter_errors(payload)), None)
    if error is None:
        return None
    where = "/".join(_step(p) for p in error.absolute_path) or "(root)"
    return f"contract {name}: at {where}: {error.message[:300]}"
