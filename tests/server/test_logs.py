"""configure_logging: everything the process reports on stderr is one JSON object per line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys


def test_warnings_become_json_log_lines() -> None:
    script = (
        "import logging, warnings\n"
        "from server.logs import configure_logging\n"
        "configure_logging('INFO', 'json')\n"
        "warnings.warn('this API is going away', DeprecationWarning)\n"
        "logging.getLogger('voxguard.test').warning('plain %s', 'record')\n"
    )
    done = subprocess.run([sys.executable, "-W", "always", "-c", script], capture_output=True,
                          text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    assert [entry["logger"] for entry in lines] == ["py.warnings", "voxguard.test"]
    assert "this API is going away" in lines[0]["message"]
    assert lines[0]["level"] == logging.getLevelName(logging.WARNING)
