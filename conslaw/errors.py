"""Error types for bad user input: shown as one line, never as a traceback."""


class ConslawError(Exception):
    """A problem with the user's input or data; its message names the culprit. Exit code 1."""

    exit_code = 1


class UsageError(ConslawError):
    """A bad option or option value (a malformed ``--units``, a depth < 1, ...). Exit code 2."""

    exit_code = 2
