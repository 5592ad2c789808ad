"""Exceptions users see. Each message names the problem and the fix; the CLI prints it on one line."""

from __future__ import annotations


class MaskSSLError(Exception):
    """Base class of maskssl's user-facing errors."""


class ConfigError(MaskSSLError, ValueError):
    """A config file, key or value is wrong (the CLI exits 2)."""


class UnknownComponentError(ConfigError, KeyError):
    """A registry name (masker, encoder, modality ...) is not installed or registered."""

    def __str__(self) -> str:  # KeyError would add quotes around the message
        return str(self.args[0])


class PluginImportError(MaskSSLError, ImportError):
    """An installed plugin failed to import when it was asked for."""


class DataError(MaskSSLError):
    """A dataset is missing, empty or malformed (the message says what to put where)."""


class CheckpointError(MaskSSLError):
    """A checkpoint is missing, corrupt, or belongs to another run."""


class NonFiniteLossError(MaskSSLError):
    """Training produced a NaN or infinite loss; the last good checkpoint is kept."""


class WriteError(MaskSSLError):
    """A file could not be written (no space, no permission, ...); nothing was left half-written."""


class TrainingInterrupted(MaskSSLError):
    """SIGINT or SIGTERM arrived; a checkpoint of the last finished step was written."""
