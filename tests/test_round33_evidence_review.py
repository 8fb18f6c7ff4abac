"""Round 33 review: what a reviewer found in the RTF, OneNote and encrypted-PDF walkers (each case failed before).

``containers.problem`` returns why a file is quarantined, or None (stored clean)."""

from __future__ import annotations

from resources.evidence import containers
from resources.evidence.containers import problem


def test_a_bin_with_a_bare_minus_is_no_crash():
    found = problem(b"{\\rtf1{\\object\\objemb{\\*\\objdata \\bin- 41}}}", 1 << 30, unseen=(seen := []))
    assert found is None and [obj for _, obj in seen] == [b"A"], found


def test_an_unexpected_error_in_a_walker_quarantines_the_file(monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("bug")

    monkeypatch.setattr(containers.carriers, "walk", broken)
    found = problem(b"{\\rtf1 hello\\par}", 1 << 30)
    assert found is not None and not found.pending and "could not be checked: ValueError" in found.reason, found
