"""pytest fixtures for the Slack sandbox (import with `from sandbox.slack.fixtures import *`).

- `make_slack_sandbox(**kwargs)`: start a `SlackSandbox` with any constructor options; all are stopped
  at teardown.
- `slack_sandbox`: a started default sandbox (seed 42; default webhook posts to #alerts-servicenow).
- `slack_client`: a `slack_sdk.WebClient` bound to `slack_sandbox` with its bot token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sandbox.core.testing import started_sandboxes
from sandbox.slack.app import SlackSandbox

__all__ = ["make_slack_sandbox", "slack_client", "slack_sandbox"]


@pytest.fixture
def make_slack_sandbox() -> Iterator[Callable[..., SlackSandbox]]:
    yield from started_sandboxes(SlackSandbox)


@pytest.fixture
def slack_sandbox(make_slack_sandbox: Callable[..., SlackSandbox]) -> SlackSandbox:
    return make_slack_sandbox()


@pytest.fixture
def slack_client(slack_sandbox: SlackSandbox) -> Any:
    from slack_sdk import WebClient

    return WebClient(token=slack_sandbox.bot_token, base_url=slack_sandbox.url + "/api/")
