"""JSON Schema contracts for webhook payloads (spec §5.3), one file per payload type, loaded once.

``validate(name, payload)`` returns None or the first violation as a sentence (its JSON path and
message), which becomes the quarantine reason.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

HERE = Path(__file__).parent
NAMES = tuple(sorted(p.stem for p in HERE.glob("*.json")))


@functools.cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((HERE / f"{name}.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def validate(name: str, payload: Any) -> str | None:
    checker = validator(name)
    if checker.is_valid(payload):  # the common case, without collecting errors
        return None
    error = next(iter(checker.iter_errors(payload)), None)
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"contract {name}: at {where}: {error.message[:300]}"
