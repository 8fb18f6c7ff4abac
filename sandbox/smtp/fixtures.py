"""pytest fixtures for the SMTP sandbox (import with `from sandbox.smtp.fixtures import *`).

- `make_smtp_sandbox(**kwargs)`: start an `SmtpSandbox` with any options; all are stopped at teardown.
- `smtp_sandbox`: a started sandbox requiring AUTH as `SMTP_USERNAME` / `SMTP_PASSWORD`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.smtp.server import SmtpSandbox

__all__ = ["SMTP_PASSWORD", "SMTP_USERNAME", "make_smtp_sandbox", "smtp_sandbox"]

SMTP_USERNAME = "projectx-mailer"
SMTP_PASSWORD = "sandbox-smtp-password"


@pytest.fixture
def make_smtp_sandbox() -> Iterator[Callable[..., SmtpSandbox]]:
    yield from started_sandboxes(SmtpSandbox)


@pytest.fixture
def smtp_sandbox(make_smtp_sandbox: Callable[..., SmtpSandbox]) -> SmtpSandbox:
    return make_smtp_sandbox(username=SMTP_USERNAME, password=SMTP_PASSWORD)
