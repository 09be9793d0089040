"""`lab down` removes the lab's own entries of its runtime folder and nothing else: a folder
given by mistake as --runtime-dir keeps what was in it."""

from __future__ import annotations

from pathlib import Path

from gigalis_nms.lab.layout import RuntimeLayout
from gigalis_nms.lab.teardown import Teardown, _remove_runtime_dir


def make_lab_entries(root: Path) -> None:
    (root / "routers" / "nte1-cr1" / "state").mkdir(parents=True)
    (root / "ssh").mkdir()
    (root / "ssh" / "known_hosts").write_text("198.51.100.11 ssh-ed25519 AAAA\n")
    (root / "state.json").write_text("{}")


def test_a_lab_folder_is_removed_whole(tmp_path: Path) -> None:
    root = tmp_path / "gigalis-lab"
    root.mkdir()
    make_lab_entries(root)
    report = Teardown()

    _remove_runtime_dir(root, report)

    assert not root.exists()
    assert sorted(Path(folder).name for folder in report.folders) == [
        "routers",
        "ssh",
        "state.json",
    ]
    assert report.problems == []


def test_files_the_lab_did_not_make_stay(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    make_lab_entries(root)
    (root / "notes.txt").write_text("important")
    (root / "projects").mkdir()

    _remove_runtime_dir(root, Teardown())

    assert sorted(entry.name for entry in root.iterdir()) == ["notes.txt", "projects"]
    assert (root / "notes.txt").read_text() == "important"


def test_a_folder_without_a_lab_is_not_touched(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("important")
    report = Teardown()

    _remove_runtime_dir(tmp_path, report)

    assert (tmp_path / "notes.txt").exists()
    assert report.found_nothing
    assert RuntimeLayout(tmp_path).lab_entries() == []
