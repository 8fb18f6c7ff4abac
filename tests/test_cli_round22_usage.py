"""Round 22: a vendor command's usage needs no settings: ``python -m pipelines.<vendor> --help`` prints
its usage (exit 0) and a mistyped flag exits 2 even when none of the vendor's variables is set
(they were read first, so both answered "SERVICENOW_BASE_URL is not set" with exit 1)."""

from __future__ import annotations

import pytest

from tests.test_cli_round19_errors import _clean, _run


@pytest.mark.parametrize("vendor", ["servicenow", "jira", "onetrust"])
def test_usage_comes_before_the_settings(tmp_path, vendor):
    out = _clean(_run(tmp_path, f"pipelines.{vendor}", "--help"), 0, f"python -m pipelines.{vendor} [--debug]")
    assert "not set" not in out and "Set " not in out
    err = _clean(_run(tmp_path, f"pipelines.{vendor}", "--bogus"), 2, "Unexpected argument(s): --bogus")
    assert "not set" not in err
    assert not (tmp_path / "w.duckdb").exists(), "neither may start a sync"


def test_without_arguments_the_missing_setting_is_still_named(tmp_path):
    _clean(_run(tmp_path, "pipelines.servicenow"), 1, "SERVICENOW_BASE_URL")
