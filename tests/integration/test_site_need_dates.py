"""A site needing THD is refused, naming the field and changing nothing, when a step's date
is after today in Paris: on creation and on change through the API, on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import select

from gigalis_nms.db import session_scope
from gigalis_nms.resource_centre.models import SiteNeed, paris_today
from tests.integration.conftest import Api
from tests.integration.test_api_site_needs import BASE, body, create, problem, uai


def test_a_step_dated_in_the_future_is_refused(api: Api, engine: Engine) -> None:
    today, tomorrow = paris_today(), paris_today() + timedelta(days=1)

    refused = api.post("noc", BASE, json=body(identified_on=tomorrow.isoformat()))
    assert refused.status_code == 422, refused.text
    assert problem(refused) == (
        "identified_on",
        f"{tomorrow} is in the future (today is {today} in Paris)",
    )

    site = create(api, uai=uai(440007), identified_on=today.isoformat())
    path = f"{BASE}/{site['id']}"
    for change, field in (
        ({"status": "studied", "studied_on": tomorrow.isoformat()}, "studied_on"),
        ({"identified_on": (today + timedelta(days=365)).isoformat()}, "identified_on"),
    ):
        refused = api.patch("noc", path, json=change)
        assert refused.status_code == 422, (change, refused.text)
        assert problem(refused)[0] == field
        assert "is in the future" in problem(refused)[1]
    with session_scope(engine, read_only=True) as session:
        stored = session.exec(select(SiteNeed)).one()
        assert (stored.status, stored.studied_on, stored.identified_on) == (
            "identified",
            None,
            today,
        )

    studied = api.patch("noc", path, json={"status": "studied", "studied_on": today.isoformat()})
    assert studied.status_code == 200, studied.text
