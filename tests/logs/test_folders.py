"""A folder of logs: a file no format fits is reported and passed over, the rest is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from indicia.errors import InputError
from indicia.logs.base import Event, Unreadable
from indicia.logs.inputs import read_events


def test_unknown_file_in_a_folder_is_reported_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# These are our firewall logs\n")
    (tmp_path / "fw.log").write_text("CEF:0|Example|FW|1.0|100|conn|3|src=192.0.2.10 act=allow\n")

    results = list(read_events([tmp_path]))

    events = [r for r in results if isinstance(r, Event)]
    skipped = [r for r in results if isinstance(r, Unreadable)]
    assert [e.fields["source.ip"] for e in events] == ["192.0.2.10"]
    assert [(Path(s.path).name, s.line) for s in skipped] == [("README.md", 0)]
    assert "no known log format" in skipped[0].reason


def test_unknown_file_named_on_its_own_is_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# notes\n")

    with pytest.raises(InputError, match="no known log format"):
        list(read_events([readme]))
