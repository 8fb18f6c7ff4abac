"""pytest fixtures for the Jira emulator (import them with `from sandbox.jira.fixtures import *`).

- `jira_sandbox` (session): plain HTTP, free port, size 200, seed 42. Shared: read from it; for writes,
  faults, TLS or OAuth lifetimes use the factory.
- `make_jira_sandbox(**kwargs)` (function): starts `JiraSandbox(**kwargs)` (defaults: free port, size 200)
  and stops every instance it made at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.jira import JiraSandbox

__all__ = ["jira_sandbox", "make_jira_sandbox"]


@pytest.fixture(scope="session")
def jira_sandbox() -> Iterator[JiraSandbox]:
    """A running Jira sandbox for the whole session (http, size 200, seed 42)."""
    with JiraSandbox(port=0, size=200, seed=42) as sb:
        yield sb


@pytest.fixture
def make_jira_sandbox() -> Iterator[Callable[..., JiraSandbox]]:
    """Factory for function-scoped Jira sandboxes, stopped at teardown."""
    yield from started_sandboxes(JiraSandbox, port=0, size=200)
