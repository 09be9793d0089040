"""The NetBox dialect's docstring examples run: slugs, labels, enum objects, derived ids."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from gigalis_nms.netbox import choices, serializers


@pytest.mark.parametrize("module", [choices, serializers], ids=lambda module: module.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
