"""Records to JSON bytes, the way the Table API shapes them.

Modes (`sysparm_display_value`): "false" raw values; "true" display values (choice labels, the
referenced record's display field); "all" `{"display_value","value"}` per field. Reference fields
carry `link` unless `sysparm_exclude_reference_link=true`; an empty reference is "" in raw mode. Journal
fields are "" but for their display value; sys_class_name displays as the class's label.
Rendered bytes are cached per (table row, mode) and dropped when the row changes, so serving a
page of unchanged records is a bytes join; records with dot-walked fields are rendered each time.
Malformed-record faults bypass the cache.

Field ACLs (`Mode.restricted`, set for a self-service caller, `acl.self_service`): `work_notes` reads
"" (`{"display_value":"","value":""}` in "all" mode) and the journal list `comments_and_work_notes`
shows only the additional comments, as the base system's field read ACLs on work notes (role itil)
leave them to such a user. Time zones (`Mode.tz`): date-time display values are in the calling user's
time zone (sys_user.time_zone, else glide.sys.default.tz, UTC here), the raw value stays UTC, as an
instance answers sysparm_display_value=true|all.
[unc: an instance silences a field its ACL denies as an empty value (KB2971488 "returns empty fields");
whether it drops the key instead was not seen]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring_ascii as esc
from operator import itemgetter
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sandbox.servicenow import roles
from sandbox.servicenow.meta_tables import class_label

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store
    from sandbox.servicenow.tables import Table

MAX_CACHES_PER_TABLE = 6
_UNSAFE = re.compile(r'["\\\x00-\x1f]').search  # characters JSON strings must escape


@dataclass(frozen=True)
class Mode:
    """How to render: display_value mode, reference links on/off, optional field list, and the API version
    the request named (`v1`, `v2` or ""), which reference links repeat as an instance's do."""

    display: str = "false"
    exclude_links: bool = False
    fields: tuple[str, ...] | None = None
    version: str = ""
    restricted: bool = False
    tz: str = ""  # the caller's time zone for date-time display values; "" is UTC


RESTRICTED_FIELDS = frozenset({"work_notes"})  # field read ACLs a self-service caller fails


class Plan:
    """Compiled renderer for one table and one mode: a %-template plus per-field converters."""

    def __init__(self, table: Table, mode: Mode, base: str, store: Store, drop: str | None = None) -> None:
        wanted = mode.fields or (*table.fields, *roles.extra_fields(table))
        names = [n for n in dict.fromkeys(wanted) if table.has_field(n) and n != drop]
        # a restricted caller's journal list is the comments' history (`Mode.restricted`)
        alias = {"comments_and_work_notes": "comments"} if mode.restricted and "comments" in table.pos else {}
        self.tmpl = "{" + ",".join(f"{esc(n)}:%s" for n in names) + "}"
        computed = any("." in n or n not in table.pos for n in names)  # dot-walks, sys_user.roles
        self.dotted = [table.getter(alias.get(n, n)) for n in names] if computed else None
        idx = [table.pos.get(alias.get(n, n), -1) for n in names]
        if names == table.fields and not alias:
            self.select: Callable[[Any], Any] = lambda t: t
        elif len(idx) == 1:
            self.select = lambda t, i=idx[0]: (t[i],)
        else:
            self.select = itemgetter(*idx) if idx else (lambda t: ())
        self.specials: list[tuple[int, Callable[[str], str]]] = []
        for k, name in enumerate(names):
            conv = _converter(table, name, mode, base, store)
            if conv is not esc:
                self.specials.append((k, conv))
        # Fast path template: plain values need no escaping, so their quotes live in the template.
        special = {k for k, _ in self.specials}
        self.fast = "{" + ",".join(f"{esc(n)}:" + ("%s" if k in special else '"%s"')
                                   for k, n in enumerate(names)) + "}"

    def render(self, table: Table, row: int, t: tuple[str, ...]) -> bytes:
        vals = [g(row) for g in self.dotted] if self.dotted is not None else self.select(t)
        joined = "\x7f".join(vals)
        if joined.isascii() and not _UNSAFE(joined):  # one scan instead of escaping every value
            if not self.specials:
                return (self.fast % tuple(vals)).encode("ascii")
            out = list(vals)
            for k, conv in self.specials:
                out[k] = conv(vals[k])
            return (self.fast % tuple(out)).encode("ascii")
        out = list(map(esc, vals))
        for k, conv in self.specials:
            out[k] = conv(vals[k])
        return (self.tmpl % tuple(out)).encode("ascii")


def field_of(table: Table, name: str, store: Store) -> Any:
    """The schema Field a (possibly dot-walked) name ends at: `assigned_to.manager` is sys_user.manager,
    rendered as the reference it is (link, display value), as the platform does."""
    head, _, rest = name.partition(".")
    field = table.schema.get(head)
    while rest and field is not None and field.kind == "reference":
        target = store.tables.get(field.ref)
        if target is None:
            return None
        head, _, rest = rest.partition(".")
        field = target.schema.get(head)
    return None if rest else field


def _converter(table: Table, name: str, mode: Mode, base: str, store: Store) -> Callable[[str], str]:
    schema_field = field_of(table, name, store)
    kind = schema_field.kind if schema_field else "string"
    if roles.is_password(table, name):  # a password shows only as its mask (`roles`)
        if mode.display == "false":
            return lambda v: '""'
        mask = esc(roles.PASSWORD_MASK)
        return (lambda v: mask) if mode.display == "true" else (lambda v: f'{{"display_value":{mask},"value":""}}')
    if mode.restricted and name in RESTRICTED_FIELDS:
        empty = '{"display_value":"","value":""}' if mode.display == "all" else '""'
        return lambda v: empty
    if kind == "url":
        if mode.display == "all":  # every field is a pair in this mode, a URL too
            return lambda v: f'{{"display_value":{esc(base + v)},"value":{esc(base + v)}}}' if v else (
                '{"display_value":"","value":""}')
        return lambda v: esc(base + v) if v else '""'
    if kind == "datetime" and mode.tz and mode.display != "false":
        local = to_zone(mode.tz)
        if mode.display == "true":
            return lambda v: esc(local(v))
        return lambda v: f'{{"display_value":{esc(local(v))},"value":{esc(v)}}}'
    if kind == "journal":  # the entries show only as a display value (`journal`)
        if mode.display == "all":
            return lambda v: f'{{"display_value":{esc(v)},"value":""}}'
        return esc if mode.display == "true" else (lambda v: '""')
    if kind == "reference":
        assert schema_field is not None and schema_field.ref is not None
        prefix = f"{base}/api/now/{mode.version + '/' if mode.version else ''}table/{schema_field.ref}/"
        ref, links = schema_field.ref, not mode.exclude_links

        def display(v: str) -> str:
            return esc(store.display_of(ref, v))

        if mode.display == "false":
            return (lambda v: f'{{"link":{esc(prefix + v)},"value":{esc(v)}}}' if v else '""') if links else esc
        if mode.display == "true":
            if not links:
                return lambda v: display(v) if v else '""'
            return lambda v: f'{{"display_value":{display(v)},"link":{esc(prefix + v)}}}' if v else '""'
        if links:
            return lambda v: (f'{{"display_value":{display(v)},"link":{esc(prefix + v)},"value":{esc(v)}}}'
                              if v else '{"display_value":"","value":""}')
        return lambda v: f'{{"display_value":{display(v) if v else chr(34) * 2},"value":{esc(v)}}}'
    if schema_field is not None and schema_field.name == "sys_class_name" and mode.display != "false":
        if mode.display == "true":  # the class's label, as on an instance
            return lambda v: esc(class_label(v))
        return lambda v: f'{{"display_value":{esc(class_label(v))},"value":{esc(v)}}}'
    choices = schema_field.choices if schema_field else None
    if mode.display == "true":
        return (lambda v: esc(choices.get(v, v))) if choices else esc
    if mode.display == "all":
        if choices:
            return lambda v: f'{{"display_value":{esc(choices.get(v, v))},"value":{esc(v)}}}'
        return lambda v: f'{{"display_value":{esc(v)},"value":{esc(v)}}}'
    return esc


def to_zone(tz: str) -> Callable[[str], str]:
    """A UTC "YYYY-MM-DD HH:MM:SS" as the same moment in `tz` (values that are no date-time unchanged)."""
    zone = ZoneInfo(tz)

    def local(v: str) -> str:
        try:
            moment = datetime.strptime(v, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            return v
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    return local


def _plan(table: Table, mode: Mode, base: str, store: Store) -> Plan:
    key = (mode, base)
    plan = table.plans.get(key)
    if plan is None:
        plan = table.plans[key] = Plan(table, mode, base, store)
    return plan


def render_rows(table: Table, rows: list[int], mode: Mode, base: str, store: Store,
                malformed: Callable[[Table, int], int | None] | None = None) -> list[bytes]:
    """JSON bytes for each row (rows must be alive), using and filling the per-mode cache."""
    plan = _plan(table, mode, base, store)
    epoch = store.display_epoch if mode.display != "false" else 0
    key = (mode, base, epoch)
    cache = table.render_cache.get(key)
    if cache is None:
        caches = table.render_cache
        for stale in [k for k in caches if k[:2] == key[:2]]:  # same mode, older display epoch
            del caches[stale]
        while len(caches) >= MAX_CACHES_PER_TABLE:
            del caches[next(iter(caches))]
        cache = caches[key] = [None] * len(table.rows)
    data, out = table.rows, []
    for r in rows:
        variant = malformed(table, r) if malformed is not None else None
        if variant is not None:
            out.append(render_malformed(table, r, variant, mode, base, store))
            continue
        b = cache[r]
        if b is None:
            b = plan.render(table, r, data[r])  # type: ignore[arg-type]
            if plan.dotted is None:  # a dot-walked value changes with the other record: not cached
                cache[r] = b
        out.append(b)
    return out


MALFORMED_VARIANTS = 4


def render_malformed(table: Table, row: int, variant: int, mode: Mode, base: str, store: Store) -> bytes:
    """A schema-invalid copy of the record: bad datetime, missing sys_id, impossible date, bad integer."""
    t = list(table.rows[row])  # type: ignore[arg-type]
    drop = None
    if variant == 0:
        t[table.pos["sys_updated_on"]] = "not-a-date"
    elif variant == 1:
        drop = "sys_id"
    elif variant == 2 and "sys_created_on" in table.pos:
        t[table.pos["sys_created_on"]] = "2026-02-30 25:61:00"
    elif "sys_mod_count" in table.pos:
        t[table.pos["sys_mod_count"]] = "many"
    return Plan(table, mode, base, store, drop=drop).render(table, row, tuple(t))
