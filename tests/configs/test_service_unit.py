"""configs/ferrosa.service is a unit systemd accepts, and configs/ferrosa.toml a config the node loads."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ferrosa.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
INSTALLED_FERROSA = "/opt/ferrosa/venv/bin/ferrosa"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path):
    unit = (CONFIGS / "ferrosa.service").read_text()
    assert f"ExecStart={INSTALLED_FERROSA}\n" in unit
    # verify insists that ExecStart exists: point it at this checkout's own console script.
    real = Path(sys.executable).parent / "ferrosa"
    assert real.exists()
    (tmp_path / "ferrosa.service").write_text(unit.replace(INSTALLED_FERROSA, str(real)))
    out = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "ferrosa.service")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "ferrosa.service" not in out.stderr, out.stderr  # no warnings about our unit


def test_the_unit_points_at_the_documented_config():
    unit = (CONFIGS / "ferrosa.service").read_text()
    assert "Environment=FERROSA_CONFIG=/etc/ferrosa/ferrosa.toml" in unit
    assert "StateDirectory=ferrosa" in unit
    config = load_config(str(CONFIGS / "ferrosa.toml"), environ={})
    assert str(config.data_path) == "/var/lib/ferrosa"  # what StateDirectory=ferrosa creates
