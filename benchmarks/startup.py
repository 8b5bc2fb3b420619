"""Step start-up: what each step's process imports before it does any work, and its cost.

    python benchmarks/startup.py [--before REF] [--rounds 1] [--steps train_model gate_model ...]

Every step of ``plugins/conveyor/steps.py`` runs as its own ``conveyor`` process, so its
imports are paid on every task. Commands import their step's modules inside the function,
so a module's top-level imports say little; the step's *import path* is read from the
source instead: the imports in the CLI command's body and, following every call to a
function of ``pipelines`` by its name (``load_context``, ``feature_store``, a module's own
helpers), in theirs, leaving out ``if TYPE_CHECKING:`` blocks. Calls on objects are not
followed, so a step may import more later; what it imports to start is here.

For each step a fresh interpreter runs with ``-X importtime``: it enters the CLI the way
the console script does (``main()`` with the step's command and ``--help``, which parses
and exits before the command's body), then runs that import path. Reported per step: the
import seconds (the sum of every module's own time), the process's wall seconds, and the
top modules by cumulative time (a package's cost where it is first imported from another
package). Airflow's plugin loading over the checkout's ``plugins/`` is timed beside them (best
of three). ``--before REF`` measures a ``git worktree`` of REF in the same run, each step of
both in turn. Results go to ``benchmarks/results/startup.json``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import runpy
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from measure import Run, Stopwatch

REPO = Path(__file__).resolve().parents[1]
TOP = 6  # modules listed per step
LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


class Source:
    """The ``pipelines`` source under one checkout, read with ``ast`` (nothing imported)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._trees: dict[str, ast.Module | None] = {}

    def tree(self, module: str) -> ast.Module | None:
        if module not in self._trees:
            base = self.root.joinpath(*module.split("."))
            path = next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)
            self._trees[module] = ast.parse(path.read_text()) if path else None
        return self._trees[module]

    def function(self, module: str, name: str) -> ast.FunctionDef | None:
        tree = self.tree(module)
        for node in tree.body if tree else ():
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
        return None

    def commands(self) -> dict[tuple[str, ...], tuple[str, str]]:
        """Each CLI command (``("features", "apply")``) -> its module and function."""
        found: dict[tuple[str, ...], tuple[str, str]] = {}
        for path in sorted((self.root / "pipelines" / "cli").glob("*.py")):
            module = f"pipelines.cli.{path.stem}"
            tree = self.tree(module)
            assert tree is not None
            groups = {"app": ()} | {
                ast.unparse(call.args[0]): (ast.literal_eval(keyword.value),)
                for call in ast.walk(tree)
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "app.add_typer"
                for keyword in call.keywords
                if keyword.arg == "name"
            }
            for node in tree.body:
                for decorator in node.decorator_list if isinstance(node, ast.FunctionDef) else ():
                    if not (
                        isinstance(decorator, ast.Call) and ast.unparse(decorator.func).endswith(".command")
                    ):
                        continue
                    group = groups.get(ast.unparse(decorator.func).removesuffix(".command"))
                    name = (
                        ast.literal_eval(decorator.args[0]) if decorator.args else node.name.replace("_", "-")
                    )
                    if group is not None:
                        found[(*group, name)] = (module, node.name)
        return found

    def import_path(self, module: str, function: str) -> list[str]:
        """The import statements ``module.function`` runs, following calls by name into
        ``pipelines`` functions; each once, in the order met."""
        statements: dict[str, None] = {}
        self._follow(module, function, statements, set())
        return list(statements)

    def _follow(
        self, module: str, function: str, statements: dict[str, None], seen: set[tuple[str, str]]
    ) -> None:
        node = self.function(module, function)
        if node is None or (module, function) in seen:
            return
        seen.add((module, function))
        names = self._imported_names(self.tree(module).body)  # type: ignore[union-attr]
        for child in _walk(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                statements[ast.unparse(child)] = None
                names |= self._imported_names([child])
        for child in _walk(node):
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                callee = child.func.id
                if callee in names:
                    self._follow(*names[callee], statements, seen)
                elif self.function(module, callee) is not None:
                    self._follow(module, callee, statements, seen)

    @staticmethod
    def _imported_names(body: list[ast.stmt]) -> dict[str, tuple[str, str]]:
        """Names bound by ``from pipelines... import name`` statements -> (module, name)."""
        return {
            alias.asname or alias.name: (node.module, alias.name)
            for node in body
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pipelines")
            for alias in node.names
        }


def _walk(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` without ``if TYPE_CHECKING:`` blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
            yield from (grandchild for stmt in child.orelse for grandchild in [stmt, *_walk(stmt)])
            continue
        yield child
        yield from _walk(child)


def steps_of(root: Path) -> dict[str, tuple[str, ...]]:
    """``STEP_COMMANDS`` of a checkout (the module imports nothing)."""
    return runpy.run_path(str(root / "plugins" / "conveyor" / "steps.py"))["STEP_COMMANDS"]


def step_script(source: Source, command: tuple[str, ...]) -> str:
    """What a step's process runs: the console script's entry, then the step's import path."""
    module, function = source.commands()[command]
    lines = [
        "import sys",
        f"sys.argv = ['conveyor', *{list(command)!r}, '--help']",
        "from pipelines.cli import main",
        "try:\n    main()\nexcept SystemExit:\n    pass",
    ]
    lines += [f"try:\n    {s}\nexcept Exception as e:\n    print('failed:', {s!r}, e, file=sys.stderr)"
              for s in source.import_path(module, function)]  # fmt: skip
    return "\n".join(lines)


def parse_importtime(stderr: str) -> dict[str, Any]:
    """Seconds of all imports (the sum of each module's own time) and the costliest packages:
    a package's cumulative time where another package first imported it."""
    total, parents, packages = 0, [], {}  # type: ignore[var-annotated]
    # Python prints a module when its import ends, after the modules it imported (indented
    # deeper): read backwards, each module comes after the one that imported it.
    for self_us, cumulative_us, indent, name in reversed(LINE.findall(stderr)):
        total += int(self_us)
        depth = len(indent) // 2
        del parents[depth:]
        package = name.split(".")[0]
        outer = parents[-1] if parents else None
        if outer != package:
            packages[package] = packages.get(package, 0) + int(cumulative_us)
        parents.append(package)
    top = sorted(packages.items(), key=lambda item: -item[1])[:TOP]
    return {"import_seconds": round(total / 1e6, 3), "top": {name: round(us / 1e6, 3) for name, us in top}}


def measure_step(root: Path, command: tuple[str, ...], home: Path, rounds: int = 1) -> dict[str, Any]:
    """The step's start-up in a fresh interpreter on the checkout at ``root`` (best of ``rounds``)."""
    script = step_script(Source(root), command)
    env = {**os.environ, "PYTHONPATH": str(root), "CONVEYOR_HOME": str(home)}
    best: dict[str, Any] = {}
    for _ in range(rounds):
        with Stopwatch() as watch:
            done = subprocess.run(
                [sys.executable, "-X", "importtime", "-c", script], cwd=root, env=env,
                capture_output=True, text=True, check=True,
            )  # fmt: skip
        result = {**parse_importtime(done.stderr), "wall_seconds": round(watch.seconds, 3)}
        result["failed"] = [line for line in done.stderr.splitlines() if line.startswith("failed:")]
        if not best or result["import_seconds"] < best["import_seconds"]:
            best = result
    if not best["failed"]:
        del best["failed"]
    return best


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A detached ``git worktree`` of ``ref``, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="startup-")) / "checkout"
    subprocess.run(["git", "worktree", "add", "--detach", str(folder), ref], cwd=REPO, check=True,
                   capture_output=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=REPO, check=True)


def step_table(results: dict[str, dict[str, Any]], label: str) -> None:
    print(f"\n{label}\n{'step':<22}{'imports s':>10}{'wall s':>8}  top modules (cumulative s)")
    for step, result in results.items():
        top = ", ".join(f"{name} {seconds:.2f}" for name, seconds in list(result["top"].items())[:4])
        print(f"{step:<22}{result['import_seconds']:>10.2f}{result['wall_seconds']:>8.2f}  {top}")


PLUGIN_SCRIPT = """
import json, time
from airflow import plugins_manager
started = time.perf_counter()
plugins, errors = plugins_manager._get_plugins()
print(json.dumps({"seconds": time.perf_counter() - started, "plugins": [p.name for p in plugins]}))
"""


def measure_plugins(root: Path, rounds: int = 1) -> dict[str, Any]:
    """Seconds Airflow's plugin manager takes over the checkout's plugins/ in a fresh
    process (every Airflow process that loads plugins pays them), best of ``rounds``."""
    seconds, names = [], []
    with tempfile.TemporaryDirectory() as airflow_home:
        env = {**os.environ, "AIRFLOW_HOME": airflow_home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
               "PYTHONPATH": os.pathsep.join([str(root / "plugins"), str(root)])}  # fmt: skip
        for _ in range(rounds):
            done = subprocess.run([sys.executable, "-c", PLUGIN_SCRIPT], cwd=root, env=env,
                                  capture_output=True, text=True, check=True)  # fmt: skip
            result = json.loads(done.stdout.strip().splitlines()[-1])
            seconds.append(result["seconds"])
            names = result["plugins"]
    return {"seconds": round(min(seconds), 3), "plugins": names}


def measure_all(roots: dict[str, Path], steps: list[str] | None, rounds: int) -> dict[str, dict[str, Any]]:
    """Every step (by task id) on every checkout, each step on all checkouts in turn."""
    tables = {label: steps_of(root) for label, root in roots.items()}
    results: dict[str, dict[str, Any]] = {label: {} for label in roots}
    with tempfile.TemporaryDirectory() as home:
        for step in tables[next(iter(roots))]:
            name = step.rsplit(".", 1)[-1]
            if steps and name not in steps:
                continue
            for label, root in roots.items():
                if step in tables[label]:
                    results[label][name] = measure_step(root, tables[label][step], Path(home), rounds)
            measured = (
                f"{label} {r[name]['import_seconds']:.2f} s" for label, r in results.items() if name in r
            )
            print(f"  {name}: " + ", ".join(measured), flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git ref to measure in the same run (a worktree of it)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per step; the fastest counts")
    parser.add_argument("--steps", nargs="+", help="task ids to measure (default: every step)")
    args = parser.parse_args()
    run = Run("startup", versions=["feast", "typeguard", "torch", "mlflow", "apache-airflow"], code=True)
    run.warn_if_busy("; compare before and after of the same run")
    with checkout(args.before) if args.before else nullcontext() as before:
        roots = {"after": REPO} | ({"before": before} if before else {})
        results = measure_all(roots, args.steps, args.rounds)
        plugins = {label: measure_plugins(root, max(args.rounds, 3)) for label, root in roots.items()}
    for label, table in results.items():
        step_table(table, label)
        loaded = ", ".join(plugins[label]["plugins"])
        print(f"Airflow's plugin loading: {plugins[label]['seconds']:.2f} s ({loaded})")
    document: dict[str, Any] = {"rounds": args.rounds, "steps": results["after"], "plugins": plugins["after"]}
    document["sum_import_seconds"] = round(sum(r["import_seconds"] for r in results["after"].values()), 2)
    if args.before:
        document["before"] = {"ref": args.before, "steps": results["before"], "plugins": plugins["before"]}
        document["before"]["sum_import_seconds"] = round(
            sum(r["import_seconds"] for r in results["before"].values()), 2
        )
        print(f"\nsum of import seconds: {document['sum_import_seconds']} (before: "
              f"{document['before']['sum_import_seconds']})")  # fmt: skip
    run.write(document)


if __name__ == "__main__":
    main()
