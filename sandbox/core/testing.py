"""The one pattern every vendor's pytest factory fixture shares: start sandboxes on demand, stop
them all at teardown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


def started_sandboxes(cls: Callable[..., T], **defaults: Any) -> Iterator[Callable[..., T]]:
    """Generator body for a ``make_<vendor>_sandbox`` fixture: yields a factory, then stops what it made."""
    made: list[Any] = []

    def factory(**kwargs: Any) -> T:
        sb = cls(**{**defaults, **kwargs})
        sb.start()
        made.append(sb)
        return sb

    yield factory
    for sb in made:
        sb.stop()
