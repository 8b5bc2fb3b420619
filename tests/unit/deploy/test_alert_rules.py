"""The alert rules in deploy/prometheus/: valid for Prometheus, and each one fires on what
should fire it and not otherwise (promtool's rule unit tests, deploy/prometheus/rules_test.yml);
the example Alertmanager config valid for Alertmanager."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RULES = DEPLOY / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not installed: run `make system` (scripts/system_packages.sh)")
    return found


@pytest.mark.parametrize("command", [["check", "rules", "rules.yml"], ["test", "rules", "rules_test.yml"]])
def test_promtool_accepts_the_rules(promtool, command):
    done = subprocess.run([promtool, *command], cwd=RULES, capture_output=True, text=True)
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr


def test_amtool_accepts_the_alertmanager_config():
    amtool = shutil.which("amtool")
    assert amtool, "amtool is not installed: run `make system` (scripts/system_packages.sh)"
    done = subprocess.run([amtool, "check-config", str(DEPLOY / "alertmanager" / "alertmanager.yml")],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0 and "SUCCESS" in done.stdout, done.stdout + done.stderr
