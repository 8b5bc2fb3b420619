"""Airflow imports every ``.py`` file under plugins/ to look for plugins, in every process
that loads them; ``plugins/.airflowignore`` leaves it only the ``*_plugin.py`` files."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"


def test_every_airflow_plugin_is_declared_in_a_file_airflow_loads():
    declaring = {
        path.relative_to(PLUGINS).as_posix()
        for path in PLUGINS.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and any(ast.unparse(base) == "AirflowPlugin" for base in node.bases)
    }
    assert declaring == {"conveyor/views/models_plugin.py"}
    assert all(name.endswith("_plugin.py") for name in declaring), (
        "rename it *_plugin.py, or Airflow skips it"
    )


def test_airflow_loads_our_plugin_and_none_of_the_other_modules(tmp_path: Path):
    script = f"""
        import json, sys
        from airflow import plugins_manager

        plugins, errors = plugins_manager._get_plugins()
        print(json.dumps({{
            "plugins": sorted(plugin.name for plugin in plugins),
            "errors": errors,
            # Airflow names each module it loads from plugins/ by its file's stem.
            "loaded": sorted(name for name in sys.modules if name in {stems()!r}),
        }}))
    """
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "conveyor_models" in loaded["plugins"] and loaded["errors"] == {}
    assert loaded["loaded"] == ["models_plugin"]


def stems() -> list[str]:
    return sorted({path.stem for path in PLUGINS.rglob("*.py")})
