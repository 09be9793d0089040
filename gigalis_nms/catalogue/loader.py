"""Reading ``billing/catalogue.yaml``, with every mistake named by file, line and field.

A refused catalogue answers one :class:`InvalidInput` listing all its problems, each as
``catalogue.yaml:42: offers.3.monthly_fee: a price may not be negative``, so that whoever
edits the file fixes everything in one pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError

from gigalis_nms.catalogue.models import OFFER_KINDS, Catalogue
from gigalis_nms.errors import FieldProblem, InvalidInput
from gigalis_nms.inventory.loader.source import Located, read_yaml
from gigalis_nms.settings import Settings, get_settings

logger = logging.getLogger(__name__)

REPOSITORY_CATALOGUE = Path(__file__).resolve().parents[2] / "billing" / "catalogue.yaml"
VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")
UNION_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})


def load_catalogue(path: Path) -> Catalogue:
    """The catalogue in ``path``; InvalidInput naming every problem otherwise."""
    label = path.name
    if not path.is_file():
        raise InvalidInput.of("path", "no such file", str(path))
    document = read_yaml(path, label)
    if not isinstance(document, Located):
        raise InvalidInput.of(
            "catalogue", "must be a mapping of version, valid_from, sla_classes and offers", label
        )

    # Checked per offer rather than once for the whole catalogue, so that an unknown SLA class
    # or a repeated id is reported beside the other mistakes instead of after their fix.
    context = {
        "sla_classes": _declared_ids(document.get("sla_classes")),
        "duplicate_offer_ids": _repeated(_declared_ids(document.get("offers"), unique=False)),
    }
    try:
        catalogue = Catalogue.model_validate(document, context=context)
    except ValidationError as error:
        _raise_problems([problem_at(document, item) for item in error.errors()])
    logger.info(
        "catalogue %s: version %s, %d offers", path, catalogue.version, len(catalogue.offers)
    )
    return catalogue


def catalogue_path(settings: Settings) -> Path:
    """The file the service reads: GIGALIS_CATALOGUE_FILE, or the checkout's own."""
    return settings.catalogue_file or REPOSITORY_CATALOGUE


@lru_cache(maxsize=4)
def cached_catalogue(path: Path) -> Catalogue:
    """``load_catalogue(path)``, read once per process.

    A change to the file is seen only after a restart; a catalogue changing under orders
    being priced would be worse. A refused file is not cached: each use reports it again.
    """
    return load_catalogue(path)


def default_catalogue() -> Catalogue:
    """The catalogue named by the process settings."""
    return cached_catalogue(catalogue_path(get_settings()))


def _declared_ids(items: Any, *, unique: bool = True) -> list[str]:
    if not isinstance(items, list):
        return []
    ids = [
        item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]
    return list(dict.fromkeys(ids)) if unique else ids


def _repeated(ids: Iterable[str]) -> set[str]:
    return {name for name, count in Counter(ids).items() if count > 1}


def problem_at(document: Located, error: Any) -> FieldProblem:
    """A pydantic error as a problem at the line of the key it concerns.

    The offer kind that pydantic puts in the location of a discriminated union's error is
    left out: the file does not have it as a key.
    """
    loc = list(error["loc"])
    reason = str(error["msg"])
    if error["type"] in UNION_TAG_ERRORS:  # about the offer's kind, said at its line
        loc.append("kind")
        reason = f"must be one of {', '.join(OFFER_KINDS)}"
    target: Any = document
    mapping = document
    path: list[str] = []
    leaf: str | None = None
    for part in _without_kinds(document, loc):
        path.append(str(part))
        if isinstance(target, dict) and part in target:
            leaf = str(part)
            if isinstance(target, Located):
                mapping = target
            target = target[part]
        elif isinstance(target, list) and isinstance(part, int) and part < len(target):
            leaf = None
            target = target[part]
        else:  # a missing key: said at the line of the mapping that lacks it
            leaf = None
            if isinstance(target, Located):
                mapping = target
            break
        if isinstance(target, Located):
            mapping, leaf = target, None
    for prefix in VALUE_ERROR_PREFIXES:
        reason = reason.removeprefix(prefix)
    return FieldProblem(".".join(path) or "catalogue", reason, mapping.where(leaf))


def _without_kinds(document: Located, loc: Sequence[Any]) -> list[Any]:
    parts: list[Any] = []
    target: Any = document
    for part in loc:
        if isinstance(target, dict) and part not in target and part in OFFER_KINDS:
            continue
        parts.append(part)
        try:
            target = target[part]
        except (KeyError, IndexError, TypeError):
            target = None
    return parts


def _raise_problems(problems: list[FieldProblem]) -> NoReturn:
    problems = list(dict.fromkeys(problems))
    count = len(problems)
    summary = str(problems[0]) if count == 1 else f"{count} problems; the first: {problems[0]}"
    raise InvalidInput(summary, problems)
