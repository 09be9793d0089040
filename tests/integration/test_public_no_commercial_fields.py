"""Nothing commercial or personal leaves through the public view.

Every route of the application under /api/v1/public is found from the application itself, so
an endpoint added later is covered without touching this test; routes with path parameters
are called with every value their parent collection lists (or the first fifty). The database
holds the real Gigalis inventory (circuits of six operators), its subscriptions priced from
the catalogue, and sites needing THD with contacts, notes and estimated costs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from gigalis_nms.billing.models import Subscription
from gigalis_nms.db.types import table_of
from gigalis_nms.inventory.models import Circuit, Organisation
from tests.integration.public_support import PUBLIC, Private, load_public_data

pytestmark = pytest.mark.timeout(600)

# Parts of a key that would make a field commercial or personal, whatever the rest of it.
FORBIDDEN_KEY_PARTS = (
    "price",
    "fee",
    "cost",
    "amount",
    "monthly",
    "recurring",
    "mrc",
    "invoice",
    "subscription",
    "operator",
    "customer",
    "tenant",
    "owner",
    "iru",
    "contact",
    "email",
    "phone",
    "siren",
    "note",
    "token",
    "secret",
    "password",
    "priority",
    "fibre_count",
    "strand",
    "circuit",
    "vlan",
)
PUBLISHER = "Gigalis"  # the organisation publishing the data names itself
PATH_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
PER_PARAMETER = 50
EURO = re.compile(r"€|\bEUR\b|\beuros?\b", re.IGNORECASE)


def public_routes(app: Any) -> list[str]:
    """Every GET route of the app under the public prefix."""
    found = [
        context.path
        for context in iter_route_contexts(app.routes)
        if context.path and context.path.startswith(PUBLIC) and "GET" in (context.methods or set())
    ]
    assert found, "no public route found: the router is not included"
    return sorted(set(found))


def parent_values(client: TestClient, path: str, name: str) -> list[str]:
    """Values of the path parameter ``name`` in ``path``, from the collection above it."""
    parent = path[: path.index("/{" + name)]
    page = client.get(parent, params={"limit": 0})
    assert page.status_code == 200, f"{parent} should list what {path} reads"
    body = page.json()
    if "features" in body:
        values = [str(feature["id"]) for feature in body["features"]]
    else:
        values = [str(item[name]) for item in body["results"]]
    assert values, f"{parent} lists nothing to call {path} with"
    return values[:PER_PARAMETER]


def concrete_paths(client: TestClient, path: str) -> list[str]:
    names = PATH_PARAMETER.findall(path)
    if not names:
        return [path]
    assert len(names) == 1, f"{path}: teach this test to fill several path parameters"
    [name] = names
    return [PATH_PARAMETER.sub(value, path) for value in parent_values(client, path, name)]


def keys_of(document: Any) -> Iterator[str]:
    if isinstance(document, dict):
        for key, value in document.items():
            yield str(key)
            yield from keys_of(value)
    elif isinstance(document, list):
        for item in document:
            yield from keys_of(item)


def every_page(client: TestClient, path: str) -> Iterator[tuple[str, Any, str]]:
    """(url, JSON, text) of every page of ``path``, without a token."""
    url: str | None = path
    while url:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert "authorization" not in response.request.headers
        body = response.json()
        yield url, body, response.text
        url = body.get("next") if isinstance(body, dict) else None


def secrets_of(engine: Engine, private: Private) -> dict[str, list[str]]:
    """Every text the public view must never contain, by kind."""
    with engine.connect() as connection:
        organisations = connection.execute(sa.select(table_of(Organisation))).mappings().all()
        circuits = connection.execute(sa.select(table_of(Circuit).c.ref)).scalars().all()
        fees = connection.execute(
            sa.select(
                table_of(Subscription).c.monthly_fee,
                table_of(Subscription).c.one_time_fee,
                table_of(Subscription).c.iru_price,
            )
        ).all()
    others = [o for o in organisations if o["name"] != PUBLISHER]
    contacts = [c for o in organisations for c in o["contacts"]]
    contacts += [c.model_dump() for c in private.contacts]
    amounts = {Decimal(a) for row in fees for a in row} | set(private.costs)
    return {
        "organisation name": [o["name"] for o in others],
        "SIREN": [o["siren"] for o in organisations if o["siren"]],
        "ARCEP code": [o["arcep_code"] for o in others if o["arcep_code"]],
        "contact name": [c["name"] for c in contacts],
        "contact email": [c["email"] for c in contacts if c.get("email")],
        "contact phone": [c["phone"] for c in contacts if c.get("phone")],
        "note": private.notes,
        "circuit reference": list(circuits),
        # Below 100 an amount's digits could be part of a coordinate; 100.00 and up cannot.
        "amount": [f"{amount:.2f}" for amount in amounts if amount >= 100],
    }


@pytest.fixture
def private(engine: Engine) -> Private:
    return load_public_data(engine)


def test_no_commercial_or_personal_field_leaves(
    client: TestClient, engine: Engine, private: Private
) -> None:
    secrets = secrets_of(engine, private)
    assert secrets["organisation name"]
    assert secrets["contact email"]
    assert secrets["amount"]
    assert len(secrets["circuit reference"]) >= 20
    words = {
        kind: re.compile("|".join(rf"(?<!\w){re.escape(text)}(?!\w)" for text in texts))
        for kind, texts in secrets.items()
        if texts
    }

    called = []
    for route in public_routes(client.app):
        for path in concrete_paths(client, route):
            for url, body, text in every_page(client, path):
                called.append(url)
                bad_keys = sorted(
                    {
                        key
                        for key in keys_of(body)
                        for part in FORBIDDEN_KEY_PARTS
                        if part in key.lower()
                    }
                )
                assert not bad_keys, f"{url} answers the key(s) {bad_keys}"
                for kind, pattern in words.items():
                    found = pattern.search(text)
                    assert found is None, f"{url} shows a {kind}: {found.group(0) if found else ''}"
                assert EURO.search(text) is None, f"{url} shows an amount in euros"

    # The item routes were called with real values, the sites with contacts among them.
    assert any(url.startswith(f"{PUBLIC}/sites/") for url in called)
    assert any(url.startswith(f"{PUBLIC}/pops/NTE1") for url in called)


def test_every_public_endpoint_answers_without_a_token(
    client: TestClient, private: Private
) -> None:
    for route in public_routes(client.app):
        path = concrete_paths(client, route)[0]
        anonymous = client.get(path)
        assert anonymous.status_code == 200, (path, anonymous.text)
        # A token, even a bad one, changes nothing: the view is the same for everyone.
        with_token = client.get(path, headers={"Authorization": "Bearer gig_not_a_token"})
        assert with_token.status_code == 200, path
        assert with_token.content == anonymous.content
