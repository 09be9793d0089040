"""The docstring examples of every ordering module run, and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gigalis_nms.ordering

MODULES = sorted(
    info.name
    for info in pkgutil.iter_modules(gigalis_nms.ordering.__path__, "gigalis_nms.ordering.")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_the_ordering_modules_have_examples() -> None:
    attempted = sum(doctest.testmod(importlib.import_module(name)).attempted for name in MODULES)
    assert attempted >= 10
