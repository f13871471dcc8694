"""match, hunt, alerts and demo from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from indicia.cli import app
from indicia.cli_output import PIPED_WIDTH, make_console

DATA = Path(__file__).parent.parent / "data"
UMBRELLA = str(DATA / "logs" / "dns" / "umbrella-solarigate-beacon.csv")
CSL = str(DATA / "logs" / "cef" / "sentinel-commonsecuritylog-solarigate.csv")


def cli(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_match_json_then_alerts_ack_and_close(indicia_home: Path) -> None:
    cli("ioc", "add", "avsvmcloud.com", "--valid-from", "2019-01-01", "--confidence", "90")

    report = json.loads(cli("match", UMBRELLA, CSL, "--output", "json"))

    assert (report["events"], report["matches"], report["suppressed"]) == (2, 2, 0)
    assert len(report["alerts"]) == 2
    first = report["alerts"][0]["id"]
    cli("alerts", "ack", first)
    assert [
        a["id"] for a in json.loads(cli("alerts", "--status", "acknowledged", "--format", "json"))
    ] == [first]
    assert "1 alerts closed" in cli("alerts", "close", first)
    assert json.loads(cli("alerts", "--status", "acknowledged", "--format", "json")) == []
    # Status only moves forward: a late acknowledgement does not reopen a closed alert.
    assert "0 alerts acknowledged (1 already acknowledged or closed)" in cli("alerts", "ack", first)
    closed = json.loads(cli("alerts", "--status", "closed", "--format", "json"))
    assert [a["id"] for a in closed] == [first]
    assert "no alert with id" in cli("alerts", "close", "alert--nope", code=2)
    assert "unknown status" in cli("alerts", "--status", "open", code=2)


def test_match_table_summary_and_jsonl(indicia_home: Path) -> None:
    cli("ioc", "add", "avsvmcloud.com", "--valid-from", "2019-01-01")

    table = cli("match", UMBRELLA)
    assert "events read 1" in table and "matches 1" in table and "avsvmcloud.com" in table

    lines = cli("match", UMBRELLA, "--output", "jsonl").splitlines()
    assert [json.loads(line)["matched_value"] for line in lines] == ["avsvmcloud.com"]


def test_hunt_uses_current_indicators_on_old_logs(indicia_home: Path) -> None:
    cli("ioc", "add", "avsvmcloud.com")  # valid from now; the logs are from 2019 and 2021

    assert json.loads(cli("match", UMBRELLA, "--output", "json"))["matches"] == 0
    assert json.loads(cli("hunt", UMBRELLA, "--output", "json"))["older_than_since"] == 1
    hunted = json.loads(cli("hunt", UMBRELLA, "--since", "3000d", "--output", "json"))
    assert hunted["matches"] == 1
    assert "neither a span" in cli("hunt", UMBRELLA, "--since", "fortnight", code=2)


def test_demo_prints_honest_alerts_from_the_bundled_logs(indicia_home: Path) -> None:
    repo = Path(__file__).parent.parent.parent
    out = cli(
        "demo",
        "--intel", str(repo / "demo" / "sunburst" / "Indicator_Release_NBIs.csv"),
        "--intel", str(repo / "demo" / "sunburst" / "Indicator_Release_Hashes.csv"),
    )  # fmt: skip

    assert "Web App Attack" in out and "123.56.220.219" in out
    assert "SUNBURST C2 domain" in out
    assert "alerts 2" in out
    assert "umbrella" in out and "commonsecuritylog" in out
    assert (indicia_home / "demo" / "indicia.db").exists()


def test_generic_logs_match_through_a_mapping_file(indicia_home: Path) -> None:
    cli("ioc", "add", "dl.example-bad.net", "--valid-from", "2020-01-01")
    logs = DATA / "logs" / "generic"

    report = json.loads(
        cli(
            "match",
            str(logs / "proxy.csv"),
            "--mapping",
            str(logs / "proxy.toml"),
            "--output",
            "json",
        )
    )

    assert [a["matched_value"] for a in report["alerts"]] == ["dl.example-bad.net"]


def test_listen_and_format_mistakes_are_one_line_errors(indicia_home: Path) -> None:
    assert "'http://127.0.0.1:80' is neither udp://HOST:PORT nor tcp://HOST:PORT" in cli(
        "listen", "--syslog", "http://127.0.0.1:80", code=2
    )
    assert "port from 0 to 65535" in cli("listen", "--syslog", "udp://127.0.0.1:99999", code=2)
    unknown = cli("match", UMBRELLA, "--format", "nope", code=2)
    assert "generic (with --mapping)" in unknown
    assert "--mapping FILE" in cli("match", UMBRELLA, "--format", "generic", code=2)


def test_listen_from_the_command_line_alerts_and_reports_on_stop(
    indicia_home: Path, tmp_path: Path
) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    cli("ioc", "add", "198.18.9.9", "--valid-from", "2019-01-01")
    listen = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "indicia",
            "listen",
            "--syslog",
            "tcp://127.0.0.1:0",
            "--no-warninglists",
        ],  # fmt: skip
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "INDICIA_HOME": str(indicia_home), "COLUMNS": "200"},
    )
    try:
        assert listen.stderr is not None
        banner = listen.stderr.readline()  # listening: udp None tcp ('127.0.0.1', PORT)
        port = int(banner.rsplit(",", 1)[1].strip(" )\n"))
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(b"CEF:0|V|P|1|1|conn|3|rt=1717243200000 dst=198.18.9.9 act=allow\n")
            time.sleep(1.0)
    finally:
        listen.send_signal(signal.SIGINT)
        out, err = listen.communicate(timeout=20)

    assert listen.returncode == 0, err
    alert = json.loads(out.splitlines()[0])
    assert alert["matched_value"] == "198.18.9.9"
    assert "stopped: received 1, parsed 1, unreadable 0, dropped 0, matched 1" in err


def test_piped_tables_are_laid_out_wide_unless_columns_says_otherwise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert make_console().width == PIPED_WIDTH  # pytest's output is no terminal
    monkeypatch.setenv("COLUMNS", "90")
    assert make_console(stderr=True).width == 90


def test_the_alert_table_shows_the_indicator_context_and_the_file_by_name(
    indicia_home: Path,
) -> None:
    cli(
        "ioc", "add", "avsvmcloud.com", "--valid-from", "2019-01-01", "--confidence", "90",
        "--kill-chain", "lockheed:command-and-control", "--tag", "sunburst",
    )  # fmt: skip
    out = cli("match", UMBRELLA)

    header = next(line for line in out.splitlines() if "Severity" in line)
    assert [cell.strip() for cell in header.strip("┃ ").split("┃")][6:10] == [
        "TLP", "Confidence", "Kill chain", "Tags",
    ]  # fmt: skip
    assert "command-and-" in out and "sunburst" in out  # the phase, maybe folded in its cell
    assert "umbrella-sol" in out and "/logs/dns" not in out  # the name, not the whole path
