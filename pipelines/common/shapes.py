"""Checking the JSON shape of the parts of a vendor record a row builder reads: objects where it reads keys,
arrays where it iterates (OneTrust's exports and records, Jira's comment, changelog and attachment lists).

A part of the wrong shape (``"createdBy": "bob"``, ``"comments": 5``) made a row builder raise on every run
(a crash loop) or, where it guarded with ``isinstance``, store ``[]`` or NULL in silence.
:func:`shape_problem` names the part and what came instead, so the record is quarantined with that reason
and read again until the vendor sends it right. ``null`` or a missing part is not a problem.

A shape is a dict (an object; its keys' shapes, unlisted keys are not checked), a one-item list (an array
of that shape) or ``ANY``.
"""

from __future__ import annotations

import json
from typing import Any

from pipelines.common.validation import json_type

ANY = None


def shape_problem(value: Any, shape: Any, path: str = "") -> str | None:
    """Why ``value`` does not have ``shape`` (the first part that does not, by its path), or None."""
    if value is None or shape is ANY:
        return None
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return _wrong(path, "an object", value)
        for key, inner in shape.items():
            problem = shape_problem(value.get(key), inner, f"{path}.{key}" if path else key)
            if problem:
                return problem
        return None
    if not isinstance(value, list):
        return _wrong(path, "an array", value)
    for n, item in enumerate(value):
        problem = shape_problem(item, shape[0], f"{path}[{n}]")
        if problem:
            return problem
    return None


def _wrong(path: str, wanted: str, value: Any) -> str:
    shown = "" if isinstance(value, dict | list) else " " + json.dumps(value, default=str, ensure_ascii=True)
    shown = shown[:60] + "..." if len(shown) > 60 else shown
    return f"{path or 'record'}: expected {wanted}, got {json_type(value)}{shown}"
