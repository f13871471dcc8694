"""An importer killed mid-import leaves no worker process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))

from indicia.import_workers import can_fork  # noqa: E402
from ingest import write_bundle  # noqa: E402


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not can_fork() or not Path("/proc").is_dir(), reason="Linux fork workers")
def test_workers_end_when_the_importer_is_killed(tmp_path: Path) -> None:
    bundle = tmp_path / "big.json"
    write_bundle(bundle, 80_000)  # over the size that starts worker processes
    env = {**os.environ, "INDICIA_HOME": str(tmp_path / "home")}
    env.pop("INDICIA_DB", None)
    importer = subprocess.Popen([sys.executable, "-m", "indicia", "import", str(bundle)], env=env)
    deadline = time.monotonic() + 20
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        workers = _children_of(importer.pid)
        time.sleep(0.05)
    assert len(workers) == 2, "the import did not start its workers"

    importer.send_signal(signal.SIGKILL)
    importer.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.1)

    assert not any(_alive(pid) for pid in workers)
