"""Error types that the CLI turns into one clear line and an exit code."""

from __future__ import annotations

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class DevenvError(Exception):
    """An error meant for the user: printed as one line, no traceback."""

    exit_code = EXIT_FAILED


class UsageError(DevenvError):
    exit_code = EXIT_USAGE


class ManifestError(DevenvError):
    """A bad Compose file: names the file, the line and the field path."""

    exit_code = EXIT_USAGE

    def __init__(
        self,
        message: str,
        file: str | None = None,
        line: int | None = None,
        path: str | None = None,
        at: tuple | None = None,
    ):
        self.message = message
        self.file = file
        self.line = line
        self.path = path
        self.at = at  # the field's path as a tuple, so the loader can find its file and line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        field = f"{self.path}: " if self.path else ""
        return f"{where}{field}{self.message}"


class EngineError(DevenvError):
    """The Docker engine is unreachable or refused an operation."""

    exit_code = EXIT_FAILED


class RegistryError(DevenvError):
    """A registry refused or failed a call: names the registry, the repository and the reason.

    `status` (HTTP) and `code` (the registry's first error code, e.g. MANIFEST_INVALID) when it
    answered; None when it could not be reached."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        self.status = status
        self.code = code
        super().__init__(message)
