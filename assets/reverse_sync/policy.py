"""The conflict policy: who owns each synced field, and what happens when both sides changed it.

Each field a writer syncs has an owner:

- ``projectx``: Project X's value is the truth. Whenever Project X writes the record, a differing
  vendor value is overwritten; if the vendor had changed it since the last sync, the overwrite is
  recorded in ``reverse_sync.conflicts`` (winner projectx, rule "owned by Project X").
- ``vendor``: the vendor's value is the truth; Project X sets it only when it creates the record
  (e.g. the Jira assignee) and reads it back through ingestion.
- ``shared``: either side may change it. A change on one side only wins. A field changed on both
  sides since the last sync is a conflict: ``wins`` names the winner, and the conflict is recorded.

For the Jira issues of remediation tasks (:mod:`assets.reverse_sync.jira`): summary, description,
priority and the Project X labels are owned by Project X; the assignee by Jira; the due date is
shared and Project X wins (the control's remediation window is policy); the status is shared and
Jira wins (people working the issue decide where it is; Project X closes it when the control
passes and reopens it when the control fails again, unless Jira moved it meanwhile).
The status comes back through the Jira ingestion: a done issue closes the task unless its resolution
says nothing was done (Won't Do, Won't Fix, Duplicate, Cannot Reproduce, Incomplete, Declined), the
same rule as ServiceNow's Closed Incomplete (int_tasks__control_remediations).

For the ServiceNow remediation records (:mod:`assets.reverse_sync.servicenow`) the same rule holds:
Project X owns the text, priority, due date and CI; the status is shared and ServiceNow wins. Project X
sends no state while the control fails, and when it passes closes a record only if it is still open
at ServiceNow (re-read before the close). The state comes back through the ServiceNow ingestion:
Closed Complete or Resolved closes the task (int_tasks__control_remediations).

"Changed since the last sync" compares with ``synced_fields``, the values both sides held after the
last sync. A vendor change made by the integration account itself (the vendor's changelog names
the author) is an echo of our own write, never a vendor change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROJECTX, VENDOR, SHARED = "projectx", "vendor", "shared"


@dataclass(frozen=True)
class Field:
    owner: str
    wins: str = PROJECTX  # shared fields: the winner when both sides changed

    def rule(self) -> str:
        if self.owner == SHARED:
            return f"shared field, {self.wins} wins when both sides changed"
        return f"owned by {self.owner}"


@dataclass(frozen=True)
class Change:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Conflict:
    field: str
    base: Any
    projectx: Any
    vendor: Any
    winner: str
    rule: str


@dataclass
class Merge:
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    synced: dict[str, Any] = field(default_factory=dict)


def merge(policy: dict[str, Field], desired: dict[str, Any], base: dict[str, Any], vendor: dict[str, Any],
          foreign: set[str] | None, sent: dict[str, Any] | None = None) -> Merge:
    """Three-way comparison of Project X's values, the last synced base and the vendor's values.

    ``foreign``: fields the vendor's changelog shows someone other than us changed since the last
    sync (None when the vendor keeps no changelog: then any difference from the base counts).
    ``sent``: Project X's own values at the last sync (``projectx_fields``). Where the vendor won a shared field
    the base holds the vendor's value, so Project X's unchanged value differs from it: compared with the base,
    the next sync would take it for a Project X change and overwrite the vendor's (a status a person set in
    Jira reverted on the next unrelated edit). Links saved before it was kept fall back to the base.
    """
    out = Merge(synced=dict(base))
    for name, want in desired.items():
        rule = policy.get(name, Field(PROJECTX))
        have = vendor.get(name)
        known = name in base
        vendor_changed = known and have != base[name] and (foreign is None or name in foreign)
        px_changed = want != sent[name] if sent and name in sent else not known or want != base[name]
        if rule.owner == VENDOR or have == want:
            out.synced[name] = have
            continue
        write = False
        if rule.owner == PROJECTX:
            write = True
            if vendor_changed:
                out.conflicts.append(Conflict(name, base.get(name), want, have, PROJECTX, rule.rule()))
        elif px_changed and vendor_changed:
            write = rule.wins == PROJECTX
            out.conflicts.append(Conflict(name, base.get(name), want, have, rule.wins, rule.rule()))
        else:
            write = px_changed
        if write:
            out.changes.append(Change(name, have, want))
        out.synced[name] = want if write else have
    return out
