"""The callback policy, the query check, the signing secret and one delivery's request,
with a fake resolver and an in-memory transport: no DNS, no network."""

from __future__ import annotations

import doctest
import hashlib
import hmac
import ipaddress
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from types import ModuleType

import httpx
import pytest

from gigalis_nms.errors import InvalidInput
from gigalis_nms.ordering import delivery, hub
from gigalis_nms.ordering.delivery import Attempt, ClaimedDelivery, send_delivery
from gigalis_nms.ordering.events import EVENT_TYPES
from gigalis_nms.ordering.hub import (
    Resolver,
    address_refusal,
    callback_addresses,
    check_query,
    signature,
    subscription_secret,
)

NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


def resolving_to(*addresses: str) -> Resolver:
    def resolve(_host: str, _port: int) -> Sequence[str]:
        return addresses

    return resolve


def refusal(callback: str, *, allow_private: bool = True, addresses: Sequence[str] = ()) -> str:
    resolve = resolving_to(*addresses) if addresses else resolving_to("127.0.0.1")
    with pytest.raises(InvalidInput) as refused:
        callback_addresses(callback, allow_private=allow_private, resolve=resolve)
    [problem] = refused.value.problems
    assert problem.field == "callback"
    return problem.reason


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 to the metadata address
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 to the metadata address
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("0.1.2.3", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
    ],
)
def test_never_allowed_addresses(address: str, reason: str) -> None:
    verdict = address_refusal(ipaddress.ip_address(address), allow_private=True)
    assert verdict is not None
    assert verdict.startswith(reason)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "::ffff:127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "fc00::1",
        "fd12:3456::1",
        "192.0.2.10",
        "198.51.100.1",
        "203.0.113.9",
        "2001:db8::1",
        "100.64.0.1",
    ],
)
def test_private_addresses_only_when_allowed(address: str) -> None:
    parsed = ipaddress.ip_address(address)
    assert address_refusal(parsed, allow_private=True) is None
    verdict = address_refusal(parsed, allow_private=False)
    assert verdict is not None
    assert verdict.startswith("private address")


def test_a_public_address_is_allowed() -> None:
    assert address_refusal(ipaddress.ip_address("8.8.8.8"), allow_private=False) is None


@pytest.mark.parametrize(
    ("callback", "reason"),
    [
        ("ftp://127.0.0.1/x", "the scheme must be http or https"),
        ("file:///etc/passwd", "the scheme must be http or https"),
        ("gopher://127.0.0.1/", "the scheme must be http or https"),
        ("http://user:secret@127.0.0.1/", "may not carry a user name or password"),
        ("http://user@127.0.0.1/", "may not carry a user name or password"),
        ("http:///path", "names no host"),
        ("http://127.0.0.1/a b", "contains spaces or control characters"),
        ("http://127.0.0.1/\nx", "contains spaces or control characters"),
        ("http://127.0.0.1/" + "a" * 2000, "longer than 2000 characters"),
        ("not a url", "contains spaces or control characters"),
        ("http://127.0.0.1:99999/", "port 99999 is not between 1 and 65535"),
        ("http://[::1/", "not a URL"),
    ],
)
def test_malformed_callbacks_are_refused(callback: str, reason: str) -> None:
    assert refusal(callback).startswith(reason)


def test_the_metadata_address_is_refused_even_with_private_callbacks_allowed() -> None:
    reason = refusal("http://169.254.169.254/latest/meta-data/")
    assert reason == (
        "refused: 169.254.169.254 is link-local address 169.254.169.254 "
        "(cloud metadata services live there)"
    )
    assert "link-local" in refusal("http://[fe80::1]:8080/")


def test_a_name_is_refused_if_any_of_its_addresses_is() -> None:
    reason = refusal("https://hooks.test/", addresses=("192.0.2.1", "169.254.169.254"))
    assert "hooks.test is link-local" in reason


def test_a_private_callback_is_refused_unless_allowed() -> None:
    assert "private address 10.0.0.5" in refusal("http://10.0.0.5/", allow_private=False)
    assert "private address 127.0.0.1" in refusal("http://localhost/", allow_private=False)
    url, addresses = callback_addresses(
        "http://127.0.0.1:8080/cb", allow_private=True, resolve=resolving_to("127.0.0.1")
    )
    assert (url.host, url.port, addresses) == ("127.0.0.1", 8080, ["127.0.0.1"])


def test_a_name_that_resolves_to_nothing_is_refused() -> None:
    with pytest.raises(InvalidInput, match="resolves to no address"):
        callback_addresses("http://nowhere.test/", allow_private=True, resolve=lambda *_: [])


def test_queries_name_known_event_types_only() -> None:
    every = "eventType=" + ",".join(EVENT_TYPES)
    assert check_query(every) == every
    assert check_query(None) is None
    assert check_query("  ") is None
    for bad in ("eventType=orderDone", "eventType=", "state=completed", "eventType", "a=b&&"):
        with pytest.raises(InvalidInput) as refused:
            check_query(bad)
        assert refused.value.problems[0].field == "query"


def test_the_secret_depends_on_the_key_the_id_and_the_salt() -> None:
    secret = subscription_secret("key", 7, "salt")
    expected = hmac.new(b"key", b"hub-subscription:7:salt", hashlib.sha256).hexdigest()
    assert secret == expected
    assert secret != subscription_secret("other key", 7, "salt")
    assert secret != subscription_secret("key", 8, "salt")
    assert secret != subscription_secret("key", 7, "pepper")


def claimed(callback: str) -> ClaimedDelivery:
    return ClaimedDelivery(
        id=11,
        event_id=42,
        event_type="productOrderStateChangeEvent",
        payload={"eventId": "42", "event": {"productOrder": {"id": "5", "state": "é"}}},
        order_id=5,
        subscription_id=3,
        callback=callback,
        secret_salt="salt",
        attempts=0,
        claimed_at=NOW,
    )


def sent_through(
    answer: int, callback: str, addresses: Sequence[str]
) -> tuple[Attempt, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(answer, headers={"Location": "http://169.254.169.254/"})

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        attempt = send_delivery(
            client,
            claimed(callback),
            "secret",
            now=NOW,
            allow_private=True,
            resolve=resolving_to(*addresses),
        )
    return attempt, requests


def test_a_delivery_is_signed_and_sent_to_the_checked_address() -> None:
    attempt, [request] = sent_through(200, "https://hooks.test:8443/cb?x=1", ["192.0.2.7"])

    assert attempt == Attempt(200)
    assert attempt.acknowledged
    assert str(request.url) == "https://192.0.2.7:8443/cb?x=1"
    assert request.headers["host"] == "hooks.test:8443"
    assert request.extensions["sni_hostname"] == "hooks.test"
    timestamp = str(int(NOW.timestamp()))
    assert request.headers["x-gigalis-timestamp"] == timestamp
    assert request.headers["x-gigalis-signature"] == signature("secret", timestamp, request.content)
    assert request.headers["x-gigalis-event-id"] == "42"
    assert request.headers["x-gigalis-delivery"] == "11"
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.content) == claimed("x").payload


def test_an_ipv6_callback_is_sent_to_its_bracketed_address() -> None:
    _, [request] = sent_through(204, "http://[::1]:9000/cb", ["::1"])
    assert str(request.url) == "http://[::1]:9000/cb"


@pytest.mark.parametrize(
    ("status", "error"),
    [(302, "HTTP 302: redirects are not followed"), (500, "HTTP 500"), (404, "HTTP 404")],
)
def test_anything_but_2xx_is_a_failed_attempt(status: int, error: str) -> None:
    attempt, requests = sent_through(status, "http://127.0.0.1/cb", ["127.0.0.1"])
    assert attempt == Attempt(status, error)
    assert not attempt.acknowledged
    assert len(requests) == 1


def test_a_refused_address_fails_the_attempt_without_a_request() -> None:
    attempt, requests = sent_through(200, "http://hooks.test/cb", ["169.254.169.254"])
    assert requests == []
    assert attempt.status is None
    assert attempt.error is not None
    assert "link-local" in attempt.error


@pytest.mark.parametrize("module", [hub, delivery], ids=lambda module: module.__name__)
def test_the_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
