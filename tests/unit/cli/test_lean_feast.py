"""A lean Feast import (``pipelines.cli.lean_feast``) keeps the store working. Feast is
imported once a process, so the lean import is checked in a fresh interpreter; this process
imports Feast as tests do, with typeguard's instrumentation."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from pipelines.features.store import apply_features, feature_store


def instrumented(function: object) -> bool:
    """Whether typeguard's ``@typechecked`` recompiled ``function`` with its checks."""
    return "check_argument_types_internal" in function.__code__.co_names  # type: ignore[attr-defined]


def test_tests_import_feast_with_typeguards_checks():
    import feast

    assert instrumented(feast.Entity.__init__)


def test_a_lean_feast_builds_a_store_applies_the_features_and_still_finds_torch(
    conveyor_home: Path, tmp_path: Path
):
    script = """
        import json, sys
        from pipelines.cli import lean_feast

        lean_feast.install()
        from typeguard import TypeCheckError, typechecked

        import feast
        from pipelines.config.load import load_model_config, load_platform_config
        from pipelines.features.store import apply_features, feature_store
        from pipelines.lakehouse.storage import Lakehouse

        torch_at_import = "torch" in sys.modules
        platform = load_platform_config()
        store = feature_store(platform)  # a FeatureStore from a RepoConfig
        lakehouse = Lakehouse(platform.lakehouse_uri)
        applied = apply_features(store, load_model_config("freight_volume"), lakehouse)

        @typechecked
        def double(number: int) -> int:  # not Feast's: still checked
            return number * 2

        try:
            double("2")
            checked = False
        except TypeCheckError:
            checked = True
        from feast.torch_wrapper import get_torch

        print(json.dumps({
            "torch_at_import": torch_at_import,
            "feast_instrumented": "check_argument_types_internal" in feast.Entity.__init__.__code__.co_names,
            "applied": applied,
            "others_checked": checked,
            "torch": get_torch().__name__,
        }))
    """
    (tmp_path / "lean.py").write_text(textwrap.dedent(script))  # typeguard reads its source
    done = subprocess.run(
        [sys.executable, str(tmp_path / "lean.py")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lean = json.loads(done.stdout.strip().splitlines()[-1])
    assert lean["torch_at_import"] is False and lean["feast_instrumented"] is False
    assert lean["others_checked"] is True and lean["torch"] == "torch"

    # The same features as an ordinary Feast import registers.
    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.lakehouse.storage import Lakehouse

    platform = load_platform_config()
    store = feature_store(platform)
    plain = apply_features(store, load_model_config("freight_volume"), Lakehouse(platform.lakehouse_uri))
    assert lean["applied"] == plain


def test_install_does_nothing_once_feast_is_imported():
    import feast  # noqa: F401
    import typeguard

    from pipelines.cli import lean_feast

    before = typeguard.typechecked
    lean_feast.install()
    assert typeguard.typechecked is before
