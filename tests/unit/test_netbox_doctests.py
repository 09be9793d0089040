"""The NetBox dialect's and the NetBox sync's docstring examples run: slugs, labels, enum
objects, derived ids, natural keys, the plan of changes, URLs."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from gigalis_nms.netbox import choices, serializers
from gigalis_nms.netbox.sync import records, run


@pytest.mark.parametrize(
    "module", [choices, serializers, records, run], ids=lambda module: module.__name__
)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
