"""What the receiver answers a verified Slack interaction, whatever its type.

Slack wants every interaction acknowledged with a 200 within 3 seconds, and does not send it again [unc]:
a modal submitted or closed, a global or message shortcut, as much as a button click. Only
``block_actions`` has a handler (:mod:`webhooks.slack.actions`); the other types the contract takes are
stored like it, counted here (``webhook_slack_interactions_unhandled_total{type}``) and finished by
:func:`webhooks.handlers.slack_interaction_unhandled` as ``ignored`` (kept in the inbox and audited under
their type, the reason in ``last_error``), never retried into the dead letters (an operator would see
dead letters for harmless clicks).

A ``view_submission`` is answered with an empty body: Slack closes the modal on that, while any body
that is not a ``response_action`` JSON shows the person an error and keeps the modal open [unc; the Slack
sandbox does the same]. The other types are answered "accepted"/"duplicate" as every endpoint is (Slack
ignores that body for them [unc]).
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter
from starlette.responses import PlainTextResponse, Response

from webhooks import contracts
from webhooks.handlers import acts_on

# the contract's list of types: the label takes no value a request chose
TYPES = tuple(contracts.validator("slack.interaction").schema["properties"]["type"]["enum"])
UNHANDLED = Counter("webhook_slack_interactions_unhandled_total", "Slack interactions acknowledged and kept in the "
                    "inbox that nothing in Project X acts on, by interaction type.", ["type"])


def interaction_answer(payload: dict[str, Any], new: bool) -> Response:
    """The 200 for a verified interaction, stored (``new``) or already in the inbox."""
    kind = payload["type"]
    if new and not acts_on("slack", f"interaction:{kind}"):
        UNHANDLED.labels(kind if kind in TYPES else "other").inc()
    if kind == "view_submission":
        return Response(status_code=200)
    return PlainTextResponse("accepted" if new else "duplicate", 200)
