"""Configuration documents: the section splitter and its errors."""

from __future__ import annotations

import pytest

from gigalis_nms.devices.frr.document import (
    DocumentError,
    Section,
    parse_document,
    render_document,
)


def test_a_document_without_markers_is_frr_only() -> None:
    document = parse_document("frr version 8.4.4\nhostname r1\n")

    assert document.kernel is None
    assert document.frr == Section("frr version 8.4.4\nhostname r1\n", first_line=1)


def test_both_sections_keep_their_first_line_number() -> None:
    text = "! section: kernel\nlink br1 type bridge\n\n! section: frr\nhostname r1"

    document = parse_document(text)

    assert document.kernel == Section("link br1 type bridge\n\n", first_line=2)
    assert document.frr == Section("hostname r1\n", first_line=5)


def test_sections_may_come_in_any_order_and_alone() -> None:
    document = parse_document(
        "! section: frr\nhostname r1\n! section: kernel\nport eth3 master b\n"
    )
    assert document.kernel == Section("port eth3 master b\n", first_line=4)
    assert parse_document("! section: kernel\nlink b type bridge\n").frr is None


def test_an_empty_kernel_section_is_present_and_an_empty_frr_section_absent() -> None:
    document = parse_document("! section: kernel\n! section: frr\n! only a comment\n")

    assert document.kernel == Section("", first_line=2)
    assert document.frr is None


def test_comments_may_precede_the_first_marker() -> None:
    document = parse_document("! rendered by gigalis\n\n! section: frr\nhostname r1\n")
    assert document.frr == Section("hostname r1\n", first_line=4)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hostname r1\n! section: frr\n", "line 1: section: configuration before the first"),
        ("! section: kernel\n! section: routing\n", "line 2: section: unknown section 'routing'"),
        ("! section: frr\nx\n! section: frr\n", "line 3: section: section 'frr' given twice"),
    ],
)
def test_wrong_markers_are_refused_with_the_line(text: str, reason: str) -> None:
    with pytest.raises(DocumentError) as refused:
        parse_document(text)
    assert str(refused.value).startswith(reason)


def test_a_rendered_document_splits_back_into_its_sections() -> None:
    text = render_document("link br1 type bridge\n", "hostname r1\n")
    document = parse_document(text)

    assert document.kernel is not None
    assert document.frr is not None
    assert (document.kernel.text, document.frr.text) == ("link br1 type bridge\n", "hostname r1\n")
