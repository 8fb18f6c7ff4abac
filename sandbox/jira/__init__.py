"""Jira Cloud emulator (REST v2/v3 + Agile 1.0 + OAuth 3LO + admin webhooks) built on `sandbox.core`.

    from sandbox.jira import JiraSandbox
    with JiraSandbox(seed=42, size=200) as sb:
        requests.get(sb.url + "/rest/api/3/myself", auth=(sb.credentials["email"], sb.credentials["api_token"]))
"""

from sandbox.jira.sandbox import JiraSandbox, default_credentials

__all__ = ["JiraSandbox", "default_credentials"]
