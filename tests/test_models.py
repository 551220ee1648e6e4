"""The model manager: listing, switching in the background without ever mixing two models'
vectors, cancel and resume, removal, and CLIP folders working like any other model."""

from __future__ import annotations

import json
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from mmsearch.cli import main
from mmsearch.encoders import Model, ModelError
from mmsearch.paths import BUNDLED_MODEL_ID, CONSE_MODEL_ID
from mmsearch.services import models
from mmsearch.services.indexing import Indexer
from mmsearch.services.library import MODEL_VERSIONS_FILE, Library, read_active_model
from mmsearch.services.search import SearchEngine, SearchHit
from tests.conftest import CliRunner
from tests.test_robustness import make_photos

QUERIES = ["a cat", "a cup of coffee", "a rocket", "a motorcycle"]


def assert_hits_from(lib: Library, hits: list[SearchHit], query: str) -> None:
    """Every hit's score is the cosine of `lib`'s model's query vector with that photo's
    vector of the same model, and the hits are that model's exact top: nothing from
    another model's vectors or index."""
    query_vector = lib.model.text.encode([query])[0]
    ids, matrix = lib.catalog.vectors(lib.model_id)
    cosines = dict(zip(ids.tolist(), (matrix @ query_vector).tolist(), strict=True))
    assert hits
    for hit in hits:
        assert hit.photo.id in cosines
        assert hit.score == pytest.approx(cosines[hit.photo.id], abs=1e-4)
    best = sorted(cosines.values(), reverse=True)[: len(hits)]
    np.testing.assert_allclose([h.score for h in hits], best, atol=1e-4)


def search(lib: Library, query: str) -> list[SearchHit]:
    return SearchEngine(lib).search(query, 5, rerank=0)


def test_models_list_shows_installed_and_downloadable(cli: CliRunner, home: Path) -> None:
    listed = {m["id"]: m for m in cli("models", "list")}
    assert listed[BUNDLED_MODEL_ID]["active"] and listed[BUNDLED_MODEL_ID]["status"] == "bundled"
    assert listed[CONSE_MODEL_ID]["status"] == "bundled" and not listed[CONSE_MODEL_ID]["active"]
    openai = listed["clip-vit-b-32-openai"]
    assert openai["status"] == "available" and openai["downloadable"] and openai["dim"] == 512
    assert "zh" in listed["chinese-clip-vit-b-16"]["languages"]
    unknown = cli("models", "use", "no-such-model", expect=2)["error"]
    assert "not installed" in unknown and "mmsearch models import" in unknown


def test_models_use_downloads_a_catalogue_model_that_is_not_installed(
    cli: CliRunner, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`models use` goes through `install_and_use`: a downloadable catalogue model is fetched
    first (here from a hub nobody answers at), an import-only one says how to get it."""
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    offline = cli("models", "use", "clip-vit-b-32-openai", expect=2)
    assert "no network" in offline["error"] and f"127.0.0.1:{port}" in offline["error"]
    assert read_active_model(home) is None  # nothing switched, nothing installed
    assert not (home / "models" / "clip-vit-b-32-openai").exists()
    import_only = cli("models", "use", "mobileclip-s2", expect=2)["error"]
    assert "python -m models.clip.export --spec mobileclip-s2" in import_only
    assert "mmsearch models import FOLDER --id mobileclip-s2" in import_only
    with pytest.raises(ModelError, match="no model of that id"):
        models.install_and_use(home, "no-such-model")


def test_models_use_takes_the_writer_lock(cli: CliRunner, home: Path) -> None:
    """The switch holds the writer lock (as `models use` and the window's switch did before
    `install_and_use`): `--no-wait` refuses while another writer holds it, a cancel ends the
    wait; neither switches."""
    from mmsearch.catalog.lock import LibraryBusy, writer_lock

    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with writer_lock(home, "indexing run"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        busy = cli("models", "use", CONSE_MODEL_ID, "--no-wait", expect=3)
        assert "indexing run" in busy["error"]
        cancel, told = threading.Event(), []

        def waiting(holder_info: object) -> None:
            told.append(holder_info)
            cancel.set()

        with pytest.raises(LibraryBusy):
            models.install_and_use(home, CONSE_MODEL_ID, cancel=cancel, on_wait=waiting)
        assert len(told) == 1
    finally:
        release.set()
        holder.join()
    assert read_active_model(home) is None


def test_the_catalogue_ships_inside_the_package(tmp_path: Path) -> None:
    """The specs are package data read through importlib.resources: every file is found and
    parsed, also where `repo_root()` holds no catalogue (a frozen bundle's root here, an
    installed wheel's site-packages alike), and pyproject.toml declares them as package data."""
    import fnmatch
    import subprocess
    import sys
    import tomllib
    from importlib import resources

    folder = resources.files("mmsearch.services.models") / "specs"
    names = sorted(f.name for f in folder.iterdir() if f.name.endswith(".json"))
    assert len(names) >= 5 and [f.name for f in models.catalogue_files()] == names
    assert sorted(f"{s.id}.json" for s in models.available_specs()) == names
    assert not list((Path(models.__file__).parents[3] / "models").glob("**/*.json"))
    # repo_root() is sys._MEIPASS when frozen: point it at an empty folder.
    code = (
        "import sys; sys._MEIPASS = sys.argv[1]\n"
        "from mmsearch.paths import repo_root\n"
        "from mmsearch.services.models import available_specs\n"
        "assert not any(repo_root().iterdir())\n"
        "print(' '.join(sorted(s.id for s in available_specs())))\n"
    )
    empty = tmp_path / "root"
    empty.mkdir()
    found = subprocess.run(
        [sys.executable, "-c", code, str(empty)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=tmp_path,
    )
    assert found.stdout.split() == sorted(n.removesuffix(".json") for n in names)
    root = Path(models.__file__).parents[3]
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["mmsearch"]
    for name in names:
        assert any(
            fnmatch.fnmatch(f"services/models/specs/{name}", pattern) for pattern in package_data
        ), name


def test_switch_embeds_in_the_background_and_never_mixes(
    home: Path, photo_folder: Path, tmp_path: Path
) -> None:
    make_photos(tmp_path / "noise", 70)  # more than two batches: commits happen mid-switch
    with Library(home) as old:
        old.catalog.add_folder(photo_folder)
        old.catalog.add_folder(tmp_path / "noise")
        assert Indexer(old).run().ok
    photos = 76
    seen_during: list[int] = []

    def progress(done: int, total: int, _path: Path | None) -> None:
        # Mid-switch, the catalog holds some of the new model's vectors; a search (as the
        # window or another CLI would run it) still uses the old model alone.
        if seen_during:
            return
        with Library(home) as now:
            committed = now.catalog.counts(CONSE_MODEL_ID)["embedded"]
            if committed == 0:
                return
            seen_during.append(committed)
            assert now.model_id == BUNDLED_MODEL_ID
            for query in QUERIES:
                assert_hits_from(now, search(now, query), query)

    result = models.use_model(home, CONSE_MODEL_ID, progress)
    assert result.switched and result.report.ok
    assert seen_during and 0 < seen_during[0] < photos
    assert read_active_model(home) == CONSE_MODEL_ID
    with Library(home) as new:
        assert new.model_id == CONSE_MODEL_ID
        assert new.catalog.counts(CONSE_MODEL_ID)["embedded"] == photos
        assert len(new.index()) == photos
        for query in QUERIES:
            assert_hits_from(new, search(new, query), query)
        assert search(new, "a cup of coffee")[0].photo.path.name == "coffee.png"
    with Library(home) as lib:  # the old model's vectors stay: switching back is instant
        assert lib.catalog.counts(BUNDLED_MODEL_ID)["embedded"] == photos


def test_cancelled_switch_keeps_the_old_model_and_resumes(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    make_photos(folder, 60)
    with Library(home) as lib:
        lib.catalog.add_folder(folder)
        assert Indexer(lib).run().ok
    cancel = threading.Event()

    def progress(done: int, _total: int, _path: Path | None) -> None:
        if done >= 10:
            cancel.set()

    first = models.use_model(home, CONSE_MODEL_ID, progress, cancel)
    assert not first.switched and first.report.interrupted
    assert read_active_model(home) is None
    with Library(home) as lib:
        assert lib.model_id == BUNDLED_MODEL_ID
        partial = lib.catalog.counts(CONSE_MODEL_ID)["embedded"]
        assert 0 < partial < 60
        assert_hits_from(lib, search(lib, "noise"), "noise")
    second = models.use_model(home, CONSE_MODEL_ID)
    assert second.switched and second.report.indexed == 60 - partial
    with Library(home) as lib:
        assert lib.model_id == CONSE_MODEL_ID and len(lib.index()) == 60


def test_use_and_remove_through_the_cli(
    cli: CliRunner,
    home: Path,
    photo_folder: Path,
    bundled_model_dir: Path,
    conse_model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shipped = tmp_path / "shipped"  # the app's own models: the default one only
    shipped.mkdir()
    (shipped / BUNDLED_MODEL_ID).symlink_to(bundled_model_dir)
    monkeypatch.setenv("MMSEARCH_MODELS", str(shipped))
    cli("index", str(photo_folder))
    # A model in the data folder (as download, import or `mmsearch export` put it there).
    shutil.copytree(conse_model_dir, home / "models" / CONSE_MODEL_ID)
    listed = {m["id"]: m for m in cli("models", "list")}
    assert listed[CONSE_MODEL_ID]["status"] == "installed"
    switched = cli("models", "use", CONSE_MODEL_ID)
    assert switched["switched"] and switched["model"] == CONSE_MODEL_ID
    assert cli("status")["model"] == CONSE_MODEL_ID
    assert cli("search", "a cup of coffee", "--top", "1")[0]["path"].endswith("coffee.png")
    assert cli("models", "remove", CONSE_MODEL_ID, expect=2)["error"]  # active
    assert cli("models", "remove", BUNDLED_MODEL_ID, expect=2)["error"]  # ships with the app
    cli("models", "use", BUNDLED_MODEL_ID)
    removed = cli("models", "remove", CONSE_MODEL_ID)
    assert removed["vectors_dropped"] == 6
    assert not (home / "models" / CONSE_MODEL_ID).exists()
    listed = {m["id"]: m for m in cli("models", "list")}
    # (the checkout's build/models, always on the search path, has its own copy)
    assert CONSE_MODEL_ID not in listed or listed[CONSE_MODEL_ID]["status"] == "bundled"
    with Library(home) as lib:
        assert lib.catalog.counts(CONSE_MODEL_ID)["embedded"] == 0
        assert not list(lib.index_dir.glob(f"{CONSE_MODEL_ID}.*"))
        assert lib.catalog.counts(BUNDLED_MODEL_ID)["embedded"] == 6


def test_a_missing_model_is_explained(home: Path) -> None:
    with Library(home, "no-such-model") as lib, pytest.raises(ModelError) as err:
        lib.model  # noqa: B018
    assert "mmsearch models list" in str(err.value)
    with pytest.raises(ModelError, match="not installed"):
        models.remove_model(home, "no-such-model")


# -- a CLIP folder (hub layout) is a model like the others ----------------------------------


@pytest.fixture(scope="module")
def clip_export() -> Path:
    pytest.importorskip("open_clip")
    from tests.clip_support import exported_model

    return exported_model("clip-vit-b-32-openai")[1]


@pytest.mark.slow
def test_clip_model_imports_indexes_searches_and_evaluates(
    cli: CliRunner, home: Path, photo_folder: Path, clip_export: Path, tmp_path: Path
) -> None:
    cli("index", str(photo_folder))
    installed = cli("models", "import", str(clip_export), "--id", "clip-vit-b-32-openai")
    assert installed["installed"] == "clip-vit-b-32-openai"
    switched = cli("models", "use", "clip-vit-b-32-openai")
    assert switched["switched"] and switched["added"] + switched["updated"] >= 0
    with Library(home) as lib:
        assert lib.model.spec.layout == "immich" and lib.model.spec.dim == 512
        assert lib.catalog.counts("clip-vit-b-32-openai")["embedded"] == 6
        assert_hits_from(lib, search(lib, "a cat"), "a cat")
        assert lib.model.fusion is None
    # random weights: the ranking means nothing, but every path runs with a CLIP model
    assert len(cli("search", "a cat", "--top", "3")) == 3
    assert len(cli("similar", str(photo_folder / "cat.png"), "--top", "2")) == 2
    assert len(cli("rank", str(photo_folder / "cat.png"), "a cat", "a rocket")) == 2
    captions = tmp_path / "captions.jsonl"
    captions.write_text(
        "".join(
            f'{{"image": "{name}", "caption": "{text}"}}\n'
            for name, text in [("cat.png", "a cat"), ("coffee.png", "coffee"), ("rocket.jpg", "x")]
        )
    )
    result = cli("eval", "--captions", str(captions), "--images-root", str(photo_folder))
    assert result["images"] == 3 and set(result["t2i"]) == {"R@1", "R@5", "R@10"}
    with Library(home) as lib:
        assert lib.model.spec.id == "clip-vit-b-32-openai" and lib.model.spec.layout == "immich"
    with Library(home, BUNDLED_MODEL_ID) as lib:
        assert isinstance(lib.model, Model) and lib.model.spec.layout == "mmsearch"


def test_vectors_of_an_older_version_of_a_model_are_never_searched(
    cli: CliRunner, home: Path, photo_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same id, new weights (an update): the stored vectors are in another space. They are
    dropped before any search; `status` says so; indexing embeds the photos again."""
    cli("index", str(photo_folder))
    versions = json.loads((home / MODEL_VERSIONS_FILE).read_text())
    with Library(home) as lib:
        assert versions == {BUNDLED_MODEL_ID: lib.model.spec.version}
    (home / MODEL_VERSIONS_FILE).write_text(json.dumps({BUNDLED_MODEL_ID: "1-oldweights"}))
    assert main(["search", "a cat"]) == 0
    assert "the model changed since 6 photos were embedded" in capsys.readouterr().err
    status = cli("status")
    assert status["embedded"] == 0 and status["index"]["vectors"] == 0
    assert cli("search", "a cat") == []
    assert cli("index")["failed"] == []
    assert cli("status")["embedded"] == 6
    assert cli("search", "a cat", "--top", "1")[0]["path"].endswith(("cat.png", "cat2.jpg"))
