"""Feast's import without its two start-up costs that a ``conveyor`` step gains nothing from.

- Feast decorates its definition classes (``Entity``, ``FeatureView``, ``DataSource``, ...)
  with typeguard's ``@typechecked``, which recompiles every method from its source when the
  module is imported: about 2-3 s of Feast's ~5 s import on 2 cores. typeguard documents the
  decorator as a no-op in Python's optimized mode (``-O``), "meant for ... type checking
  [that isn't] meant to be run in production"; ``-O`` would also strip every ``assert`` of
  every package and compile other bytecode, so instead ``typechecked`` returns what it
  decorates unchanged when that was defined in a ``feast`` module, and instruments
  everything else as before.
- ``feast.torch_wrapper`` imports torch (about 1 s) when Feast is imported, for
  ``to_tensor`` and the RAG retriever, neither of which a step uses. Its stand-in imports
  torch the first time ``get_torch()`` is called, with the same result and error.

``install()`` runs in ``pipelines.cli.main`` before any command imports Feast; tests import
Feast unchanged, with typeguard's checks. ``tests/unit/cli/test_lean_feast.py`` checks that a
store still builds and that ``get_torch`` still answers.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable
from functools import partial
from typing import Any

STAND_IN = "feast.torch_wrapper"


def _lean(original: Callable[..., Any]) -> Callable[..., Any]:
    def typechecked(target: Any = None, **options: Any) -> Any:
        if target is None:  # @typechecked(...) with options: decorate later
            return partial(typechecked, **options)
        if getattr(target, "__module__", "").partition(".")[0] == "feast":
            return target
        return original(target, **options)

    typechecked.__wrapped__ = original  # type: ignore[attr-defined]
    typechecked.__doc__ = original.__doc__
    typechecked.lean_for_feast = True  # type: ignore[attr-defined]
    return typechecked


def _lazy_torch_wrapper() -> types.ModuleType:
    """``feast.torch_wrapper`` that imports torch on the first ``get_torch()``."""
    module = types.ModuleType(STAND_IN, "Feast's torch_wrapper, importing torch when first asked.")
    state: dict[str, Any] = {}

    def get_torch() -> Any:
        if "torch" not in state:
            try:
                state["torch"] = importlib.import_module("torch")
            except Exception as error:  # Feast's: also a CUDA library that fails to load
                state["torch"], state["error"] = None, error
        if state["torch"] is None:
            raise ImportError(f"Torch is not available or failed to import: {state['error']}") from state[
                "error"
            ]
        return state["torch"]

    def __getattr__(name: str) -> Any:  # TORCH_AVAILABLE, read by nothing a step runs
        if name == "TORCH_AVAILABLE":
            try:
                get_torch()
            except ImportError:
                return False
            return True
        raise AttributeError(name)

    module.get_torch = get_torch  # type: ignore[attr-defined]
    module.__getattr__ = __getattr__  # type: ignore[method-assign]
    return module


def install() -> None:
    """Make the next import of Feast lean. Does nothing once Feast is imported, or twice."""
    if "feast" in sys.modules:
        return
    import typeguard

    if not getattr(typeguard.typechecked, "lean_for_feast", False):
        typeguard.typechecked = _lean(typeguard.typechecked)
    sys.modules.setdefault(STAND_IN, _lazy_torch_wrapper())
