"""Fixtures of the hub tests: settings that allow callbacks on loopback, where the test
receivers listen, and a receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gigalis_nms.settings import Environment, Settings
from tests.callback_receiver import Receiver
from tests.integration.conftest import TEST_SECRET_KEY


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The service's settings, allowing callbacks on loopback, where the receivers are."""
    return Settings(
        environment=Environment.TEST,
        database_url=database_url,
        secret_key=TEST_SECRET_KEY,
        hub_allow_private_callbacks=True,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running
