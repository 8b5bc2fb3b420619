"""Errors a user can act on. The CLI prints their message, never a stack trace."""

from __future__ import annotations


class ConveyorError(Exception):
    """Base of every error that names a problem and its fix."""

    exit_code = 1


class ConfigError(ConveyorError):
    """A config file is missing, malformed or names something that does not exist."""

    exit_code = 2


class PartitionConflictError(ConveyorError):
    """A write would change data that has already been published; published data is immutable."""

    exit_code = 3


class MissingInputError(ConveyorError):
    """A step's input (a batch, a partition) is not where it should be."""

    exit_code = 4


class BatchRejectedError(ConveyorError):
    """A batch failed validation and was quarantined; nothing downstream was written."""

    exit_code = 5


class RegistryUnavailableError(ConveyorError):
    """The model registry could not be reached; nothing was changed. Worth retrying."""

    exit_code = 8
