"""The project's exception family.

Every error a user can cause derives from :class:`GigalisError` and carries the object it
concerns and the reason, so the API and the command line can report it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self


def with_article(word: str) -> str:
    """``word`` after "a" or "an", for messages.

    >>> with_article("operator"), with_article("viewer")
    ('an operator', 'a viewer')
    """
    return f"{'an' if word[:1].lower() in 'aeiou' else 'a'} {word}"


@dataclass(frozen=True)
class FieldProblem:
    """One reason a value was refused: which field, and why."""

    field: str
    reason: str
    location: str | None = None  # e.g. "inventory/cables.yaml:42" for files

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        return f"{where}{self.field}: {self.reason}"


class GigalisError(Exception):
    """Root of every error the project raises on purpose."""

    status_code = 500
    code = "error"

    def __init__(self, message: str, problems: list[FieldProblem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []

    @classmethod
    def of(cls, field: str, reason: str, location: str | None = None) -> Self:
        """The error for one field: ``NotFound.of("site", "no site with code 'XYZ'")``."""
        problem = FieldProblem(field, reason, location)
        return cls(str(problem), [problem])


class InvalidInput(GigalisError, ValueError):
    """Input was refused; ``problems`` names each field and the reason."""

    status_code = 422
    code = "invalid"


class NotFound(GigalisError, LookupError):
    """The object does not exist, or the caller may not know that it does."""

    status_code = 404
    code = "not_found"


class Conflict(GigalisError):
    """The change would break a rule held by the database (a resource held twice, a capacity
    exceeded, a duplicate natural key) or clash with a concurrent change."""

    status_code = 409
    code = "conflict"


class UnsupportedMediaType(InvalidInput):
    """A request body in a format the API does not read (it reads JSON only)."""

    status_code = 415
    code = "unsupported_media_type"


class PermissionDenied(GigalisError, PermissionError):
    """The caller is known but its role does not allow this action."""

    status_code = 403
    code = "forbidden"


class NotAuthenticated(GigalisError):
    """No token, or a token that is unknown, revoked or expired."""

    status_code = 401
    code = "unauthenticated"


class InsecureSettings(GigalisError):
    """A development default was left in place outside development mode."""

    code = "insecure_settings"
