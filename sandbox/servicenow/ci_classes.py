"""CMDB class tables: `cmdb_ci_server`, `cmdb_ci_linux_server`, ... as the records of `cmdb_ci` of
that class or a class extending it, the way an instance stores a CI once and shows it in each table of
its class's ancestry.

Grain: one `ClassView` per class below; it reads and writes `cmdb_ci` rows (a record created through
it gets the class as sys_class_name). The hierarchy is the base system's for the classes the seed uses
(`pools.CI_CLASSES`): linux/win servers extend cmdb_ci_server < cmdb_ci_computer < cmdb_ci_hardware <
cmdb_ci; cmdb_ci_netgear extends cmdb_ci_hardware; cmdb_ci_appl and cmdb_ci_database extend cmdb_ci.
"""

from __future__ import annotations

from sandbox.servicenow.tables import Table, TaskView

CI_PARENTS = {
    "cmdb_ci_hardware": "cmdb_ci", "cmdb_ci_computer": "cmdb_ci_hardware", "cmdb_ci_server": "cmdb_ci_computer",
    "cmdb_ci_linux_server": "cmdb_ci_server", "cmdb_ci_win_server": "cmdb_ci_server",
    "cmdb_ci_netgear": "cmdb_ci_hardware", "cmdb_ci_appl": "cmdb_ci", "cmdb_ci_database": "cmdb_ci",
}


def family(name: str) -> frozenset[str]:
    """`name` and every CI class extending it."""
    out = {name}
    for cls in CI_PARENTS:
        at: str | None = cls
        while at is not None:
            if at == name:
                out.add(cls)
                break
            at = CI_PARENTS.get(at)
    return frozenset(out)


class ClassView(TaskView):
    """One CI class table over the cmdb_ci rows of its family (view rows are cmdb_ci rows, part 0)."""

    def __init__(self, base: Table, name: str) -> None:
        super().__init__(base, [])
        self.name = name
        self.classes = family(name)
        self._class_col = base.pos["sys_class_name"]

    def _member(self, t: tuple[str, ...] | None) -> bool:
        return t is not None and t[self._class_col] in self.classes

    def __len__(self) -> int:
        return len(self.alive_rows())

    def alive_rows(self) -> list[int]:
        data = self.parts[0].rows
        return [r for r in self.parts[0].alive_rows() if self._member(data[r])]

    def locate(self, sys_id: str) -> tuple[Table, int] | None:
        base = self.parts[0]
        row = base.row_of(sys_id)
        return None if row is None or not self._member(base.rows[row]) else (base, row)
