"""The project's one exception tree.

Every error the harness or the mock raises on purpose derives from :class:`NacHarnessError`::

    NacHarnessError
    ├── InputError (also ValueError)      bad input from a person or a peer; names where
    │   ├── ConfigError                   a config / scenario / capability file, field, line
    │   └── RequestError                  an API request the mock rejects (status + service error shape)
    ├── StateError                        an operation the current state forbids
    │   └── IllegalTransition             a compliance transition Intune's rules forbid
    ├── NotFound                          a device, app or tenant that does not exist
    └── HarnessFailure                    the harness itself could not run (exit code 2)

Control-flow signals (stopping a simulation, interrupting a device) are not errors and do not
derive from this tree.
"""

from __future__ import annotations

from typing import Any


class NacHarnessError(Exception):
    """Root of every deliberate error in mock_intune and harness."""


class InputError(NacHarnessError, ValueError):
    """Bad input. ``where`` names the place (file:line, field, device, request)."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class ConfigError(InputError):
    """A configuration, scenario or capability file is invalid.

    ``file``, ``field`` and ``line`` say where; ``str()`` renders ``file:line: field: message``.
    """

    def __init__(
        self, message: str, *, file: str | None = None, field: str | None = None, line: int | None = None
    ) -> None:
        self.file = file
        self.field = field
        self.line = line
        parts = []
        if file:
            parts.append(f"{file}:{line}" if line else file)
        if field:
            parts.append(field)
        super().__init__(message, where=": ".join(parts) or None)


class RequestError(InputError):
    """A request the mock rejects; rendered by the API layer in the surface's own error shape.

    ``code`` is the service error code (an ``AADSTS…`` code for Entra, an OData code for Graph),
    ``error`` the OAuth ``error`` value where one applies, ``headers`` extra response headers.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str = "",
        error: str = "",
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.error = error
        self.headers = headers or {}
        self.extra = extra or {}
        super().__init__(message)


class StateError(NacHarnessError):
    """An operation that the current state forbids."""


class IllegalTransition(StateError):
    """A compliance-state transition that Intune's rules forbid (e.g. Compliant → Unknown)."""

    def __init__(self, device_id: str, old: object, new: object, rule: str) -> None:
        self.device_id = device_id
        self.old = old
        self.new = new
        self.rule = rule
        super().__init__(f"device {device_id}: {old} → {new} is not allowed ({rule})")


class NotFound(NacHarnessError, LookupError):
    """A device, app registration or tenant that does not exist."""


class HarnessFailure(NacHarnessError):
    """The harness itself could not run: never to be confused with a NAC failing a rule."""
