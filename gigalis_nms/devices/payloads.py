"""Strict checks of getter results against NAPALM's typed payloads.

NAPALM declares each getter's result as a TypedDict (``napalm.base.models``) but never checks
it, and Python does not either. Downstream code (provisioning, monitoring) relies on those
types, so the tests hold every driver to them: exact key sets, ``int`` where NAPALM says
``int`` (a ``bool`` is not one), ``float`` where it says ``float`` (an ``int`` is not one).
A hand-written walk rather than pydantic, because pydantic's strict mode still takes an
``int`` for a ``float``.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from napalm.base import NetworkDriver
from typing_extensions import is_typeddict

from gigalis_nms.errors import FieldProblem, InvalidInput


class PayloadError(InvalidInput):
    """A getter returned data of the wrong shape; each problem names its path."""


def getter_payload_type(getter: str) -> Any:
    """The return type NAPALM's base class declares for a getter, e.g. ``get_facts``."""
    return typing.get_type_hints(getattr(NetworkDriver, getter))["return"]


def check_getter_payload(getter: str, value: object) -> None:
    """Raise PayloadError listing every place where ``value`` differs from the declared type.

    >>> check_getter_payload("is_alive", {"is_alive": True})
    >>> check_getter_payload("is_alive", {"is_alive": 1})
    Traceback (most recent call last):
    ...
    gigalis_nms.devices.payloads.PayloadError: is_alive.is_alive: expected bool, got int 1
    """
    problems = payload_problems(value, getter_payload_type(getter), getter)
    if problems:
        raise PayloadError("; ".join(str(problem) for problem in problems), problems)


def payload_problems(value: object, expected: Any, path: str) -> list[FieldProblem]:
    if is_typeddict(expected):
        return _typeddict_problems(value, expected, path)
    origin = typing.get_origin(expected)
    if expected is typing.Any:
        return []
    if origin in (typing.Union, types.UnionType):
        options = [payload_problems(value, option, path) for option in typing.get_args(expected)]
        return [] if any(not found for found in options) else options[0]
    if origin is dict or expected is dict:
        return _dict_problems(value, typing.get_args(expected), path)
    if origin is list or expected is list:
        return _list_problems(value, typing.get_args(expected), path)
    return _scalar_problems(value, expected, path)


def _scalar_problems(value: object, expected: Any, path: str) -> list[FieldProblem]:
    # type() rather than isinstance: bool is a subclass of int, and int is not a float.
    if type(value) is not expected:
        expected_name = getattr(expected, "__name__", str(expected))
        return [
            FieldProblem(path, f"expected {expected_name}, got {type(value).__name__} {value!r}")
        ]
    return []


def _typeddict_problems(value: object, expected: Any, path: str) -> list[FieldProblem]:
    if not isinstance(value, dict):
        return [FieldProblem(path, f"expected a {expected.__name__} dict, got {value!r}")]
    hints = typing.get_type_hints(expected)
    problems = [
        FieldProblem(f"{path}.{key}", "missing")
        for key in sorted(expected.__required_keys__ - value.keys())
    ]
    problems += [
        FieldProblem(f"{path}.{key}", f"not a key of {expected.__name__}")
        for key in sorted(value.keys() - hints.keys(), key=str)
    ]
    for key, item in value.items():
        if key in hints:
            problems += payload_problems(item, hints[key], f"{path}.{key}")
    return problems


def _dict_problems(value: object, args: tuple[Any, ...], path: str) -> list[FieldProblem]:
    if not isinstance(value, dict):
        return [FieldProblem(path, f"expected a dict, got {type(value).__name__}")]
    if not args:
        return []
    key_type, value_type = args
    problems = []
    for key, item in value.items():
        problems += payload_problems(key, key_type, f"{path}[{key!r}] key")
        problems += payload_problems(item, value_type, f"{path}[{key!r}]")
    return problems


def _list_problems(value: object, args: tuple[Any, ...], path: str) -> list[FieldProblem]:
    if not isinstance(value, list):
        return [FieldProblem(path, f"expected a list, got {type(value).__name__}")]
    if not args:
        return []
    problems = []
    for index, item in enumerate(value):
        problems += payload_problems(item, args[0], f"{path}[{index}]")
    return problems
