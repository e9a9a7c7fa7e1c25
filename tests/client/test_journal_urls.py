"""Journal URLs as users type them (outside review of the PostgreSQL journal): a password never shows, whatever it
holds; a typo or another database is refused instead of becoming a local file; lease settings are checked."""

from __future__ import annotations

import pytest
from clikit import run

from wan26core._journal import open_journal
from wan26core._journal_lease import lease_seconds
from wan26core._journal_rows import JournalError
from wan26core._redaction import dsn_secrets, redact_dsn, scrub

LEAKY = [
    "postgresql://wan26:pa#ssLEAK@127.0.0.1:1/x",
    "postgresql://wan26:pa/ssLEAK@127.0.0.1:1/x",
    "postgresql://wan26:pa?ssLEAK@127.0.0.1:1/x",
    "postgresql://wan26:pw%ZZLEAK@127.0.0.1:1/x",
    "postgresql://127.0.0.1:1/x?user=wan26&password=LEAK%ZZ",
]


@pytest.mark.parametrize("url", LEAKY)
def test_a_password_with_any_character_never_shows(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert "LEAK" not in redact_dsn(url)
    code, out, err = run(capsys, "jobs", "list", "--journal", url)
    assert code == 2 and "LEAK" not in out + err and err.startswith("wan26: error: ") and "postgresql://" in err


def test_the_pieces_a_driver_may_quote_are_scrubbed_too() -> None:
    secrets = dsn_secrets("postgresql://wan26:p@ssLEAK@db.example/x")
    assert scrub("failed to resolve host 'ssLEAK@db.example'", secrets) == "failed to resolve host 'REDACTED@db.example'"
    assert redact_dsn("postgresql://wan26:p@ssLEAK@db.example/x") == "postgresql://REDACTED@db.example/x"
    assert redact_dsn("postgresql://db.example/x") == "postgresql://db.example/x"


@pytest.mark.parametrize(
    "target",
    ["mysql://wan26:secret@db/x", "postgresq://db/x", "host=db.example password=secret dbname=x", "  "],
)
def test_a_typo_or_another_database_is_refused_not_made_a_file(target: str, tmp_path: object) -> None:
    with pytest.raises(JournalError) as caught:
        open_journal(target)
    assert "secret" not in str(caught.value)


def test_a_blank_journal_url_means_the_default_and_an_upper_case_scheme_is_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("WAN26_HOME", str(tmp_path))
    assert open_journal(environ={"WAN26_JOURNAL_URL": "   "}).location.endswith("journal.sqlite3")
    with pytest.raises(JournalError, match=r"PostgreSQL journal at postgresql://127\.0\.0\.1:1/x"):
        open_journal("POSTGRESQL://127.0.0.1:1/x")


@pytest.mark.parametrize("value", ["0", "-1", "nan", "abc", "1e12", "inf"])
def test_a_lease_setting_out_of_range_is_one_clear_error(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAN26_LEASE_SECONDS", value)
    with pytest.raises(JournalError, match="WAN26_LEASE_SECONDS must be a number of seconds above 0 and at most"):
        lease_seconds()
    monkeypatch.setenv("WAN26_LEASE_SECONDS", "2.5")
    assert lease_seconds() == 2.5
