"""dbt models as assets, grouped by layer (staging, intermediate, marts, outbound), tests as checks.

The manifest must exist before definitions load: ``prepare_manifest()`` runs ``dbt parse`` once
when it is missing (``make setup`` does it ahead of time).
"""


import contextlib
import functools
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from dagster import AssetCheckSpec, AssetExecutionContext, AssetKey, AssetSpec, Failure, MetadataValue
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_asset_check_key_for_test
from dagster_shared.record import replace  # AssetCheckSpec is a record: copy it with one field changed

from resources.owners import owners_for
from resources.scale_out import op_tags, pool
from resources.warehouse import WarehouseResource

log = logging.getLogger(__name__)

DBT_PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"


def dbt_executable() -> str:
    """The dbt installed beside this interpreter (the venv's), else whatever is on PATH."""
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else (shutil.which("dbt") or "dbt")


DBT_LAUNCHER = Path(__file__).resolve().parents[1] / "cli" / "run_dbt.py"


def dbt_command() -> list[str]:
    """How Dagster's builds start dbt: this interpreter running ``cli/run_dbt.py`` (dbt's command line,
    minus formatting the ~16,000 log lines its loggers then drop: 17% of a build), when the dbt they would
    run is the one installed beside this interpreter; else that dbt itself."""
    executable = dbt_executable()
    if Path(executable).parent == Path(sys.executable).parent and DBT_LAUNCHER.is_file():
        return [sys.executable, str(DBT_LAUNCHER)]
    return [executable]


def _manifest_is_stale(manifest: Path = MANIFEST) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    sources = [p for d in ("models", "macros", "seeds", "tests") for p in (DBT_PROJECT_DIR / d).rglob("*")]
    sources += [DBT_PROJECT_DIR / "dbt_project.yml"]
    return any(p.is_file() and p.stat().st_mtime > built for p in sources)


# What `dbt parse` writes that later readers use, moved into place in this order: the manifest last, since
# its modification time is what says the parse is current.
PARSE_ARTIFACTS = ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json")


def prepare_manifest(force: bool = False, manifest: Path = MANIFEST) -> Path:
    """Parse the dbt project when the manifest is missing or older than any model, macro or seed.

    Every process that loads the definitions calls this (the webserver, the daemon, each run and step
    worker), so several may find the manifest stale at once after an edit: one parses at a time (a lock
    file beside the manifest; the others then find it current), into a folder of its own, and the files
    are moved into place whole, so no process ever reads half a manifest (two parses writing into one
    folder left a corrupt ``manifest.json`` behind)."""
    if not (force or _manifest_is_stale(manifest)):
        return manifest
    target = manifest.parent
    target.mkdir(parents=True, exist_ok=True)
    with _parse_lock(target / ".dbt_parse.lock"):
        if force or _manifest_is_stale(manifest):
            _parse_into(target, manifest.name)
    return manifest


@contextlib.contextmanager
def _parse_lock(path: Path):
    """An exclusive lock on ``path`` for the block (POSIX ``flock``; none where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # not POSIX: parse unlocked, as before
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _parse_into(target: Path, manifest_name: str) -> None:
    log.info("dbt manifest missing or stale: running `dbt parse` in %s", DBT_PROJECT_DIR)
    # With the variables the dbt asset exports (WarehouseResource.export_env): dbt's partial parse
    # file is only valid for the same connection (the DuckDB file's path as written), so the first
    # build after `make setup` parses only what changed instead of the whole project (~5 s).
    from pipelines.common.warehouse import WarehouseSettings

    scratch = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
    try:
        if (target / "partial_parse.msgpack").is_file():  # dbt parses only what changed since
            shutil.copyfile(target / "partial_parse.msgpack", scratch / "partial_parse.msgpack")
        subprocess.run(
            [dbt_executable(), "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(scratch)],
            check=True, env={**os.environ, **WarehouseSettings.from_env().env()},
        )
        for name in PARSE_ARTIFACTS:
            if (scratch / name).is_file():
                os.replace(scratch / name, target / (manifest_name if name == "manifest.json" else name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def build_target_root() -> Path:
    """Where dagster-dbt puts each build's own folder and looks for the partial parse file to seed it
    with: ``DBT_TARGET_PATH`` (relative to the dbt project; a read-only image points it at a writable
    place), by default the project's ``target/``."""
    root = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    return root if root.is_absolute() else DBT_PROJECT_DIR / root


def keep_partial_parse(invocation_target: Path, into: Path | None = None) -> None:
    """Make a build's parse the next build's starting point.

    dagster-dbt gives every invocation its own target folder and seeds it with
    ``target/partial_parse.msgpack``, which ``make setup`` wrote for the default profile; on another
    profile (PostgreSQL, another DuckDB file) dbt finds it stale and parses the whole project again
    (3.5 s of each build on 2 cores). Copying the build's own file back (atomically: builds of other
    runs may read it meanwhile) lets the next build on the same warehouse parse only what changed;
    dbt itself still checks the file against the project, profile and variables."""
    built = Path(invocation_target) / "partial_parse.msgpack"
    if not built.is_file():
        return
    into = build_target_root() if into is None else into
    kept = into / "partial_parse.msgpack"
    spare = kept.with_name(f".partial_parse.{os.getpid()}.{uuid.uuid4().hex[:8]}.msgpack")
    try:
        into.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, spare)
        os.replace(spare, kept)
    except OSError as exc:  # a read-only project folder: the next build parses in full, as before
        log.warning("could not keep dbt's partial parse file for the next build: %s", exc)
        spare.unlink(missing_ok=True)


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's resource, minus two costs paid on every build before dbt starts:

    - a ``dbt --version`` subprocess (1.9 s on 2 cores) when the dbt it runs is the one installed beside
      this interpreter: that dbt's version is the imported one;
    - a dbt adapter built inside the step's own process (importing dbt and its adapter, reading the
      profile and project: 1.4 s of a 17 s build step on 2 cores, on the critical path of every run).
      dagster-dbt uses that adapter only for ``fetch_row_counts()`` and ``fetch_column_metadata()``,
      which extra queries per model would need; the build streams dbt's own events, whose table names
      come from the manifest. Set ``in_process_adapter=True`` for an asset that calls them."""

    in_process_adapter: bool = False

    def _initialize_dbt_core_adapter(self, args):
        return super()._initialize_dbt_core_adapter(args) if self.in_process_adapter else None

    @functools.cached_property
    def _cli_version(self):
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            from dbt.version import __version__
            from packaging.version import parse

            return parse(__version__)
        return super()._cli_version


# What a scheduled build skips unless the operator asks for it (the variable set, any value, wins):
# dbt's debug log file, every SQL statement of every node (8.5 MB a full build, ~2 s of a 21 s build on
# 2 cores; warnings and errors are still written), and the JSON artifacts manifest.json and
# run_results.json (~2 s; Dagster records each node's result itself). `benchmarks/bench_dbt.py --overheads`
# measures both side by side. DBT_LOG_LEVEL_FILE=debug or DBT_WRITE_JSON=true bring them back.
BUILD_FLAG_DEFAULTS = {"DBT_LOG_LEVEL_FILE": ["--log-level-file", "warn"], "DBT_WRITE_JSON": ["--no-write-json"]}


def build_global_flags(environ: Mapping[str, str] = os.environ) -> list[str]:
    """dbt's global flags for Dagster's builds: the defaults above, minus those the operator set."""
    return [flag for var, flags in BUILD_FLAG_DEFAULTS.items() if var not in environ for flag in flags]


def dbt_resource() -> DbtCliResource:
    executable, *launcher = dbt_command()  # dagster-dbt runs [executable, *global flags, *arguments]
    return ProjectDbtCliResource(project_dir=str(DBT_PROJECT_DIR), profiles_dir=str(DBT_PROJECT_DIR),
                                 dbt_executable=executable, global_config_flags=[*launcher, *build_global_flags()])


BUILD_FOLDER_PREFIX = "projectx_dbt_models-"
KEEP_FAILED_BUILDS = 10
BUILD_FOLDER_GRACE_S = 3600


def prune_build_folders(target: Path | None = None, keep: int = KEEP_FAILED_BUILDS,
                        grace_s: float = BUILD_FOLDER_GRACE_S, now: float | None = None) -> list[Path]:
    """Delete the oldest per-build folders dagster-dbt leaves in ``target/`` beyond the newest `keep`.

    A successful build removes its own folder (:func:`finish_build_folder`); what stays is a failed or
    killed build's compiled SQL and log, for the operator. Without this every scheduled run added one
    (17 MB for a full build with the debug log), and the disk filled. A folder touched within
    `grace_s` is never removed: another run's build may be writing it."""
    now = time.time() if now is None else now
    target = build_target_root() if target is None else target
    try:
        folders = sorted((p for p in target.glob(f"{BUILD_FOLDER_PREFIX}*") if p.is_dir()),
                         key=lambda p: p.stat().st_mtime, reverse=True)
    except OSError:
        return []
    removed = []
    for folder in folders[keep:]:
        try:
            if now - folder.stat().st_mtime < grace_s:
                continue
            shutil.rmtree(folder)
            removed.append(folder)
        except OSError as exc:  # gone meanwhile, or not ours to delete: the next build tries again
            log.warning("could not remove the old dbt build folder %s: %s", folder, exc)
    return removed


def finish_build_folder(invocation_target: Path, into: Path | None = None) -> None:
    """After a successful build: keep its parse for the next build, then drop its folder."""
    keep_partial_parse(invocation_target, into=into)
    shutil.rmtree(invocation_target, ignore_errors=True)


class LayeredDbtTranslator(DagsterDbtTranslator):
    """Models keyed ``[layer, model]`` and grouped by layer; sources keep their meta asset keys."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return AssetKey([self._layer(dbt_resource_props), dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return self._layer(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        """The layer's owners from resources/owners.yaml (a model's own `meta.owner`/`owner` config wins)."""
        return list(super().get_owners(dbt_resource_props) or owners_for(self.get_group_name(dbt_resource_props)))

    def get_asset_check_spec(self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: Any) -> AssetCheckSpec | None:
        """dbt's `description:` on a data test becomes the check's description in the Checks tab.

        A source test (unique ``sys_id`` on ``servicenow.incidents``) names, in its ``meta.dagster.ref``,
        the staging model that reads the source, and becomes a check on that model: a check on the dlt
        asset itself would split the dbt step in two, and without a check dagster-dbt logs a warning and
        an observation for it on every run."""
        if unique_id in manifest["nodes"] and asset_spec.key not in self._model_keys(manifest):
            key = get_asset_check_key_for_test(manifest, self, unique_id, project)
            if key is None or key.asset_key == asset_spec.key:
                return None  # a source test with no staging model named: left to dagster-dbt's observation
            asset_spec = AssetSpec(key.asset_key)
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"].get(unique_id, {})
        if spec is not None and not spec.description and test.get("description"):
            spec = replace(spec, description=test["description"].strip())
        return spec

    @functools.cached_property
    def _model_keys_cache(self) -> dict[int, frozenset[AssetKey]]:
        return {}

    def _model_keys(self, manifest: Mapping[str, Any]) -> frozenset[AssetKey]:
        """The keys of the project's own relations (not its sources), per manifest."""
        cache = self._model_keys_cache
        if id(manifest) not in cache:
            cache[id(manifest)] = frozenset(self.get_asset_key(n) for n in manifest["nodes"].values()
                                            if n["resource_type"] in ("model", "seed", "snapshot"))
        return cache[id(manifest)]

    @staticmethod
    def _layer(props: Mapping[str, Any]) -> str:
        if props["resource_type"] == "seed":
            return "catalog"
        fqn = props.get("fqn", [])
        folder = fqn[1] if len(fqn) > 2 else "models"
        if folder == "marts" and len(fqn) > 3 and fqn[2] == "outbound":
            return "outbound"
        return folder


# The `dbt build` a Dagster run executes (dagster-dbt appends the run's --select).
PRODUCTION_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]

# Source tests (e.g. unique sys_id on servicenow.incidents) are checks on the staging model that reads
# the source (its meta.dagster.ref; see get_asset_check_spec). As checks on the dlt assets themselves
# they split full_sync's dbt step in two; as observations dagster-dbt warned about each, every run.
TRANSLATOR = LayeredDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True,
                                                                        enable_source_tests_as_checks=True))


@functools.cache
def _relations_by_key() -> dict[AssetKey, tuple[str, str, frozenset[AssetKey]]]:
    """Each dbt model and seed that is a relation: asset key -> (schema, name, what building it reads).

    What it reads: its parent models and seeds, and those of its data tests (a relationships test
    reads the model it points at)."""
    nodes = json.loads(MANIFEST.read_text())["nodes"]
    relations = {uid: n for uid, n in nodes.items()
                 if n["resource_type"] in ("model", "seed") and n["config"].get("materialized") != "ephemeral"}
    reads: dict[str, set[str]] = {uid: set(n["depends_on"].get("nodes", [])) for uid, n in relations.items()}
    for test in (n for n in nodes.values() if n["resource_type"] == "test"):
        deps = set(test["depends_on"].get("nodes", []))
        for uid in deps & reads.keys():
            reads[uid] |= deps - {uid}
    key = {uid: TRANSLATOR.get_asset_key(n) for uid, n in relations.items()}
    return {key[uid]: (n["schema"], n["alias"], frozenset(key[p] for p in reads[uid] if p in relations))
            for uid, n in relations.items()}


def unbuilt_parents(selected: Iterable[AssetKey], exists: Callable[[str, str], bool]) -> list[str]:
    """The relations a build of `selected` reads but does not build, and that the warehouse lacks."""
    relations = _relations_by_key()
    chosen = set(selected)
    parents = {p for k in chosen if k in relations for p in relations[k][2]} - chosen
    return sorted(f"{relations[p][0]}.{relations[p][1]}" for p in parents if not exists(*relations[p][:2]))


def first_few(names: list[str], limit: int = 5) -> str:
    """'a, b, c' or 'a, b, c, d, e and 7 more': names for a one-line message."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


NEEDS_FULL_SYNC = (
    "Run the full_sync job once on a new warehouse (Launchpad, or "
    "`dagster job launch -m definitions -j full_sync`); the warehouse_bootstrap sensor starts it by itself "
    "where sensors run. Vendor jobs build only what is downstream of their vendor, on top of that build."
)


@dbt_assets(manifest=prepare_manifest(), dagster_dbt_translator=TRANSLATOR, pool=pool("dbt"), op_tags=op_tags("dbt"))
def projectx_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Build the selected dbt models and run their data tests (reported as asset checks).

    Unit tests check SQL logic against fixed inputs, not data: they run in CI and ``make test``
    (``dbt build`` there), not on every scheduled sync, as dbt recommends for production.
    """
    if set(context.selected_asset_keys) != set(projectx_dbt_models.keys):  # a vendor job's subset
        with warehouse.connect() as con:
            missing = unbuilt_parents(context.selected_asset_keys, con.table_exists)
        if missing:
            raise Failure(
                description=f"This run builds dbt models that read {first_few(missing)}, which the warehouse "
                            f"does not have yet. {NEEDS_FULL_SYNC}",
                metadata={"missing_relations": MetadataValue.json(missing)},
            )
    warehouse.export_env()
    prune_build_folders()
    invocation = dbt.cli(PRODUCTION_BUILD_ARGS, context=context)
    yield from invocation.stream()
    finish_build_folder(invocation.target_path)
