"""pytest fixtures for the vendor emulators.

Register with `pytest_plugins = ["sandbox.pytest_plugin"]` in the root conftest.

- `servicenow_sandbox` (session): plain HTTP, free port, size 200, seed 42. Shared by every test:
  read from it; for writes, faults or TLS use the factory.
- `make_servicenow_sandbox(**kwargs)` (function): starts a `ServiceNowSandbox(**kwargs)` (defaults: free
  port, size 200) and stops every instance it made at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.servicenow import ServiceNowSandbox


@pytest.fixture(scope="session")
def servicenow_sandbox() -> Iterator[ServiceNowSandbox]:
    """A running ServiceNow sandbox for the whole session (http, size 200, seed 42)."""
    with ServiceNowSandbox(port=0, size=200, seed=42) as sb:
        yield sb


@pytest.fixture
def make_servicenow_sandbox() -> Iterator[Callable[..., ServiceNowSandbox]]:
    """Factory for function-scoped ServiceNow sandboxes, stopped at teardown."""
    yield from started_sandboxes(ServiceNowSandbox, port=0, size=200)
