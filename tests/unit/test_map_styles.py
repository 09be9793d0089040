"""The map's styles and legend, read from the files the page serves (no browser): every
status a drawn cable or network site can have looks different and is in the legend, and
every commune is outlined, thinly, whatever its shade."""

from __future__ import annotations

import re

from gigalis_nms.api.map_page import asset
from gigalis_nms.inventory.enums import LifecycleStatus

RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def style_rules() -> dict[str, dict[str, str]]:
    """Each selector of map.css with its declarations (a selector list counts for each)."""
    css = COMMENT.sub("", asset("map.css").decode("utf-8"))
    rules: dict[str, dict[str, str]] = {}
    for selectors, body in RULE.findall(css):
        declarations = {
            name.strip(): value.strip()
            for name, _, value in (item.partition(":") for item in body.split(";"))
            if name.strip()
        }
        for selector in selectors.split(","):
            rules.setdefault(selector.strip(), {}).update(declarations)
    return rules


def legend() -> str:
    page = asset("map.html").decode("utf-8")
    return page[page.index('id="legend"') : page.index("</section>", page.index('id="legend"'))]


DRAWN = [status for status in LifecycleStatus if status is not LifecycleStatus.RETIRED]


def test_every_cable_status_drawn_has_its_own_look_and_legend() -> None:
    rules = style_rules()
    looks = {
        status: {**rules[".cable"], **rules.get(f".cable.{status.value}", {})} for status in DRAWN
    }
    assert len({tuple(sorted(look.items())) for look in looks.values()}) == len(DRAWN), looks
    for status in DRAWN:
        assert f'class="cable {status.value}"' in legend(), status


def test_planned_network_sites_are_faded_and_in_the_legend() -> None:
    assert float(style_rules()[".net-site.planned"]["fill-opacity"]) < 1
    assert re.search(r'class="net-site [a-z_]+ planned"', legend())
    assert "planned network site" in legend()


def test_every_commune_is_outlined_thinly() -> None:
    rules = style_rules()
    commune = rules[".commune"]
    # Unshaded communes are filled with .commune.none: a stroke of that colour (or white)
    # would leave them without an outline.
    assert commune["stroke"].lower() not in {"#fff", "#ffffff", "white", "none"}
    assert commune["stroke"].lower() != rules[".commune.none"]["fill"].lower()
    width = float(commune["stroke-width"])
    assert 0 < width < float(rules[".departement"]["stroke-width"]) / 2
