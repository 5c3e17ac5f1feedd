"""Typed errors. The CLI turns each into one clear line and a non-zero exit code."""


class KoarenaError(Exception):
    """Base class of every error koarena reports to users."""

    exit_code = 2


class DataError(KoarenaError):
    """Input data is missing, malformed or inconsistent."""


class ConfigError(KoarenaError):
    """A configuration file or option is invalid."""


class UnsafeNameError(DataError):
    """A model or judge name would escape its directory when used as a file name."""


class OutputError(KoarenaError):
    """An output file cannot be written (no space left, file-size limit, permissions)."""


class BusyError(KoarenaError):
    """Another koarena process is writing the same output file."""
