"""The pipelines package is layered by stage, in the order the data walks: a module may
import its own stage or a lower one, never a higher one. Every import counts, at the top
of a module, inside a function and under ``if TYPE_CHECKING:``; the top package
(``pipelines/__init__.py``, ``pipelines/__main__.py``) may import anything."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "pipelines"

# Lowest first. ``samples``, ``local`` and ``cli`` are not the product: they sit on top.
STAGES = (
    "errors",
    "config",
    "lakehouse",
    "features",
    "models",
    "training",
    "release",
    "serving",
    "monitor",
    "ui",
    "samples",
    "local",
    "cli",
)
TOP = ("__init__", "__main__")


def module_name(package: Path, path: Path) -> str:
    """``pipelines/a/b.py`` -> ``pipelines.a.b``; a package's ``__init__.py`` -> the package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def stage_of(module: str) -> str | None:
    """The first package (or module) under ``pipelines``; None for the top package."""
    parts = module.split(".")
    if parts[0] != "pipelines" or len(parts) < 2 or parts[1] in TOP:
        return None
    return parts[1]


def imported_modules(tree: ast.Module, importer: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, module) for every import of a ``pipelines`` module anywhere in ``tree``;
    ``from pipelines import x`` counts as importing ``pipelines.x``, relative imports are
    resolved against ``importer``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = importer.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([base] if base else []))
            if base == "pipelines":
                found += [(node.lineno, f"pipelines.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return [(line, module) for line, module in found if module.split(".")[0] == "pipelines"]


def layer_violations(package: Path, stages: tuple[str, ...] = STAGES) -> list[str]:
    """Every import under ``package`` (a ``pipelines`` directory) of a higher stage than the
    importing module's own, as ``pipelines/a/b.py:LINE imports pipelines.x.y (...)``."""
    rank = {stage: index for index, stage in enumerate(stages)}
    offenders = []
    for path in sorted(package.rglob("*.py")):
        importer = module_name(package, path)
        own = stage_of(importer)
        if own is None:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        for line, module in imported_modules(tree, importer, path.name == "__init__.py"):
            other = stage_of(module)
            # A name not in the order (``from pipelines import __version__``, or a stage
            # missing from it, which the tests below catch) is not judged here.
            if own not in rank or other not in rank or rank[other] <= rank[own]:
                continue
            where = path.relative_to(package.parent).as_posix()
            offenders.append(f"{where}:{line} imports {module} (stage {other} is above stage {own})")
    return offenders


def top_level_names(package: Path) -> set[str]:
    """The packages and modules directly under ``package``, less the top package's own."""
    names = {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    names |= {p.stem for p in package.glob("*.py") if p.stem not in TOP}
    return names


def test_no_module_imports_a_higher_stage():
    offenders = layer_violations(PACKAGE)
    assert not offenders, "imports against the stage order:\n" + "\n".join(offenders)


def test_every_stage_in_the_order_exists():
    missing = [
        s for s in STAGES if not (PACKAGE / s / "__init__.py").exists() and not (PACKAGE / f"{s}.py").exists()
    ]
    assert not missing, f"stages in the order with no package or module under pipelines/: {missing}"


def test_every_package_and_module_under_pipelines_has_a_stage():
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    unlisted = sorted((folders | top_level_names(PACKAGE)) - set(STAGES))
    assert not unlisted, f"under pipelines/ but not in the stage order: {unlisted}"


@pytest.mark.parametrize(
    ("file", "code", "expected"),
    [
        (
            "config/base.py",
            "import pipelines.ui.models\n",
            "pipelines.ui.models (stage ui is above stage config)",
        ),
        (
            "lakehouse/storage.py",
            "def late():\n    from pipelines.release.gate import decide\n    return decide\n",
            "pipelines.release.gate (stage release is above stage lakehouse)",
        ),
        (
            "errors.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pipelines.config import load\n",
            "pipelines.config (stage config is above stage errors)",
        ),
        (
            "training/train.py",
            "from pipelines import monitor\n",
            "pipelines.monitor (stage monitor is above stage training)",
        ),
        (
            "features/store.py",
            "from ..serving import app\n",
            "pipelines.serving (stage serving is above stage features)",
        ),
    ],
    ids=["top level", "in a function", "under TYPE_CHECKING", "from the top package", "relative"],
)
def test_the_check_finds_an_import_of_a_higher_stage(tmp_path, file, code, expected):
    copy = tmp_path / "pipelines"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = layer_violations(copy)
    with (copy / file).open("a") as handle:
        handle.write("\n" + code)
    after = layer_violations(copy)
    new = [o for o in after if o not in before]
    assert len(new) == 1 and new[0].startswith(f"pipelines/{file}:") and new[0].endswith(expected), new
