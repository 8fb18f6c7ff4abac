"""Round 22: evidence settings as an operator writes them.

- ``PROJECTX_EVIDENCE_REQUIRE_SCAN`` is a switch like the others (1/true/yes/on, 0/false/no/off, any case);
  anything else is refused naming the variable (``TRUE`` or ``1`` used to switch the requirement *off*).
- The ledger and the local store resolve ``data/`` at the repository, not the working directory, as the
  warehouse and the receiver do; ``PROJECTX_DATA_DIR`` moves all of them.
"""

from __future__ import annotations

import pytest

from pipelines.common.warehouse import WarehouseSettings
from resources.evidence.ledger import ledger_path
from resources.evidence.library import EvidenceLibrary
from resources.evidence.select import library_dir


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("PROJECTX_DATA_DIR", "PROJECTX_EVIDENCE_DIR", "PROJECTX_EVIDENCE_LEDGER", "PROJECTX_CLAMD_ADDRESS",
                 "PROJECTX_EVIDENCE_STORE", "PROJECTX_EVIDENCE_REQUIRE_SCAN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.chdir(tmp_path)  # a daemon started from elsewhere
    return monkeypatch


@pytest.mark.parametrize("raw, required", [("TRUE", True), ("1", True), ("yes", True), (" on ", True),
                                           ("False", False), ("0", False), ("no", False), ("", False)])
def test_require_scan_reads_any_usual_spelling(clean_env, tmp_path, raw, required):
    clean_env.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("PROJECTX_EVIDENCE_REQUIRE_SCAN", raw)
    assert EvidenceLibrary.from_env().require_scan is required


def test_require_scan_refuses_a_typo(clean_env, tmp_path):
    clean_env.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    clean_env.setenv("PROJECTX_EVIDENCE_REQUIRE_SCAN", "ture")
    with pytest.raises(ValueError, match=r"PROJECTX_EVIDENCE_REQUIRE_SCAN='ture' is not a switch: set true or false"):
        EvidenceLibrary.from_env()


def test_defaults_follow_the_warehouse_data_dir_not_the_working_directory(clean_env, tmp_path):
    data = WarehouseSettings.from_env().data_dir
    assert ledger_path().parent == library_dir().parent
    assert str(ledger_path().parent) == data and ledger_path().is_absolute()
    assert not str(ledger_path()).startswith(str(tmp_path))
    clean_env.setenv("PROJECTX_DATA_DIR", str(tmp_path / "srv"))
    assert ledger_path() == tmp_path / "srv" / "evidence-ledger.sqlite"
    assert library_dir() == tmp_path / "srv" / "evidence"
