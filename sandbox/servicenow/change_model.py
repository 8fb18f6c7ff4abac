"""The change state model and the standard change templates the Change Management API (`change_api`) uses.

MODEL: state -> the states a change of that type may move to next; Canceled (4) is open to every state
but Closed and Canceled [unc: an instance's model also has conditions per transition]. TEMPLATES stand for
std_change_record_producer records (a fixed list, not a seeded table, so seeded digests stay put); their
sys_ids derive from their names. MODELS stand for the base system's chg_model records the same way (GET
/change/model): Normal, Emergency, Standard and Change Registration, each with the `record_preset` a change
created from it gets ("type=...^EQ"). The Emergency and Change Registration sys_ids are the documented ones
[unc: the others derive from their names; colors and descriptions abridged].
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


SINCE = "2020-01-01 00:00:00"


def _model(name: str, preset: str, color: str, description: str, *, sys_id: str = "", default: bool = False,
           in_ui: bool = True) -> dict[str, str]:
    return {"sys_id": sys_id or hashlib.md5(f"chg_model:{name}".encode()).hexdigest(), "name": name,
            "sys_name": name, "description": description, "record_preset": preset, "color": color,
            "default_change_model": str(default).lower(), "active": "true", "available_in_ui": str(in_ui).lower(),
            "state_field": "state", "table_name": "change_request", "sys_class_name": "chg_model",
            "sys_created_on": SINCE, "sys_created_by": "system", "sys_updated_on": SINCE, "sys_updated_by": "system",
            "sys_mod_count": "0", "sys_tags": "", "sys_domain": "global",
            "sys_domain_path": "/"}


MODELS = [_model("Normal", "type=normal^EQ", "#488df4", "ITIL Mode 1 Normal Change", default=True),
          _model("Emergency", "type=emergency^EQ", "#ea3423", "ITIL Mode 1 Emergency Change",
                 sys_id="c0efda5347c12200e0ef563dbb9a81e3"),
          _model("Standard", "type=standard^EQ", "#6fc45c", "ITIL Mode 1 Standard Change"),
          _model("Change Registration", "type=normal^short_description=Automated : Change^EQ", "#488df4",
                 "A record of an automated change, without approvals.", sys_id="7840d2515323101034d1ddeeff7b12a6",
                 in_ui=False)]
MODEL_LABELS = {"sys_class_name": "Change Model"}


def preset_values(model: dict[str, str]) -> dict[str, str]:
    """The field values a change created from `model` starts with (its record_preset, `^EQ` dropped)."""
    out = {}
    for term in model["record_preset"].removesuffix("^EQ").split("^"):
        field, _, value = term.partition("=")
        if field:
            out[field] = value
    return out
