"""The API's documentation runs: docstring examples and the OpenAPI body examples."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest
from sqlmodel import SQLModel

from gigalis_nms.api import deps, errors, wellformed
from gigalis_nms.api.inventory import RESOURCES, strict
from gigalis_nms.auth import service as auth_service
from gigalis_nms.db import integrity, types
from gigalis_nms.inventory import holdings, rules, validators
from gigalis_nms.inventory import service as inventory_service

MODULES = [
    deps,
    errors,
    wellformed,
    auth_service,
    integrity,
    types,
    inventory_service,
    holdings,
    rules,
    validators,
]
BODIES = [model for resource in RESOURCES for model in (resource.spec.create, resource.spec.update)]


@pytest.mark.parametrize("module", MODULES, ids=lambda module: module.__name__)
def test_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0


@pytest.mark.parametrize("model", BODIES, ids=lambda model: model.__name__)
def test_every_body_model_has_valid_examples(model: type[SQLModel]) -> None:
    examples = model.model_json_schema().get("examples")
    assert examples, f"{model.__name__} has no example"
    for example in examples:
        strict(model).model_validate(example)
