"""What the Slack sandbox does to the app under test, as Slack would (a mixin of `SlackSandbox`): people
clicking buttons, submitting modals, running slash commands, posting, reacting, opening the App Home and
the AI assistant container, each delivered to the app's Request URLs (`sandbox.slack.interactivity`,
`submissions`, `commands`, `events`, `assistant_threads`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.slack import message_events, shortcuts

if TYPE_CHECKING:
    from sandbox.slack.assistant_threads import AssistantThreads
    from sandbox.slack.commands import Commands
    from sandbox.slack.enterprise import Enterprise
    from sandbox.slack.events import Events
    from sandbox.slack.interactivity import Interactivity
    from sandbox.slack.oauth import OAuthApp
    from sandbox.slack.socket_mode import SocketMode
    from sandbox.slack.submissions import Submissions


class AppSide:
    """Thin entry points; the sandbox provides the fields annotated here."""

    interactivity: Interactivity
    submissions: Submissions
    commands: Commands
    events: Events
    assistant_threads: AssistantThreads
    oauth: OAuthApp
    socket_mode: SocketMode
    enterprise: Enterprise

    def configure_oauth(self, redirect_urls: list[str] | None = None, token_rotation: bool | None = None
                        ) -> dict[str, Any]:
        """The app's OAuth settings (`sandbox.slack.oauth`): its registered Redirect URLs and whether token
        rotation is on (None keeps one); returns them with the app's client_id and client_secret."""
        return self.oauth.configure(redirect_urls, token_rotation)

    def configure_enterprise(self, org_wide: bool | None = None, name: str | None = None) -> dict[str, Any]:
        """Enterprise Grid (`sandbox.slack.enterprise`): the app installed org-wide in the workspace's org (None
        keeps the setting); OAuth answers, auth.test, events and interactions then name the org."""
        return self.enterprise.configure(org_wide, name)

    def configure_socket_mode(self, enabled: bool = True) -> dict[str, Any]:
        """Socket Mode on or off (`sandbox.slack.socket_mode`): when on, events, interactions, shortcuts and
        slash commands go over the app's WebSocket connections (apps.connections.open with an app-level
        token) instead of its Request URLs (`sandbox.slack.socket_interactions`)."""
        return self.socket_mode.configure(enabled)

    def new_app_token(self, scopes: list[str] | None = None) -> str:
        """A new app-level token (`xapp-1-…`, scope connections:write), as App settings generate one."""
        return self.oauth.new_app_token(scopes)

    def deactivate_user(self, user_id: str, deactivated: bool = True) -> None:
        """An admin deactivates (or reactivates) a person: users.info / users.list show ``deleted: true``,
        users.lookupByEmail answers users_not_found for them (Slack documents it), a post to their DM still
        succeeds (python-slack-sdk #1156: Slack keeps the DM) [unc: Slack's exact fields; round 30]."""
        self.workspace.users[user_id]["deleted"] = bool(deactivated)  # type: ignore[attr-defined]

    def configure_interactivity(self, request_url: str | None = None, signing_secret: str | None = None) -> None:
        """Set the app's Interactivity Request URL and/or signing secret (None keeps the current one)."""
        self.interactivity.configure(request_url, signing_secret)

    def click(self, channel: str, ts: str, action_id: str, user: str | None = None) -> dict[str, Any]:
        """`user` (Slack id, e-mail or handle; default the workspace's first person) presses the button
        `action_id` on message `ts`: Slack's signed block_actions POST to the Request URL, once. Returns
        `{at, request_url, payload, status, body, elapsed, ok, error}`; raises `ClickError` when the
        message, button or user does not exist or no Request URL is set."""
        return self.interactivity.click(channel, ts, action_id, user)

    def submit_view(self, view_id: str, values: dict[str, Any] | None = None, user: str | None = None
                    ) -> dict[str, Any]:
        """A person submits the modal `view_id` with `values` (action_id -> entry): Slack's signed
        view_submission to the Request URL; the app's response_action applies (`sandbox.slack.submissions`)."""
        return self.submissions.submit(view_id, values, user)

    def click_view(self, view_id: str, action_id: str, user: str | None = None,
                   values: dict[str, Any] | None = None) -> dict[str, Any]:
        """A person presses a button inside a modal or Home tab: Slack's block_actions from a view."""
        return self.submissions.click(view_id, action_id, user, values)

    def close_view(self, view_id: str, user: str | None = None) -> dict[str, Any] | None:
        """A person closes the modal: `view_closed` if it was opened with notify_on_close (else None)."""
        return self.submissions.close(view_id, user)

    def configure_command(self, command: str, url: str | None) -> dict[str, str]:
        """Set (or, url None, remove) a slash command's Request URL (`sandbox.slack.commands`)."""
        return self.commands.configure(command, url)

    def run_command(self, command: str, text: str = "", channel: str = "general",
                    user: str | None = None) -> dict[str, Any]:
        """A person runs `/command text` in `channel`: Slack's signed form POST; the app's answer is shown."""
        return self.commands.run(command, text, channel, user)

    def run_shortcut(self, callback_id: str, user: str | None = None, channel: str | None = None,
                     ts: str | None = None) -> dict[str, Any]:
        """A person starts the app's global shortcut `callback_id` (or, with `channel` and `ts`, its message
        shortcut on that message): `shortcut` / `message_action` to the app (`sandbox.slack.shortcuts`)."""
        return shortcuts.run_shortcut(self, callback_id, user, channel, ts)

    def interactions(self) -> list[dict[str, Any]]:
        """Every interaction sent to the app, oldest first (as `click` returned them)."""
        return self.interactivity.sent()

    def configure_events(self, request_url: str | None = None, signing_secret: str | None = None,
                         events: list[str] | None = None, retry_waits: list[float] | None = None,
                         answer_within: float | None = None) -> dict[str, Any]:
        """Event Subscriptions (`sandbox.slack.events`): a new Request URL must answer Slack's challenge;
        returns that attempt with `verified`."""
        return self.events.configure(request_url, signing_secret, events, retry_waits, answer_within)

    def post_as_user(self, channel: str, text: str, user: str | None = None,
                     thread_ts: str | None = None) -> dict[str, Any]:
        """A person posts in `channel`: `{channel, ts, event_ids}`; `message` / `app_mention` events."""
        return self.events.post_as_user(channel, text, user, thread_ts)

    def react_as_user(self, channel: str, ts: str, name: str, user: str | None = None,
                      added: bool = True) -> str | None:
        """A person reacts to message `ts` (`added=False` takes the reaction back): the `reaction_added` /
        `reaction_removed` event id (None when none is sent)."""
        return self.events.react_as_user(channel, ts, name, user, added)

    def upload_as_user(self, channel: str, filename: str, content: str | bytes, user: str | None = None,
                       text: str = "") -> dict[str, Any]:
        """A person uploads a file into `channel`: `{channel, ts, file_id, event_ids}`; `message` (subtype
        file_share) and `file_shared` events."""
        return self.events.upload_as_user(channel, filename, content, user, text)

    def edit_as_user(self, channel: str, ts: str, text: str) -> None:
        """The person who posted message `ts` edits it (`message_changed`, `sandbox.slack.message_events`)."""
        message_events.edit_as_user(self, channel, ts, text)

    def delete_as_user(self, channel: str, ts: str) -> None:
        """The person who posted message `ts` deletes it (`message_deleted`)."""
        message_events.delete_as_user(self, channel, ts)

    def open_app_home(self, user: str | None = None, tab: str = "home") -> str | None:
        """A person opens the app's Home (or "messages") tab: `app_home_opened` with their published Home
        view (`sandbox.slack.workspace_events`); the event id, None when none is sent."""
        return self.events.open_app_home(user, tab)

    def open_assistant_thread(self, user: str | None = None, context_channel: str | None = None) -> dict[str, Any]:
        """A person opens the app's AI assistant container while viewing `context_channel`: a thread in the
        app's DM with them and `assistant_thread_started` (`sandbox.slack.assistant_threads`). Returns
        `{channel, thread_ts, context, event_ids}`; they write in it with `post_as_user(channel, text, user,
        thread_ts)`."""
        return self.assistant_threads.open(user, context_channel)

    def change_assistant_context(self, user: str | None, context_channel: str | None,
                                 thread_ts: str | None = None) -> str | None:
        """The person moves to `context_channel` with the container open (their latest thread unless
        `thread_ts`): `assistant_thread_context_changed`; the event id, None when none is sent."""
        return self.assistant_threads.change_context(user, context_channel, thread_ts)

    def event_deliveries(self) -> list[dict[str, Any]]:
        """Every Events API request sent to the app (verification, attempts, retries), oldest first."""
        return self.events.deliveries()

    def wait_for_events(self, timeout: float = 30.0) -> bool:
        """Wait until no event is being delivered or retried; False if some still are after `timeout`."""
        return self.events.wait(timeout)
