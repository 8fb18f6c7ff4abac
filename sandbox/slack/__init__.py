"""Slack emulator: Web API (chat.postMessage, auth.test, conversations.*, users.*), incoming
webhooks, interactivity (button clicks, modal submissions and slash commands POSTed to the app,
response_urls) and the Events API, keeping every message for tests.

    from sandbox.slack import SlackSandbox
    with SlackSandbox() as sb:
        client = WebClient(token=sb.bot_token, base_url=sb.url + "/api/")
        client.chat_postMessage(channel="#alerts-servicenow", text="hi")
        sb.messages("alerts-servicenow")
        sb.configure_interactivity("http://127.0.0.1:8080/slack/interactions", signing_secret="...")
        sb.click("alerts-servicenow", ts, "approve", user="amelia.hart")  # the app's answer + the payload
        sb.configure_events("http://127.0.0.1:8080/slack/events", events=["message.channels"])
        sb.post_as_user("general", "hello", user="amelia.hart")  # a signed event_callback to the app
        sb.submit_view(view_id, {"reason": "..."}); sb.run_command("/approve", "task-1", channel="general")
        sb.open_assistant_thread("amelia.hart", "general")  # AI app: assistant_thread_started, a DM thread
        sb.configure_oauth(redirect_urls=["http://127.0.0.1:3000/slack/"])  # /oauth/v2/authorize, oauth.v2.access
        sb.configure_socket_mode(True); sb.new_app_token()  # events over apps.connections.open's WebSocket
"""

from sandbox.slack.app import SlackSandbox

__all__ = ["SlackSandbox"]
