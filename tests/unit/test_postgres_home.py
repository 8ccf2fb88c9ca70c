"""Where a PostgreSQL cluster can live: folders the account running the server can enter."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from q2c.devstack.postgres import Account, cluster_home

STRANGER = Account(uid=54_321, gid=54_321, home=Path("/nonexistent-home"))


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A folder anyone may enter (pytest's own temporary folders are private to us)."""
    folder = Path(tempfile.mkdtemp(prefix="q2c-open-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def test_a_folder_open_to_others_is_reachable(open_dir: Path) -> None:
    assert STRANGER.reaches(open_dir / "cluster")
    assert STRANGER.reaches(open_dir / "not" / "made" / "yet")


def test_a_private_folder_above_is_not(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    assert not STRANGER.reaches(private / "inner" / "cluster")


def test_an_unreachable_folder_moves_to_the_accounts_home_under_a_stable_name(
    tmp_path: Path,
) -> None:
    private = tmp_path / "private"
    private.mkdir()
    private.chmod(0o700)
    preferred = private / "postgres"
    moved = cluster_home(preferred, STRANGER)
    assert moved.parent == STRANGER.home / "q2c"
    assert moved.name.startswith("postgres-")
    assert cluster_home(preferred, STRANGER) == moved
    assert cluster_home(private / "other", STRANGER) != moved


def test_a_reachable_folder_is_kept(open_dir: Path) -> None:
    assert cluster_home(open_dir / "postgres", STRANGER) == open_dir / "postgres"
