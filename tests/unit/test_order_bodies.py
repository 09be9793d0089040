"""Order bodies, fingerprints, days in Paris, the TMF representation's helpers, and the
order worker's rounds: pure functions, no database."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import create_engine

from gigalis_nms.errors import InvalidInput
from gigalis_nms.ordering.bodies import (
    OrderCreate,
    OrderPatch,
    check_idempotency_key,
    paris_day,
    request_fingerprint,
)
from gigalis_nms.ordering.requests import Characteristic
from gigalis_nms.ordering.worker import OrderWorker
from gigalis_nms.settings import Settings


def body(**fields: Any) -> dict[str, Any]:
    item = {
        "id": "1",
        "action": "add",
        "productOffering": {"id": "eline-1g"},
        "product": {"place": [{"role": "A", "id": "NTE1"}, {"role": "Z", "id": "ANG1"}]},
    }
    return {"productOrderItem": [item], **fields}


def test_the_fingerprint_ignores_key_order_but_not_values() -> None:
    one = OrderCreate.model_validate(body(description="a", externalId="x"))
    same = OrderCreate.model_validate(
        dict(reversed(list(body(externalId="x", description="a").items())))
    )
    other = OrderCreate.model_validate(body(description="b", externalId="x"))
    assert request_fingerprint(one) == request_fingerprint(same)
    assert request_fingerprint(one) != request_fingerprint(other)
    assert len(request_fingerprint(one)) == 64


@pytest.mark.parametrize("key", ["", "x" * 201, "tab\there", "é"])
def test_a_bad_idempotency_key_names_the_header(key: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_idempotency_key(key)
    assert refused.value.problems[0].field == "header.idempotency-key"


def test_requested_days_are_paris_days() -> None:
    late = OrderCreate.model_validate(body(requestedStartDate="2026-06-30T23:30:00Z"))
    assert late.requested_start_date == date(2026, 7, 1)  # 01:30 in Paris
    plain = OrderCreate.model_validate(body(requestedStartDate="2026-06-30"))
    assert plain.requested_start_date == date(2026, 6, 30)
    local = OrderCreate.model_validate(body(requestedStartDate="2026-06-30T23:30:00"))
    assert local.requested_start_date == date(2026, 6, 30)
    assert paris_day(datetime(2026, 1, 1, 22, 59, tzinfo=UTC)) == date(2026, 1, 1)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (body(requestedStartDate="tomorrow"), "requestedStartDate"),
        (body(requestedStartDate="2026-02-30"), "requestedStartDate"),
        (body(externalId="x" * 101), "externalId"),
        (body(unknown=1), "unknown"),
        ({"productOrderItem": []}, "productOrderItem"),
        ({"productOrderItem": [body()["productOrderItem"][0]] * 21}, "productOrderItem"),
    ],
)
def test_a_bad_body_names_its_field(document: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        OrderCreate.model_validate(document)
    assert refused.value.errors()[0]["loc"][0] == field


@pytest.mark.parametrize(
    ("characteristic", "reason"),
    [
        ({"name": "protected", "value": "yes"}, "protected must be true or false"),
        ({"name": "aVlan", "value": "101"}, "aVlan must be a whole number"),
        ({"name": "zVlan", "value": False}, "zVlan must be a whole number"),
    ],
)
def test_a_characteristic_of_the_wrong_type_has_one_reason(
    characteristic: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Characteristic.model_validate(characteristic)
    [error] = refused.value.errors()
    assert (error["loc"], error["msg"]) == (("value",), f"Value error, {reason}")


def test_characteristics_of_the_right_type_are_read() -> None:
    assert Characteristic.model_validate({"name": "protected", "value": True}).value is True
    assert Characteristic.model_validate({"name": "aVlan", "value": 101}).value == 101


def test_a_patch_reads_only_changeable_fields() -> None:
    assert OrderPatch.model_validate({"description": "x"}).description == "x"
    with pytest.raises(ValidationError):
        OrderPatch.model_validate({"state": "completed"})


def test_the_worker_runs_every_pass_and_survives_a_failing_one() -> None:
    calls: list[str] = []
    progressed = threading.Event()

    def failing(_now: datetime) -> int:
        calls.append("failing")
        raise RuntimeError("boom")

    def working(_now: datetime) -> int:
        calls.append("working")
        return 2

    engine = create_engine("sqlite://")
    order_worker = OrderWorker(
        engine, Settings(), passes=[failing, working], on_progress=progressed.set
    )

    assert order_worker.run_round() == 2
    assert calls == ["failing", "working"]
    assert progressed.is_set()


def test_the_worker_thread_starts_and_stops_when_woken() -> None:
    rounds = threading.Semaphore(0)

    def counted(_now: datetime) -> int:
        rounds.release()
        return 0

    order_worker = OrderWorker(
        create_engine("sqlite://"), Settings(order_poll_seconds=3600), passes=[counted]
    )
    order_worker.start()
    assert rounds.acquire(timeout=5)
    order_worker.wake()
    assert rounds.acquire(timeout=5)
    order_worker.stop(timeout=5)
