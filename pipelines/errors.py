"""Every error a user can act on, with the exit code ``conveyor`` ends with: the one list.

The CLI prints an error's message (what went wrong and how to fix it), never a stack
trace, and exits with its code. Airflow retries a task whose step failed with a retryable
code (an outage may pass) and fails it at once otherwise (retrying cannot fix bad input).
"""

from __future__ import annotations


class ConveyorError(Exception):
    """Base of every error that names a problem and its fix."""

    exit_code = 1
    retryable = True


class ConfigError(ConveyorError):
    """A config file is missing, malformed or names something that does not exist."""

    exit_code = 2
    retryable = False


class PartitionConflictError(ConveyorError):
    """A write would change data that has already been published; published data is immutable."""

    exit_code = 3
    retryable = False


class MissingInputError(ConveyorError):
    """A step's input (a batch, a partition) is not where it should be."""

    exit_code = 4
    retryable = False


class BatchRejectedError(ConveyorError):
    """A batch failed validation and was quarantined; nothing downstream was written."""

    exit_code = 5
    retryable = False


class PromotionConflictError(ConveyorError):
    """The champion moved since the challenger was evaluated against it."""

    exit_code = 6


class GateBlockedError(ConveyorError):
    """The version did not pass its gates; promoting it needs --force with a reason."""

    exit_code = 7
    retryable = False


class RegistryUnavailableError(ConveyorError):
    """The model registry could not be reached; nothing was changed. Worth retrying."""

    exit_code = 8


class LockTimeoutError(ConveyorError):
    """Another process held the lock on a model's aliases for longer than the wait allows;
    nothing was changed. Worth retrying."""

    exit_code = 9


class ArtifactChangedError(ConveyorError):
    """A registered version's files differ from those its registration recorded: they were
    changed since it was judged, and are not loaded (a pickle runs code when loaded)."""

    exit_code = 10
    retryable = False


class AlertDeliveryError(ConveyorError):
    """A breach in notify mode could not be sent to the alert webhook; the check's summary
    is written, and the next monitor run sends it again."""

    exit_code = 11


def conveyor_errors() -> list[type[ConveyorError]]:
    """Every error class, the base first, in the order of their exit codes."""
    found, pending = [], [ConveyorError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda cls: cls.exit_code)


def non_retryable_exit_codes() -> frozenset[int]:
    """The exit codes of bad input: the task fails without retries."""
    return frozenset(cls.exit_code for cls in conveyor_errors() if not cls.retryable)
