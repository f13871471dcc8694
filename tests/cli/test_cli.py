"""The command line as an analyst uses it, on the embedded store in a fresh INDICIA_HOME."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from indicia.cli import app

WALKTHROUGH = [
    "ioc",
    "add",
    "123.56.220.219",
    "--type",
    "ipv4-addr",
    "--name",
    "Web App Attack",
    "--kill-chain",
    "lockheed:reconnaissance",
    "--severity",
    "medium",
    "--tlp",
    "amber",
    "--confidence",
    "80",
    "--tag",
    "web-attack",
    "--tag",
    "scanner",
    "--source",
    "AbuseIPDB",
]


def cli(*args: str, code: int = 0, stdin: str | None = None) -> str:
    # A wide terminal, so Rich never folds a table header.
    result = CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def added(*args: str) -> str:
    """The id ``ioc add`` prints on standard output (notices go to standard error)."""
    result = CliRunner().invoke(app, ["ioc", "add", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def listing(*args: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(cli("ioc", "list", "--format", "json", *args))
    return rows


@pytest.fixture
def walkthrough(indicia_home: Path) -> str:
    return cli(*WALKTHROUGH).strip()


def test_add_prints_the_id_and_list_shows_the_classification(walkthrough: str) -> None:
    assert walkthrough.startswith("indicator--")

    [row] = listing()

    assert row["id"] == walkthrough
    assert {k: row[k] for k in ("value", "name", "type", "source", "confidence", "alerts")} == {
        "value": "123.56.220.219",
        "name": "Web App Attack",
        "type": "ipv4-addr",
        "source": "AbuseIPDB",
        "confidence": 80,
        "alerts": 0,
    }
    assert (row["tlp"], row["severity"], row["tags"]) == (
        "amber",
        "medium",
        ["web-attack", "scanner"],
    )
    assert row["kill_chain_phases"] == [
        {"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "reconnaissance"}
    ]
    expected_keys = {
        "id",
        "value",
        "name",
        "type",
        "source",
        "confidence",
        "alerts",
        "tags",
        "tlp",
        "severity",
        "kill_chain_phases",
        "valid_from",
        "valid_until",
        "revoked",
        "created",
        "modified",
    }
    assert expected_keys <= set(row)


def test_table_has_the_intel_management_columns(walkthrough: str) -> None:
    out = cli("ioc", "list")

    for header in ("Values", "Name", "Types", "Source", "Confidence", "Alerts", "Tags"):
        assert header in out
    assert "123.56.220.219" in out and "AbuseIPDB" in out


def test_csv_output_with_chosen_columns(walkthrough: str) -> None:
    out = cli("ioc", "list", "--format", "csv", "--columns", "values,tlp,severity")

    assert out.splitlines() == ["Values,TLP,Severity", "123.56.220.219,amber,medium"]


def test_unknown_kill_chain_phase_lists_the_valid_ones(indicia_home: Path) -> None:
    out = cli("ioc", "add", "198.51.100.1", "--kill-chain", "lockheed:recon", code=2)

    assert "reconnaissance" in out and "actions-on-objectives" in out


def test_invalid_values_are_errors_that_name_them(indicia_home: Path) -> None:
    out = cli("ioc", "add", "203.0.113.300", "--type", "ipv4-addr", code=2)
    assert "203.0.113.300" in out

    out = cli(
        "ioc",
        "add",
        "1234567890123456789012345678901234567890123456789012345678901",
        "--type",
        "sha256",
        code=2,
    )
    assert "61" in out


def test_filters(walkthrough: str) -> None:
    cli(
        "ioc",
        "add",
        "evil.example.org",
        "--source",
        "Feed B",
        "--tlp",
        "green",
        "--confidence",
        "30",
    )

    assert [r["value"] for r in listing("--type", "domain-name")] == ["evil.example.org"]
    assert [r["value"] for r in listing("--source", "abuseipdb")] == ["123.56.220.219"]
    assert [r["value"] for r in listing("--tag", "scanner")] == ["123.56.220.219"]
    assert [r["value"] for r in listing("--tlp", "green")] == ["evil.example.org"]
    assert [r["value"] for r in listing("--min-confidence", "50")] == ["123.56.220.219"]
    assert [r["value"] for r in listing("--search", "web app")] == ["123.56.220.219"]
    assert [r["value"] for r in listing("--sort", "value", "--limit", "1")] == ["123.56.220.219"]
    assert [r["value"] for r in listing("--sort", "value", "--offset", "1")] == ["evil.example.org"]
    assert len(listing("--active")) == 2 and listing("--expired") == []


def test_tag_edit_revoke_delete(walkthrough: str) -> None:
    cli("ioc", "tag", walkthrough, "--add", "apt", "--remove", "scanner")
    assert listing()[0]["tags"] == ["web-attack", "apt"]

    cli("ioc", "edit", walkthrough, "--severity", "high", "--tlp", "red")
    row = listing()[0]
    assert (row["severity"], row["tlp"]) == ("high", "red")
    shown = json.loads(cli("ioc", "show", walkthrough))
    assert shown["x_indicia_severity"] == "high"

    cli("ioc", "revoke", walkthrough)
    assert [r["revoked"] for r in listing("--revoked")] == [True]
    assert listing("--active") == []

    cli("ioc", "delete", walkthrough)
    assert listing() == []
    assert "no object with id" in cli("ioc", "show", walkthrough, code=2)


def test_objects_counts_per_type(walkthrough: str, tmp_path: Path) -> None:
    bundle = Path(__file__).parent.parent / "data" / "feeds" / "stix" / "apt1.json"
    cli("import", str(bundle))

    counts = json.loads(cli("objects", "--format", "json"))

    objs = json.loads(bundle.read_text())["objects"]
    assert counts["indicator"] == 1 + sum(o["type"] == "indicator" for o in objs)
    assert counts["threat-actor"] == sum(o["type"] == "threat-actor" for o in objs)
    assert counts["attack-pattern"] == sum(o["type"] == "attack-pattern" for o in objs)
    assert counts["identity"] == sum(o["type"] == "identity" for o in objs)
    table = cli("objects")
    assert "Indicators" in table and "Threat actors" in table and "Relationships" in table


def test_import_json_counts_and_exit_codes(indicia_home: Path, tmp_path: Path) -> None:
    good = tmp_path / "list.txt"
    good.write_text("# list\n198.51.100.9\nbad.example.net\n")
    report = json.loads(cli("import", str(good), "--format", "json"))
    assert (report["created"], report["unchanged"], report["rejected"]) == (2, 0, 0)

    again = json.loads(cli("import", str(good), "--format", "json"))
    assert (again["created"], again["unchanged"]) == (0, 2)

    bad = tmp_path / "bad.csv"
    bad.write_text("value,type\n203.0.113.999,ipv4-addr\n")
    report = json.loads(cli("import", str(bad), "--format", "json", code=1))
    assert report["rejected"] == 1 and f"{bad}:2" in report["rejections"][0]


def test_extract_json_positions_and_add(indicia_home: Path) -> None:
    text = "Second stage: hxxps://files.example.org/drop/stage2.bin from 203.0.113.77"

    found = json.loads(cli("extract", "-", "--format", "json", stdin=text))

    assert [(f["kind"], f["value"]) for f in found] == [
        ("url", "https://files.example.org/drop/stage2.bin"),
        ("ipv4-addr", "203.0.113.77"),
    ]
    assert text[found[1]["start"] : found[1]["end"]] == "203.0.113.77"
    cli("extract", "-", "--add", "--source", "IR-42", stdin=text)
    assert {r["source"] for r in listing()} == {"IR-42"}


def test_stored_text_is_shown_as_text_never_as_markup(indicia_home: Path) -> None:
    name = "closing [/red] tag [/] and [bold]x[/bold]"
    cli("ioc", "add", "198.51.100.72", "--name", name)

    assert name in cli("ioc", "list")


def test_version_needs_no_command() -> None:
    from indicia import __version__

    assert cli("--version").strip() == f"indicia {__version__}"


def test_control_characters_from_a_feed_never_reach_the_terminal(
    indicia_home: Path, tmp_path: Path
) -> None:
    # A name that would clear the screen and retitle the window, and a right-to-left override.
    feed = tmp_path / "feed.csv"
    feed.write_text('value,name\nx.example,"\x1b[2J\x1b]0;pwn\x07 \u202eexe.txt"\n', "utf-8")
    cli("import", str(feed))

    shown = cli("ioc", "list", "--columns", "values,name")

    assert "\x1b" not in shown and "\x07" not in shown and "\u202e" not in shown
    assert "\\x1b[2J\\x1b]0;pwn\\x07 \\u202eexe.txt" in shown


def test_a_named_store_must_exist_where_it_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INDICIA_DB", f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")

    out = cli("ioc", "list", code=2)

    assert "does not exist" in out and not (tmp_path / "no").exists()


def test_import_of_a_missing_file_cannot_run(indicia_home: Path, tmp_path: Path) -> None:
    out = cli("import", str(tmp_path / "nope.json"), code=2)

    assert "nope.json: no such file" in out


def test_a_long_table_shows_its_first_rows_and_says_how_to_see_all(
    indicia_home: Path, tmp_path: Path
) -> None:
    from indicia.cli_output import TABLE_ROWS

    feed = tmp_path / "many.txt"
    feed.write_text("".join(f"198.51.{n // 250}.{n % 250}\n" for n in range(TABLE_ROWS + 30)))
    cli("import", str(feed))

    table = cli("ioc", "list", "--columns", "values")

    assert f"showing the first {TABLE_ROWS} of {TABLE_ROWS + 30} indicators" in table
    assert "--format json or csv lists them all" in table
    assert len(listing()) == TABLE_ROWS + 30  # JSON is never cut


def test_a_value_already_recorded_is_not_recorded_again(indicia_home: Path) -> None:
    first = added("203.0.113.9", "--name", "C2")

    refused = cli("ioc", "add", "203.0.113.9", code=2)
    assert f"203.0.113.9 is already recorded as {first}" in refused
    assert f"indicia ioc edit {first}" in refused
    text = "beacons to 203.0.113.9 and hxxp://evil[.]example/x"
    assert "1 indicators recorded, 1 already recorded" in cli("extract", "-", "--add", stdin=text)
    assert "0 indicators recorded, 2 already recorded" in cli("extract", "-", "--add", stdin=text)
    assert sorted(r["value"] for r in listing()) == ["203.0.113.9", "http://evil.example/x"]

    # A revoked or expired indicator no longer stands for the value: a new one may be made.
    cli("ioc", "revoke", first)
    again = added("203.0.113.9")
    cli("ioc", "add", "198.51.100.4", "--valid-from", "2020-01-01", "--valid-until", "2021-01-01")
    cli("ioc", "add", "198.51.100.4")
    assert again != first
    assert len(listing("--search", "198.51.100.4", "--expired")) == 1
    assert len(listing("--search", "198.51.100.4", "--active")) == 1


def test_ioc_add_says_what_canonicalising_changed(indicia_home: Path) -> None:
    result = CliRunner().invoke(app, ["ioc", "add", "10.1.2.3/8"], env={"COLUMNS": "200"})

    assert result.exit_code == 0, result.output
    assert "notice: 10.1.2.3/8: host bits set in 10.1.2.3/8; kept 10.0.0.0/8" in result.output
    assert "refanged" in cli("ioc", "add", "hxxp://evil[.]example/a")
    assert sorted(r["value"] for r in listing()) == ["10.0.0.0/8", "http://evil.example/a"]


def test_ioc_add_says_when_a_warninglist_will_withhold_the_value(indicia_home: Path) -> None:
    env = {"COLUMNS": "300"}
    listed = CliRunner().invoke(app, ["ioc", "add", "10.1.2.3"], env=env)
    plain = CliRunner().invoke(app, ["ioc", "add", "185.220.101.9"], env=env)

    assert listed.exit_code == plain.exit_code == 0, listed.output
    assert (
        "notice: 10.1.2.3 is on the warninglist 'List of RFC 1918 CIDR blocks': matching "
        "withholds its hits (counted as suppressed) unless run with --no-warninglists"
    ) in listed.output
    assert "notice" not in plain.output
    # The value is recorded all the same: the analyst may mean it.
    assert sorted(r["value"] for r in listing()) == ["10.1.2.3", "185.220.101.9"]


def test_an_edit_that_changes_nothing_writes_no_version(indicia_home: Path) -> None:
    ident = added("203.0.113.50", "--name", "C2")

    assert "nothing to change" in cli("ioc", "edit", ident, code=2)
    assert f"{ident} unchanged" in cli("ioc", "edit", ident, "--name", "C2")
    assert f"{ident} modified" in cli("ioc", "edit", ident, "--name", "C2 server")

    from indicia.store import Store

    store = Store.open()
    try:
        assert [v["name"] for v in store.history(ident)] == ["C2", "C2 server"]
        assert store.get(ident)["name"] == "C2 server"
    finally:
        store.close()


def test_type_names_are_checked_and_the_types_column_names_work_everywhere(
    indicia_home: Path,
) -> None:
    md5 = "44d88612fea8a8f36de82e1278abb02f"
    cli("ioc", "add", md5, "--type", "file:md5")
    cli("ioc", "add", "evil.example")
    cli("ioc", "add", "10.0.0.0/8")

    assert [r["value"] for r in listing("--type", "file:md5")] == [md5]
    assert [r["value"] for r in listing("--type", "domain")] == ["evil.example"]
    assert [r["value"] for r in listing("--type", "cidr")] == ["10.0.0.0/8"]
    assert [r["value"] for r in listing("--sort", "values")][0] == "10.0.0.0/8"
    refused = cli("ioc", "list", "--type", "bogus", code=2)
    assert "unknown type 'bogus'; choose one of domain-name" in refused


def test_import_takes_folders_and_says_why_it_cannot_read_stdin(
    indicia_home: Path, tmp_path: Path
) -> None:
    feeds = tmp_path / "feeds"
    (feeds / "more").mkdir(parents=True)
    (feeds / "a.txt").write_text("198.51.100.1\n")
    (feeds / "more" / "b.csv").write_text("value,type\nevil.example,domain-name\n")
    (feeds / ".hidden").write_text("198.51.100.2\n")
    (feeds / ".git").mkdir()
    (feeds / ".git" / "list.txt").write_text("198.51.100.3\n")
    outside = tmp_path / "outside.txt"
    outside.write_text("198.51.100.4\n")
    (feeds / "link.txt").symlink_to(outside)
    (feeds / "linked").symlink_to(tmp_path, target_is_directory=True)
    # Documentation beside the feeds is passed over, not read as a list of rejected lines.
    (feeds / "SOURCES.md").write_text("# Sources\n\n| file | licence |\n")
    (feeds / "README").write_text("These feeds come from 198.51.100.5's vendor.\n")
    (feeds / "more" / "LICENSE.txt").write_text("CC0 1.0\n")
    (feeds / "notice_c2.txt").write_text("198.51.100.6\n")  # a feed, not a NOTICE file

    report = json.loads(cli("import", str(feeds), "--format", "json"))

    assert (report["created"], report["rejected"]) == (3, 0)
    values = sorted(r["value"] for r in listing())
    assert values == ["198.51.100.1", "198.51.100.6", "evil.example"]
    assert "not standard input" in cli("import", "-", code=2)
    assert "no such file" in cli("import", str(tmp_path / "absent.json"), code=2)
    (tmp_path / "empty").mkdir()
    assert "holds no file" in cli("import", str(tmp_path / "empty"), code=2)


def test_edit_sets_validity_and_the_duplicate_check_reads_email_without_case(
    indicia_home: Path,
) -> None:
    ident = cli("ioc", "add", "185.220.101.9").strip()
    cli("ioc", "edit", ident, "--valid-from", "2026-02-01", "--valid-until", "2027-01-01")
    [row] = listing()
    assert (row["valid_from"], row["valid_until"]) == (
        "2026-02-01T00:00:00.000000Z",
        "2027-01-01T00:00:00.000000Z",
    )

    cli("ioc", "add", "bad@evil.example.com")
    assert "is already recorded" in cli("ioc", "add", "BAD@Evil.Example.Com", code=2)
    cli("ioc", "add", "185.220.101.9:443")
    assert "185.220.101.9:443 is already recorded" in cli("ioc", "add", "185.220.101.9:443", code=2)


def test_emoji_codes_in_stored_text_stay_text(indicia_home: Path) -> None:
    cli("ioc", "add", "185.220.101.77", "--name", "root:x:0:0 :smile:")

    assert "root:x:0:0 :smile:" in cli("ioc", "list", "--columns", "values,name")
    assert "unknown output format 'yaml'" in cli("alerts", "--format", "yaml", code=2)


def test_a_home_that_cannot_be_made_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("INDICIA_HOME", str(blocker / "home"))
    monkeypatch.delenv("INDICIA_DB", raising=False)

    out = cli("ioc", "list", code=2)

    assert "cannot create the store's folder" in out and "set INDICIA_HOME" in out


def test_a_database_of_another_application_is_not_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    other = tmp_path / "crm.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER)")
    monkeypatch.setenv("INDICIA_DB", f"sqlite:///{other}")

    out = cli("ioc", "list", code=2)

    assert "holds other tables (customers) and no Indicia store" in out
    with sqlite3.connect(other) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"customers"}


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_store_is_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INDICIA_DB", url)

    assert "in-memory SQLite store, which keeps nothing" in cli("ioc", "list", code=2)
