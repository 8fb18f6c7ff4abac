"""Round 29: ``python -m cli notifications failed|resend`` print keys, targets and errors that hold vendor text.
An ESC sequence there (a OneTrust task id, an owner reference, an exception's text) reached the operator's
terminal as is: it could clear the screen, hide the row above or make a link that shows one thing and opens
another. Each field is one line now, its control and invisible format characters shown as escapes."""

from __future__ import annotations

from assets.notifications import ledger as ledger_mod
from cli.__main__ import main
from resources.warehouse import WarehouseResource

KEY = "onetrust_vendor_issue:\x1b]8;;https://evil.example\x07TASK-1\x1b]8;;\x07\n@email:vendors@projectx.io"
TARGET = "vendors@projectx.io\x1b[1A\x1b[2K"
ERROR = "not delivered: ValueError: bad \x1b[2Jtitle \u202egnp.exe\r\nforged line"


def _failed_row(key: str) -> None:
    with WarehouseResource.from_env().connect() as conn:
        ledger_mod.ensure_ledger(conn)
        ledger_mod.mark_sending(conn, [{"notification_key": key, "event_type": "onetrust_vendor_issue",
                                        "channel_type": "email", "target": TARGET}], "dlv-hostile", "corr-1")
        ledger_mod.mark_done(conn, "dlv-hostile", "failed", error=ERROR)


def test_failed_shows_hostile_fields_escaped_one_row_per_line(duckdb_warehouse, capsys):
    _failed_row(KEY)
    assert main(["notifications", "failed"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("1 failed notification(s)")
    for bad in ("\x1b", "\x07", "\r", "\u202e"):
        assert bad not in out
    assert "\\x1b]8;;https://evil.example\\x07TASK-1" in lines[0]  # shown, so the operator sees the attempt
    assert "\\u202egnp.exe" in lines[0] and "forged line" in lines[0]


def test_resend_names_an_unknown_hostile_key_escaped(duckdb_warehouse, capsys):
    _failed_row(KEY)
    assert main(["notifications", "resend", "--key", "x\x1b[2Jy"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "x\\x1b[2Jy" in err
    with WarehouseResource.from_env().connect() as conn:
        assert conn.scalar("select status from notifications.delivery_ledger") == "failed"


def test_resend_takes_a_key_as_failed_printed_it(duckdb_warehouse, capsys):
    """A key with control characters is printed escaped; that printed form names the stored key (else the
    listing's own hint, `resend --key KEY`, could never work for it)."""
    _failed_row(KEY)
    assert main(["notifications", "failed"]) == 0
    printed = capsys.readouterr().out.splitlines()[0].split("\t")[0]
    assert printed != KEY and "\x1b" not in printed
    main(["notifications", "resend", "--key", printed])
    err = capsys.readouterr().err
    assert "no such notification" not in err and "outbox" in err  # found; refused only as its outbox row is gone
