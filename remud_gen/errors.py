"""Every error remud-gen raises on purpose, in one tree.

    RemudError                      base: never raised itself
    ├── UserError                   the user can fix it: the CLI prints one line and exits 2
    │   ├── ConfigError             unknown key, wrong type, unreadable YAML (message names the key path)
    │   ├── InputError              missing, unreadable, corrupt, encrypted or unsupported input file
    │   └── WorkDirError            WORK written by an incompatible version, or a stage's inputs are missing
    ├── EndpointError               the model endpoint failed: the CLI prints one line and exits 3
    │   ├── EndpointUnreachable     connection refused / DNS / TLS before any answer
    │   └── EndpointStatusError     an HTTP error status with the server's message
    └── Interrupted                 Ctrl-C or a budget (--max-cost, --limit) stopped a stage cleanly: exit 130 / 4

Anything else is a bug: the CLI prints one line asking for a report (the traceback with --debug) and exits 1.
Bad *records* are not errors: stages count them and write them to failures.jsonl (see `remud_gen.records.Failure`).
"""

from __future__ import annotations


class RemudError(Exception):
    """Base of all deliberate remud-gen errors."""

    exit_code = 1


class UserError(RemudError):
    """A mistake the user can fix: bad config, bad input file, wrong work directory."""

    exit_code = 2


class ConfigError(UserError):
    """The configuration is invalid; the message names the offending key path."""


class InputError(UserError):
    """An input file is missing, unreadable, corrupt, encrypted or of an unsupported type."""


class WorkDirError(UserError):
    """The work directory is incompatible or lacks the previous stage's output."""


class EndpointError(RemudError):
    """The model endpoint could not be used."""

    exit_code = 3


class EndpointUnreachable(EndpointError):
    """No connection could be made to the endpoint."""


class EndpointStatusError(EndpointError):
    """The endpoint answered with an HTTP error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class Interrupted(RemudError):
    """A stage stopped early (Ctrl-C or a budget); finished work is saved and a re-run resumes."""

    exit_code = 130
