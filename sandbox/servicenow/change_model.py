"""The change state model and the standard change templates the Change Management API (`change_api`) uses.

MODEL: state -> the states a change of that type may move to next; Canceled (4) is open to every state
but Closed and Canceled [unc: an instance's model also has conditions per transition]. TEMPLATES stand for
std_change_record_producer records (a fixed list, not a seeded table, so seeded digests stay put); their
sys_ids derive from their names.
"""

from __future__ import annotations

import hashlib

MODEL = {
    "normal": {"-5": ["-4"], "-4": ["-3", "-5"], "-3": ["-2", "-5"], "-2": ["-1"], "-1": ["0"], "0": ["3"]},
    "emergency": {"-5": ["-3"], "-3": ["-2", "-5"], "-2": ["-1"], "-1": ["0"], "0": ["3"]},
    "standard": {"-5": ["-2"], "-2": ["-1"], "-1": ["0"], "0": ["3"]},
}


def next_states(kind: str, state: str) -> list[str]:
    """The states a change of type `kind` in `state` may move to."""
    return [*MODEL.get(kind, MODEL["normal"]).get(state, []), *([] if state in ("3", "4") else ["4"])]


def _template(name: str, category: str, plan: str) -> dict[str, str]:
    return {"sys_id": hashlib.md5(f"std_change:{name}".encode()).hexdigest(), "name": name,
            "short_description": name, "description": f"Pre-approved standard change: {name}",
            "category": category, "implementation_plan": plan, "backout_plan": "Revert to the previous state.",
            "test_plan": "Verify the service after the change.", "risk": "4"}


TEMPLATES = [_template("Clear disk space on a server", "Hardware", "Remove rotated logs and temp files."),
             _template("Reboot a Windows server", "Hardware", "Drain, reboot and re-enable the server."),
             _template("Add a user to a distribution list", "Other", "Add the member in the mail admin console."),
             _template("Patch an application server", "Software", "Apply the approved monthly patch bundle.")]
