"""Named library roots: one share, mounted at different places by different computers,
is one set of photos (`mmsearch.catalog.roots`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from mmsearch.catalog.db import Filters
from mmsearch.catalog.roots import RootError, RootMap
from mmsearch.catalog.server import server_url
from mmsearch.services.indexing import Indexer
from mmsearch.services.library import Library
from tests.conftest import subprocess_env
from tests.test_robustness import make_photos


def test_a_root_stores_paths_relative_to_it_and_reads_them_back_here(tmp_path: Path) -> None:
    share = tmp_path / "mnt" / "share"
    share.mkdir(parents=True)
    roots = RootMap(tmp_path / "unmapped").mapped("family", share)
    raw = os.fsencode(share / "2019" / "beach.jpg")
    assert roots.store(raw) == b"@family/2019/beach.jpg"
    assert roots.load(b"@family/2019/beach.jpg") == raw
    assert roots.store(os.fsencode(share)) == b"@family"  # the root's own folder
    assert roots.load(b"@family") == os.fsencode(share)
    # a range's prefix bound translates the same way, so folder filters keep working
    prefix = os.fsencode(share / "2019") + b"/"
    assert roots.store(prefix) == b"@family/2019/"
    assert roots.store(prefix + b"\xff") == b"@family/2019/\xff"
    # not under the root: stored as it is; a name that only starts like the root: too
    assert roots.store(b"/elsewhere/a.jpg") == b"/elsewhere/a.jpg"
    beside = os.fsencode(tmp_path / "mnt" / "share-old" / "a.jpg")
    assert roots.store(beside) == beside
    # a file name that is not UTF-8 keeps its exact bytes through the root
    odd = os.fsencode(share) + b"/caf\xe9.jpg"
    assert roots.load(roots.store(odd)) == odd


def test_a_root_not_mapped_here_reads_as_a_folder_that_never_exists(tmp_path: Path) -> None:
    roots = RootMap(tmp_path / "unmapped")
    local = roots.load(b"@studio/2020/a.jpg")
    path = Path(os.fsdecode(local))
    assert not path.exists() and path.is_absolute()
    assert roots.unmapped_root(path) == "studio"
    assert roots.label(path) == "@studio/2020/a.jpg"
    assert roots.store(local) == b"@studio/2020/a.jpg"  # written back: the root form again
    assert roots.unmapped_root(tmp_path / "photo.jpg") is None


def test_roots_refuse_bad_names_missing_folders_and_overlaps(tmp_path: Path) -> None:
    share = tmp_path / "share"
    (share / "inner").mkdir(parents=True)
    roots = RootMap(tmp_path / "unmapped")
    with pytest.raises(RootError, match="can't name a library root"):
        roots.mapped("a/b", share)
    with pytest.raises(RootError, match="not a folder on this computer: mount the share"):
        roots.mapped("family", tmp_path / "absent")
    roots = roots.mapped("family", share)
    with pytest.raises(RootError, match="overlaps the root 'family'"):
        roots.mapped("inner", share / "inner")
    assert roots.mapped("family", share / "inner").mounts == {"family": share / "inner"}
    roots.write(tmp_path)
    assert RootMap.read(tmp_path).mounts == {"family": share}
    (tmp_path / "roots.json").write_text("{not json")
    with pytest.raises(RootError, match=r"roots\.json can't be read"):
        RootMap.read(tmp_path)


def test_mapping_a_root_over_indexed_folders_keeps_their_photos_and_vectors(
    tmp_path: Path, bundled_model_dir: Path, monkeypatch: Any
) -> None:
    """Folders indexed by their absolute path before the root existed move under it, with
    their photos' ids and vectors: the next run finds every photo unchanged; then the drive
    mounted elsewhere (the root mapped to its new place) is the same library still."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    share = tmp_path / "drive"
    make_photos(share / "2019", 5)
    make_photos(share / "2020", 3)
    with Library(tmp_path / "home") as lib:
        with lib.writing("test"):
            lib.add_folder(share / "2019")
            lib.add_folder(share / "2020")
        first = Indexer(lib).run()  # (2020's photos repeat 2019's first three)
        assert (first.added, first.copied) == (5, 3)
        ids = {p.name: lib.photo(p) for p in (share / "2019").iterdir()}
        with lib.writing("test"):
            assert lib.map_root("drive", share) == 2 + 8  # folders and photos
        assert [(r.name, r.folder, r.folders) for r in lib.roots()] == [("drive", share, 2)]
        assert {f.path for f in lib.folders()} == {share / "2019", share / "2020"}
        for name, before in ids.items():
            after = lib.photo(share / "2019" / name)
            assert before is not None and after is not None and after.id == before.id
        report = Indexer(lib).run()
        assert (report.added, report.unchanged, report.removed) == (0, 8, 0)
    raw = _stored_paths(f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite'}")
    assert raw and all(p.startswith(b"@drive/") for p in raw)
    # the drive comes back at another mount point
    moved = tmp_path / "media" / "drive"
    moved.parent.mkdir()
    shutil.move(share, moved)
    with Library(tmp_path / "home") as lib:
        report = Indexer(lib).run()
        assert report.missing_folders and report.removed == 0  # not there: photos kept
        with lib.writing("test"):
            assert lib.map_root("drive", moved) == 0
        report = Indexer(lib).run()
        assert (report.added, report.unchanged, report.removed) == (0, 8, 0)
        assert lib.photo(moved / "2020" / "p000.jpg") is not None
        assert lib.counts()["embedded"] == 8
        # a folder filter above the root's folder takes in the root's photos
        kept = {
            folder: len(lib.catalog.filtered_ids(lib.model_id, Filters(folder=folder)))
            for folder in (tmp_path, tmp_path / "media", moved, moved / "2020", tmp_path / "home")
        }
        assert list(kept.values()) == [8, 8, 8, 3, 0]


def _stored_paths(url: str) -> list[bytes]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [bytes(p) for (p,) in conn.execute(text("SELECT path FROM photos"))]
    finally:
        engine.dispose()


def _cli(url: str, home: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mmsearch", "--catalog", url, "--data-dir", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_computers_mount_one_share_at_different_places(
    tmp_path: Path, pg_url: str, bundled_model_dir: Path
) -> None:
    """Computer A mounts the share at /…/a/photos, B at /…/b/photos (here a link to the
    same files: another path to them, as a second mount is). A indexes; B, before it maps
    the root, is told so and loses nothing; mapped, it finds A's photos at its own paths
    without indexing any of them again."""
    share = tmp_path / "a" / "photos"
    make_photos(share / "2019", 6)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "photos").symlink_to(share, target_is_directory=True)
    at_b = tmp_path / "b" / "photos"
    home_a, home_b = tmp_path / "computer-a", tmp_path / "computer-b"
    env = subprocess_env(home_a, bundled_model_dir)

    mapped = _cli(pg_url, home_a, env, "library", "root", "family", str(share))
    assert mapped.returncode == 0, mapped.stderr
    assert f"the root 'family' is {share} on this computer" in mapped.stdout
    run = _cli(pg_url, home_a, env, "index", str(share / "2019"), "--json", "--no-text")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["added"] == 6
    stored = _stored_paths(server_url(pg_url).render_as_string(hide_password=False))
    assert sorted(stored) == [f"@family/2019/p{i:03d}.jpg".encode() for i in range(6)]

    # B has not mapped the root: it says so, keeps the photos, indexes nothing
    status = json.loads(_cli(pg_url, home_b, env, "status", "--json").stdout)
    assert status["roots"] == [{"name": "family", "folder": None}]
    assert [f["path"] for f in status["folders"]] == ["@family/2019"]
    run = _cli(pg_url, home_b, env, "index", "--no-text")
    assert run.returncode == 1, run.stderr  # as for an unplugged drive: not all was reached
    assert "under the library root 'family', which this computer has not mapped" in run.stdout
    assert "mmsearch library root family FOLDER" in run.stdout
    assert len(_stored_paths(server_url(pg_url).render_as_string(hide_password=False))) == 6

    mapped = _cli(pg_url, home_b, env, "library", "root", "family", str(at_b))
    assert mapped.returncode == 0, mapped.stderr
    listed = _cli(pg_url, home_b, env, "library", "roots", "--json")
    assert json.loads(listed.stdout) == [{"name": "family", "folder": str(at_b), "folders": 1}]
    run = _cli(pg_url, home_b, env, "index", "--json", "--no-text")
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert (report["added"], report["unchanged"], report["removed"]) == (0, 6, 0)
    hits = _cli(pg_url, home_b, env, "search", "a photo", "--top", "6", "--json")
    assert hits.returncode == 0, hits.stderr
    assert sorted(h["path"] for h in json.loads(hits.stdout)) == [
        str(at_b / "2019" / f"p{i:03d}.jpg") for i in range(6)
    ]
    # and A still sees them at its own mount point
    hits = _cli(pg_url, home_a, env, "search", "a photo", "--top", "1", "--json")
    assert Path(json.loads(hits.stdout)[0]["path"]).parent == share / "2019"
    # a bad mapping names the problem and the fix, and changes nothing
    bad = _cli(pg_url, home_b, env, "library", "root", "family", str(tmp_path / "gone"))
    assert bad.returncode == 2 and "mount the share" in bad.stderr
    unmapped = _cli(pg_url, home_b, env, "library", "root", "family", "--unmap")
    assert unmapped.returncode == 0 and "no longer mapped here" in unmapped.stdout


def test_a_library_with_a_root_migrates_to_the_server_with_it(
    tmp_path: Path, pg_url: str, bundled_model_dir: Path, monkeypatch: Any
) -> None:
    """The rows go as stored (root-relative), and this computer's map goes with them."""
    monkeypatch.setenv("MMSEARCH_MODELS", str(bundled_model_dir.parent))
    share = tmp_path / "share"
    make_photos(share / "trip", 4)
    with Library(tmp_path / "home") as lib:
        with lib.writing("test"):
            lib.map_root("family", share)
            lib.add_folder(share / "trip")
        assert Indexer(lib).run().added == 4
        with lib.writing("test"):
            lib.copy_to(pg_url)
    assert all(
        p.startswith(b"@family/trip/")
        for p in _stored_paths(server_url(pg_url).render_as_string(hide_password=False))
    )
    with Library(tmp_path / "home", catalog=pg_url) as shared:
        assert [(r.name, r.folder) for r in shared.roots()] == [("family", share)]
        assert {f.path for f in shared.folders()} == {share / "trip"}
        assert shared.photo(share / "trip" / "p000.jpg") is not None
    # another computer, which has not mapped the root, copies it back home: still the root's
    with Library(tmp_path / "laptop", catalog=pg_url) as shared, shared.writing("test"):
        assert [(r.name, r.folder) for r in shared.roots()] == [("family", None)]
        shared.copy_to(str(tmp_path / "laptop-home"))
    raw = _stored_paths(f"sqlite:///{tmp_path / 'laptop-home' / 'catalog.sqlite'}")
    assert sorted(raw) == [f"@family/trip/p{i:03d}.jpg".encode() for i in range(4)]
