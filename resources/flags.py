"""Feature flags ``integration.<name>.enabled`` and pilot scopes, per environment.

The defaults live in ``resources/feature_flags.yml`` (one block per environment). Two overrides,
strongest first: the environment variable ``INTEGRATION_<NAME>_ENABLED`` (``true``/``false``), then the
key ``integration.<name>.enabled`` in Vault at ``integrations/<env>/flags``. A disabled integration's
schedules and sensors skip with the flag's name as the reason, its reverse writes pause, and the health
page shows it as disabled. Nothing is reset: the incremental cursors stay where they were, so turning
the flag back on resumes exactly where the integration stopped.
A run reads its flag once, at its start: turned off while a push runs, that push finishes its plan and
the next one pauses (to stop one at once, cancel its run). Vault's value is cached for 30 s.

A pilot scope (``pilot: {assignment_groups: [...]}`` or ``{jira_project_keys: [...]}``) limits a rollout to
the pilot teams; overridden the same way by ``INTEGRATION_<NAME>_PILOT_<SCOPE>`` (comma-separated) and the
Vault key ``integration.<name>.pilot.<scope>``. Reverse sync pushes only the outbound rows in scope
(``PILOT_COLUMNS`` names the row's column); the others wait, recorded as skipped with the flag's name.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

FLAGS_FILE = Path(__file__).with_name("feature_flags.yml")
TRUE, FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
MAX_ECHOED = 12  # characters of an invalid flag value quoted in its error
_VAULT_CACHE: dict[str, tuple[float, dict[str, Any]]] = {}
# env -> why Vault's flags could not be read while this process had never read them (a fresh run process):
# a reverse-sync step then stops instead of acting on the file's flags (a kill switch or pilot scope in Vault)
_VAULT_UNREAD: dict[str, str] = {}
_LAST_READ: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}  # (VAULT_ADDR, env) -> flags last read
_WARNED: set[tuple[str, str]] = set()  # (env, misspelt integration) already logged
VAULT_CACHE_SECONDS = 30.0
# pilot scope -> the outbound mart column that reverse sync compares with it
PILOT_COLUMNS = {"assignment_groups": "assignment_group", "jira_project_keys": "jira_project_key"}


def flag_name(integration: str) -> str:
    return f"integration.{integration}.enabled"


def env_var_name(integration: str) -> str:
    return f"INTEGRATION_{integration.upper()}_ENABLED"


@dataclass(frozen=True)
class Flag:
    """The resolved flag of one integration: on or off, where that came from, and its pilot scope."""

    integration: str
    enabled: bool
    source: str
    pilot: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return flag_name(self.integration)

    def out_of_scope(self, row: dict[str, Any]) -> str | None:
        """Why ``row`` waits outside the pilot scope (naming the flag), or None when it may go ahead."""
        for scope, allowed in self.pilot.items():
            column = PILOT_COLUMNS.get(scope)
            if column is None:
                continue
            value = str(row.get(column) or "").strip()
            if value.casefold() not in {a.strip().casefold() for a in allowed}:
                return (f"{self.name} pilot scope: {column} {value or '(none)'!r} is not one of {scope} "
                        f"({', '.join(allowed)}); it waits until the scope includes it")
        return None

    def skip_reason(self) -> str:
        return (f"{self.name} is false in {self.source}: {self.integration} is paused (nothing is lost; "
                f"set it to true to resume from the stored cursor)")


def _parse(value: Any, where: str) -> bool:
    text = str(value).strip().lower()
    if text in TRUE:
        return True
    if text in FALSE:
        return False
    # A mistyped word (``ture``, ``enabled``) is echoed to help; a longer value is no such slip and may be
    # a credential pasted into the wrong key: the Integration Health page and the logs name only its length.
    shown = repr(value) if len(str(value)) <= MAX_ECHOED else f"a value of {len(str(value))} characters"
    raise ValueError(f"{where} is {shown}: set it to true or false")


INTEGRATIONS = ("servicenow", "jira", "onetrust")  # the names a flag may carry (the health page's connectors)
BLOCK_KEYS = ("enabled", "pilot")
_FILE_SHAPE = "each environment a block of `<integration>: {enabled: true|false}`"


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load, refusing a key written twice in one mapping: YAML keeps the last silently, so a second
    `jira:` block further down turned back on what the operator had just turned off above."""

    def construct_mapping(self, node, deep=False):
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: merged by safe_load's own rules
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {_named(key)} is written twice in one block",
                    key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _named(key: Any) -> str:
    """A key as shown in an error: itself, or its length when too long for a slip (a pasted credential)."""
    text = str(key)
    return text if len(text) <= 32 and text.isprintable() else f"(a key of {len(text)} characters)"


def _load(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)  # a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ValueError(f"{path} is not valid YAML{where} ({problem}): fix that line ({_FILE_SHAPE})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text: write it again as plain YAML ({_FILE_SHAPE})") from None
    except OSError as exc:
        raise ValueError(f"{path} cannot be read ({exc.strerror or type(exc).__name__}): restore it from the "
                         f"release ({_FILE_SHAPE})") from None


def _check_block(path: Path, env_name: str, name: str, block: dict) -> None:
    """One integration's block: only `enabled` and `pilot`, a pilot scope of a known name holding a list.
    A misspelt key (`enabld: false`) or scope (`jira_projects`) was ignored: the integration stayed on, or
    its reverse sync pushed every team's rows while the operator believed it limited to the pilot."""
    where = f"{path}: {env_name}.{name}"
    if name not in INTEGRATIONS:
        raise ValueError(f"{where} names no integration (known: {', '.join(INTEGRATIONS)}): fix the name")
    unknown = sorted(_named(k) for k in block if k not in BLOCK_KEYS)
    if unknown:
        raise ValueError(f"{where} has the key {', '.join(unknown)}, which nothing reads: the keys are "
                         f"{' and '.join(BLOCK_KEYS)} (`{name}: {{enabled: false}}`)")
    pilot = block.get("pilot")
    if pilot is None:
        return
    if not isinstance(pilot, dict):
        raise ValueError(f"{where}.pilot holds a {type(pilot).__name__}, not a block of scopes: write "
                         f"`pilot: {{{' or '.join(PILOT_COLUMNS)}: [A, B]}}`")
    for scope, values in pilot.items():
        if scope not in PILOT_COLUMNS:
            raise ValueError(f"{where}.pilot.{_named(scope)} is no pilot scope (known: "
                             f"{', '.join(PILOT_COLUMNS)}): fix the name, or nothing is held back")
        if values is not None and not (isinstance(values, list)
                                        and all(isinstance(v, str | int) and not isinstance(v, bool)
                                                for v in values)):
            raise ValueError(f"{where}.pilot.{scope} holds a {type(values).__name__}, not a list of names: "
                             f"write `{scope}: [A, B]` (`[]` for everyone)")


def _file_flags(env_name: str, path: Path | None = None) -> dict[str, dict[str, Any]]:
    """``env_name``'s block of the flags file, each integration's a mapping; a file that is not YAML (or
    cannot be read), a key written twice, a block that is not a mapping (``jira: false`` for
    ``jira: {enabled: false}``), an unknown integration, key or pilot scope is refused naming the file and
    the fix: read as "no block", it left the integration on while its operator believed it off."""
    path = path or FLAGS_FILE
    data = _load(path) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} holds a {type(data).__name__}, not one block per environment: write "
                         "`prod:` and under it `<integration>: {enabled: true|false}`")
    block = data.get(env_name) or {}
    if not isinstance(block, dict):
        raise ValueError(f"{path}: {env_name} holds a {type(block).__name__}, not one block per integration: "
                         "write `<integration>: {enabled: true|false}` under it")
    for name, value in block.items():
        if not isinstance(value, dict) and value is not None:
            raise ValueError(f"{path}: {env_name}.{name} is {str(value)[:MAX_ECHOED]!r}, not a block: write "
                             f"`{name}: {{enabled: {str(value).lower()[:MAX_ECHOED]}}}`")
        _check_block(path, env_name, str(name), value or {})
    return {name: value or {} for name, value in block.items()}


def _vault_flags(env_name: str, for_writes: bool = False) -> dict[str, Any]:
    """The flags at integrations/<env>/flags, cached briefly; {} without Vault. While Vault cannot be read,
    the flags this process last read there stand (a switch turned off in Vault as a kill switch came back on
    with the file's `true` at the first Vault blip); the file's only when none was ever read."""
    addr = os.environ.get("VAULT_ADDR")
    if not addr:
        return {}
    hit = _VAULT_CACHE.get(env_name)
    if hit and time.monotonic() - hit[0] < VAULT_CACHE_SECONDS:
        if for_writes and env_name in _VAULT_UNREAD:
            raise _unread(env_name)
        return hit[1]
    try:
        values = read_vault_flags(env_name)
        _LAST_READ[(addr, env_name)] = (time.monotonic(), values)
        _VAULT_UNREAD.pop(env_name, None)
    except Exception as exc:  # a flag read must not stop a schedule (a write waits: ``for_writes``)
        last = _LAST_READ.get((addr, env_name))
        if last is None:
            _VAULT_UNREAD[env_name] = type(exc).__name__
            _VAULT_CACHE[env_name] = (time.monotonic(), {})
            if for_writes:
                raise _unread(env_name) from None
            log.warning("feature flags: Vault at %s/flags unreadable (%s); using %s", _vault_prefix(env_name), exc,
                        FLAGS_FILE.name)
            values = {}
        else:
            log.warning("feature flags: Vault at %s/flags unreadable (%s); using the flags read there %.0f s ago",
                        _vault_prefix(env_name), exc, time.monotonic() - last[0])
            values = last[1]
    _VAULT_CACHE[env_name] = (time.monotonic(), values)
    return values


def _unread(env_name: str) -> RuntimeError:
    return RuntimeError(
        f"feature flags at Vault {_vault_prefix(env_name)}/flags could not be read ({_VAULT_UNREAD[env_name]}) "
        f"and this process never read them: reverse writes wait rather than follow {FLAGS_FILE.name} (a kill "
        "switch or pilot scope set in Vault would be ignored). Check VAULT_ADDR and the flags role "
        "(VAULT_FLAGS_* or the connector's); the step's retry or the next run sends them")


def read_vault_flags(env_name: str) -> dict[str, Any]:
    """The flags at integrations/<env>/flags read now, uncached; raises what :class:`SecretStore` raises
    (each error names its fix). The health page reads them with this in the background (its own cache)."""
    from resources.secrets import SecretStore

    prefix = _vault_prefix(env_name)
    values = SecretStore(prefix).read_path("flags", role=flags_role())
    _warn_unknown(env_name, {k.split(".")[1]: f"the Vault key {k} at {prefix}/flags" for k in values
                             if k.startswith("integration.") and k.count(".") >= 2})
    return values


def flags_role() -> str:
    """The role that reads the flags: ``VAULT_FLAGS_*`` (else the worker's ``VAULT_ROLE_ID`` or
    ``VAULT_K8S_ROLE``), else any connector's whose login this process has: ``cli vault setup`` gives every
    connector's role the read-only flags policy and writes no flags role of its own."""
    from resources.vault_auth import approle_at, kubernetes_at, login_method
    from resources.vault_setup import connectors

    if login_method("flags") is not None:
        return "flags"
    for connector in connectors():
        prefix = f"VAULT_{connector.upper()}_"
        if approle_at(prefix) is not None or kubernetes_at(prefix) is not None:
            return connector
    return "flags"


def _vault_prefix(env_name: str) -> str:
    from resources.environment import ENVIRONMENTS

    return ENVIRONMENTS[env_name].vault_prefix if env_name in ENVIRONMENTS else f"integrations/{env_name}"


def known_integrations() -> set[str]:
    """Every integration with a block in ``feature_flags.yml``, in any environment."""
    try:
        data = _load(FLAGS_FILE) or {}
    except ValueError:  # named by flag() (_file_flags), which every reader calls
        return set()
    blocks = data.values() if isinstance(data, dict) else ()
    return {name for block in blocks if isinstance(block, dict) for name in block}


def _warn_unknown(env_name: str, names: dict[str, str]) -> None:
    """A misspelt override (``integration.servicenw.enabled``) pauses nothing while the operator believes
    it did: say so, once per name, naming the integrations that exist."""
    known = known_integrations()
    for name in sorted(set(names) - known):
        if (env_name, name) not in _WARNED:
            _WARNED.add((env_name, name))
            log.warning("feature flags: %s names no integration (known: %s); it changes nothing: fix the name",
                        names[name], ", ".join(sorted(known)))


def _env_overrides() -> dict[str, str]:
    """integration name -> the INTEGRATION_<NAME>_ENABLED / _PILOT_<SCOPE> variable set in the environment."""
    names = {}
    for var in os.environ:
        if var.startswith("INTEGRATION_"):
            for tail in ("_ENABLED", *(f"_PILOT_{scope.upper()}" for scope in PILOT_COLUMNS)):
                if var.endswith(tail) and len(var) > len("INTEGRATION_") + len(tail):
                    names[var[len("INTEGRATION_"):-len(tail)].lower()] = f"the environment variable {var}"
    return names


def flag(integration: str, env_name: str | None = None, vault: dict[str, Any] | None = None,
         for_writes: bool = False) -> Flag:
    """The flag of one integration in an environment (default: ``PROJECTX_ENV``). ``vault``: the Vault
    flags already read (the health page's, which must not wait for Vault); default: read them (cached).
    ``for_writes`` (reverse sync): when Vault's flags cannot be read and this process never read them, raise
    rather than fall back to the file (schedules and sensors fall back and warn)."""
    if not env_name:
        from resources.environment import env_name as current_name

        env_name = current_name()  # "prod\r" read the block of no environment: every prod pilot scope was lost
    block = _file_flags(env_name).get(integration) or {}
    enabled, source = True, FLAGS_FILE.name
    if "enabled" in block:  # read as the other sources are: a quoted "false" is false, not a true string
        where = f"{FLAGS_FILE} {env_name}.{integration}.enabled"
        if block["enabled"] is None:
            raise ValueError(f"{where} has no value: set it to true or false")
        enabled = _parse(block["enabled"], where)
    vault = _vault_flags(env_name, for_writes) if vault is None else vault
    vault_value = vault.get(flag_name(integration))
    if vault_value is not None:
        enabled, source = _parse(vault_value, f"Vault key {flag_name(integration)} at "
                                              f"{_vault_prefix(env_name)}/flags"), "Vault"
    _warn_unknown(env_name, _env_overrides())
    env_value = os.environ.get(env_var_name(integration))
    if env_value not in (None, ""):
        enabled, source = _parse(env_value, env_var_name(integration)), env_var_name(integration)
    pilot_prefix = f"{env_var_name(integration)[:-len('ENABLED')]}PILOT_"
    for var in sorted(v for v in os.environ if v.startswith(pilot_prefix)):
        if var[len(pilot_prefix):].lower() not in PILOT_COLUMNS and os.environ[var].strip():
            # ignored, it let reverse sync push every team's rows while the operator meant the pilot's only
            raise ValueError(f"{var} names no pilot scope of {integration}: use "
                             f"{' or '.join(pilot_prefix + s.upper() for s in PILOT_COLUMNS)}=A,B")
    pilot = {k: [str(v) for v in (vals or [])] for k, vals in (block.get("pilot") or {}).items()}
    for scope in PILOT_COLUMNS:  # overrides, env var > Vault > file, as for the switch
        for value in (vault.get(f"integration.{integration}.pilot.{scope}"),
                      os.environ.get(f"{env_var_name(integration)[:-len('ENABLED')]}PILOT_{scope.upper()}")):
            if value not in (None, ""):
                pilot[scope] = [v.strip() for v in str(value).split(",") if v.strip()]
    return Flag(integration, enabled, source, {k: v for k, v in pilot.items() if v})


def enabled(integration: str, env_name: str | None = None) -> bool:
    return flag(integration, env_name).enabled
