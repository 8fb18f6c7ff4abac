"""Slack emulator: Web API (chat.postMessage, auth.test, conversations.*, users.*) and incoming
webhooks, keeping every message for tests.

    from sandbox.slack import SlackSandbox
    with SlackSandbox() as sb:
        client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
        client.chat_postMessage(channel="#alerts-servicenow", text="hi")
        sb.messages("alerts-servicenow")
"""

from sandbox.slack.app import SlackSandbox

__all__ = ["SlackSandbox"]
