"""What every benchmark measures the same way: the clock, peak memory, the conditions of a run,
and one way to report results as ratios against the baseline measured in the same run and to
write them under ``benchmarks/results/``.

- ``Stopwatch``: wall seconds by ``time.perf_counter`` of a ``with`` block, with named laps and an
  optional sync (``cuda_sync(device)``) so that queued GPU work is inside the clock;
  ``latencies``: the seconds of each of a sequence of calls.
- ``Repeats``: contenders timed over rounds in alternating order (``alternating``), best or
  median; ``Clock`` and ``Span``: wall and CPU seconds (client, server, the rest of the
  machine) around timed calls, pooled over rounds.
- ``peak_rss_mib``: the process's peak resident memory.
- ``Run``: one run's conditions (machine, platform, load average, versions, the code's commit),
  a warning when the machine was busy, and the results file; ``Figure``, ``print_ratios``,
  ``ratio``, ``meets`` and ``against_goal``: results next to the baseline's.

``CONVEYOR_BENCHMARK_RESULTS`` points the results of a trial run at another folder.

Importing this module costs only a few standard modules: psutil, numpy, torch and the project's
code are imported by the helpers that need them, so a measured process (ingest's workers report
their own peak memory) pays for nothing it does not use.
"""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

RESULTS = Path(os.environ.get("CONVEYOR_BENCHMARK_RESULTS") or Path(__file__).resolve().parent / "results")
BUSY_LOAD = 0.5  # a load average above this at the start: other work adds noise
T = TypeVar("T")


class Stopwatch:
    """Wall seconds by ``time.perf_counter``: of a ``with`` block (``seconds``, set when it ends),
    so far (``elapsed()``, from construction or the block's start), and of named stages in between
    (``lap``, recorded in ``laps``). ``sync`` runs before the clock starts and before it stops."""

    __slots__ = ("_last", "_started", "_sync", "laps", "seconds")

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self._sync = sync
        self.laps: dict[str, float] = {}
        self.seconds = 0.0
        self._started = self._last = time.perf_counter()

    def __enter__(self) -> Stopwatch:
        if self._sync is not None:
            self._sync()
        self._started = self._last = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._sync is not None:
            self._sync()
        self.seconds = time.perf_counter() - self._started

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def lap(self, stage: str) -> float:
        """Seconds since the previous lap (or the start), recorded as ``stage``."""
        now = time.perf_counter()
        self.laps[stage], self._last = now - self._last, now
        return self.laps[stage]


def cuda_sync(device: Any) -> Callable[[], None] | None:
    """A Stopwatch's sync for a torch ``device``: wait for its queued work (None off a GPU)."""
    if device.type != "cuda":
        return None
    import torch

    return lambda: torch.cuda.synchronize(device)


def latencies(call: Callable[[T], object], arguments: Iterable[T]) -> list[float]:
    """The seconds of each ``call(argument)``, one after another; nothing else inside the clock."""
    seconds = []
    for argument in arguments:
        started = time.perf_counter()
        call(argument)
        seconds.append(time.perf_counter() - started)
    return seconds


def peak_rss_mib() -> float:
    """The most resident memory this process has held so far, in MiB (Linux counts KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def alternating(contenders: Sequence[T], rounds: int) -> Iterator[tuple[int, list[T]]]:
    """Each round's number and order: as given, then reversed (AB, BA, ...), so that drift in the
    machine's load weighs on every contender alike."""
    for number in range(rounds):
        yield number, list(contenders) if number % 2 == 0 else list(reversed(contenders))


class Repeats:
    """Contenders timed over ``rounds`` rounds in alternating order. Each contender is a call that
    times itself (a Stopwatch) and returns its seconds and a result; the arguments of ``warm_up``
    and ``run`` are passed on to it."""

    def __init__(self, contenders: Mapping[str, Callable[..., tuple[float, Any]]], rounds: int) -> None:
        self.contenders, self.rounds = dict(contenders), rounds
        self.seconds: dict[str, list[float]] = {name: [] for name in contenders}

    def warm_up(self, *args: Any) -> dict[str, Any]:
        """Each contender once, untimed, in the given order; what each returned."""
        return {name: call(*args)[1] for name, call in self.contenders.items()}

    def run(self, *args: Any) -> dict[str, Any]:
        """Every round, each time printed as it comes; what each contender's fastest call returned."""
        fastest: dict[str, Any] = {}
        for number, order in alternating(list(self.contenders), self.rounds):
            for name in order:
                seconds, result = self.contenders[name](*args)
                if not self.seconds[name] or seconds < self.best(name):
                    fastest[name] = result
                self.seconds[name].append(seconds)
                print(f"  round {number + 1}/{self.rounds} {name:14} {seconds:8.3f} s", flush=True)
        return fastest

    def best(self, name: str) -> float:
        return min(self.seconds[name])

    def median(self, name: str) -> float:
        import statistics

        return statistics.median(self.seconds[name])

    def all(self, name: str, digits: int = 3) -> list[float]:
        return [round(s, digits) for s in self.seconds[name]]

    def summary(self, name: str, digits: int = 2) -> dict[str, Any]:
        return {
            "best": round(self.best(name), digits),
            "median": round(self.median(name), digits),
            "all": self.all(name, digits),
        }


@dataclass(frozen=True)
class Clock:
    """Wall time and CPU seconds at one moment: this process (the client), a server (by
    ``server_cpu``), and the whole machine."""

    wall: float
    client: float
    server: float
    machine: float

    @classmethod
    def now(cls, server_cpu: Callable[[], float]) -> Clock:
        import psutil

        times = psutil.cpu_times()
        machine = sum(getattr(times, f) for f in ("user", "nice", "system", "irq", "softirq", "steal"))
        return cls(time.perf_counter(), time.process_time(), server_cpu(), machine)


@dataclass
class Span:
    """Timed calls between pairs of Clocks, added up over rounds: each call's latency, the rows the
    calls carried, the wall seconds, the client's and the server's CPU seconds, and the CPU the rest
    of the machine used meanwhile (other work, kernel time charged to neither, such as loopback
    networking; large means a disturbed, noisy run)."""

    latencies: list[float] = field(default_factory=list)
    rows: int = 0
    wall: float = 0.0
    client_cpu: float = 0.0
    server_cpu: float = 0.0
    other_cpu: float = 0.0

    def add(self, began: Clock, ended: Clock, latencies: list[float], rows: int = 0) -> Span:
        client, server = ended.client - began.client, ended.server - began.server
        self.latencies.extend(latencies)
        self.rows += rows
        self.wall += ended.wall - began.wall
        self.client_cpu += client
        self.server_cpu += server
        # The server's CPU is counted in the machine's too (same host); the rest is everyone else.
        self.other_cpu += max(0.0, ended.machine - began.machine - client - server)
        return self

    @classmethod
    def pooled(cls, spans: Iterable[Span]) -> Span:
        pooled = cls()
        for span in spans:
            pooled.latencies.extend(span.latencies)
            pooled.rows += span.rows
            pooled.wall += span.wall
            pooled.client_cpu += span.client_cpu
            pooled.server_cpu += span.server_cpu
            pooled.other_cpu += span.other_cpu
        return pooled

    @property
    def calls(self) -> int:
        return len(self.latencies)

    def latency_ms(self) -> dict[str, float]:
        import numpy as np

        ms = np.asarray(self.latencies) * 1000
        return {
            "mean": round(float(ms.mean()), 3),
            "p50": round(float(np.percentile(ms, 50)), 3),
            "p90": round(float(np.percentile(ms, 90)), 3),
            "p99": round(float(np.percentile(ms, 99)), 3),
            "max": round(float(ms.max()), 3),
        }


def max_weight_difference(left: Any, right: Any) -> float:
    """The largest difference between two torch modules' weights: whether both sides did the same work."""
    pairs = zip(left.state_dict().values(), right.state_dict().values(), strict=True)
    return max(float((a.float() - b.float()).abs().max()) for a, b in pairs)


def ratio(value: float, baseline: float, digits: int = 2) -> float:
    return round(value / baseline, digits)


def meets(value: float, goal: float, *, below: bool = False) -> bool:
    return value < goal if below else value >= goal


def against_goal(value: float, goal: float, *, below: bool = False, unit: str = "") -> str:
    """E.g. ``(meets the goal of >= 0.95)``."""
    verdict = "meets" if meets(value, goal, below=below) else "misses"
    return f"({verdict} the goal of {'<' if below else '>='} {goal}{unit})"


@dataclass(frozen=True)
class Figure:
    """One figure of the contender next to the baseline's, measured in the same run; ``compare``
    False where a ratio means nothing (noise, say)."""

    label: str
    value: float
    baseline: float
    compare: bool = True


def _number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def print_ratios(figures: Iterable[Figure], contender: str, baseline: str) -> None:
    """A table of each figure: the contender's value, the baseline's, and their ratio."""
    figures = list(figures)
    label = max(len(f.label) for f in figures) + 2
    width = max(12, len(contender) + 2, len(baseline) + 2)
    print(f"\n{'':<{label}}{contender:>{width}}{baseline:>{width}}{'ratio':>9}")
    for f in figures:
        compared = f"{f.value / f.baseline:.3g}" if f.compare and f.baseline else "-"
        print(f"{f.label:<{label}}{_number(f.value):>{width}}{_number(f.baseline):>{width}}{compared:>9}")


class Run:
    """One run of a benchmark: the conditions it ran under, and its results file,
    ``benchmarks/results/<name>.json``. Made first thing, so that its load average and clock are
    the run's; ``code`` records the commit (``git_state``), ``versions`` the named packages'."""

    def __init__(self, name: str, *, versions: Sequence[str] = (), code: bool = False) -> None:
        self.path = RESULTS / f"{name}.json"
        self.versions = list(versions)
        self.clock = Stopwatch()
        self.load_at_start = os.getloadavg()[0]
        self.code: dict[str, str] | None = None
        if code:
            from pipelines.training.lineage import git_state

            self.code = git_state()

    def warn_if_busy(self, advice: str = "") -> None:
        if self.load_at_start > BUSY_LOAD:
            print(
                f"warning: load average {self.load_at_start:.2f} at start; other work on this machine"
                f" adds noise{advice}"
            )

    def conditions(self) -> dict[str, Any]:
        """The machine, its load average at the start and now, and the versions and code that ran."""
        import platform
        from importlib.metadata import version

        conditions: dict[str, Any] = {
            "machine": f"{os.cpu_count()} cores",
            "platform": platform.platform(),
            "load_average_at_start": round(self.load_at_start, 2),
            "load_average_at_end": round(os.getloadavg()[0], 2),
            "versions": {"python": platform.python_version(), **{n: version(n) for n in self.versions}},
        }
        if self.code is not None:
            conditions["code"] = self.code
        return conditions

    def write(self, result: dict[str, Any]) -> Path:
        """The conditions, ``result`` and the run's total seconds, as JSON in the results file."""
        document = {**self.conditions(), **result, "total_seconds": round(self.clock.elapsed(), 1)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"\nwritten to {self.path} ({document['total_seconds']:.0f}s in all)")
        return self.path
