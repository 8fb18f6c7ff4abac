"""The archive limits are settings: the zip-bomb ratio (``PROJECTX_EVIDENCE_MAX_RATIO``, default 200
times the file's size), the expansion past which it applies (``PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES``,
default 100 MiB) and the expansion budget (``PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES``, default
max(10 x the size limit, 1 GiB)) are read from the environment by ``EvidenceLibrary.from_env``; a value
that is not a whole number in range stops with an error naming the variable and what to set; each is
in the README's Evidence Library table.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from resources.evidence.containers import MAX_RATIO, RATIO_FLOOR
from resources.evidence.library import DEFAULT_MAX_BYTES, EvidenceLibrary

ROOT = Path(__file__).resolve().parents[1]
LIMITS = ("PROJECTX_EVIDENCE_MAX_BYTES", "PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES", "PROJECTX_EVIDENCE_MAX_RATIO",
          "PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A local library without a scanner, its folders in tmp_path; no limit set."""
    for name in (*LIMITS, "PROJECTX_CLAMD_ADDRESS", "PROJECTX_EVIDENCE_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.setenv("PROJECTX_EVIDENCE_REQUIRE_SCAN", "false")
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PROJECTX_EVIDENCE_LEDGER", str(tmp_path / "ledger.sqlite"))
    return monkeypatch


def _library(tmp_path) -> EvidenceLibrary:
    return EvidenceLibrary.from_env(local_root=tmp_path / "library")


def _zeros_zip(expanded: int) -> bytes:
    """A small zip of one text member of ``expanded`` bytes (compresses about 1000x)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("report.txt", b"0" * expanded)
    return out.getvalue()


def test_defaults_are_the_documented_ones(env, tmp_path):
    lib = _library(tmp_path)
    assert (lib.max_bytes, lib.max_expanded_bytes, lib.max_ratio, lib.ratio_floor) == (
        DEFAULT_MAX_BYTES, 1 << 30, MAX_RATIO, RATIO_FLOOR) == (100 << 20, 1 << 30, 200, 100 << 20)


def test_the_zip_bomb_ratio_and_its_floor_come_from_the_environment(env, tmp_path):
    """A 2 MiB expansion of a 2 KB zip is far over 200x but under the 100 MiB floor: stored by default;
    with the ratio at 50x past 1 MiB it is a zip bomb, quarantined with the ratio in the reason."""
    content = _zeros_zip(2 << 20)
    assert len(content) * 200 < 2 << 20
    assert _library(tmp_path).ingest(content, "a.zip", "sharepoint").status == "stored"

    env.setenv("PROJECTX_EVIDENCE_MAX_RATIO", "50")
    env.setenv("PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", str(1 << 20))
    lib = _library(tmp_path)
    assert (lib.max_ratio, lib.ratio_floor) == (50, 1 << 20)
    other = _zeros_zip((2 << 20) + 1)  # not the bytes stored above
    out = lib.ingest(other, "b.zip", "sharepoint")
    assert out.status == "quarantined", out
    assert "over 50 times its size" in out.reason and "a zip bomb" in out.reason

    env.setenv("PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", str(4 << 20))  # the floor alone lets it through
    assert _library(tmp_path).ingest(other, "b.zip", "sharepoint").status == "stored"


def test_the_expansion_budget_comes_from_the_environment(env, tmp_path):
    env.setenv("PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES", "1000000")
    out = _library(tmp_path).ingest(_zeros_zip(2 << 20), "c.zip", "sharepoint")
    assert out.status == "pending" and "PROJECTX_EVIDENCE_MAX_EXPANDED_BYTES" in out.reason


@pytest.mark.parametrize("name", LIMITS)
@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5", "2e9", "100MB", "1_000"])
def test_a_limit_that_is_not_a_whole_number_above_zero_names_the_variable_and_the_fix(env, tmp_path, name, raw):
    if name == "PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES" and raw == "0":
        return  # 0 is a floor: the ratio applies from the first byte
    env.setenv(name, raw)
    with pytest.raises(ValueError) as failed:
        _library(tmp_path)
    message = str(failed.value)
    assert message.startswith(f"{name}={raw!r} is not ")
    assert "set a whole number" in message and "or unset it for the default" in message


def test_a_zero_ratio_floor_applies_the_ratio_from_the_first_byte(env, tmp_path):
    env.setenv("PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", "0")
    env.setenv("PROJECTX_EVIDENCE_MAX_RATIO", "20")
    lib = _library(tmp_path)
    assert lib.ratio_floor == 0
    assert lib.ingest(_zeros_zip(100_000), "d.zip", "sharepoint").status == "quarantined"


def test_empty_means_the_default_and_spaces_are_ignored(env, tmp_path):
    env.setenv("PROJECTX_EVIDENCE_MAX_RATIO", "")
    env.setenv("PROJECTX_EVIDENCE_RATIO_FLOOR_BYTES", " 1048576 ")
    lib = _library(tmp_path)
    assert (lib.max_ratio, lib.ratio_floor) == (MAX_RATIO, 1 << 20)


def test_every_archive_limit_is_documented_with_the_evidence_limits():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| `PROJECTX_EVIDENCE_STORE` |"):]
    for name in LIMITS:
        assert f"| `{name}` |" in table, f"{name} is missing from the README's Evidence Library table"
