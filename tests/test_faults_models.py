"""Faults of model files (issue #11, items 3, 9 and 11), with real files and real graphs.

- A model file damaged in place (16 KB garbled, same size) is caught by its SHA-256 before
  anything is embedded: the run says which file of which model and what to run, and no
  vector is stored. The verified state is cached per file as (size, mtime, ctime), so a
  normal start hashes nothing; any change of the three (a `touch`, an edit that restores
  the mtime) hashes that file again. A read-only model folder keeps its state in the data
  folder's cache.
- Graphs that load and take the right inputs but aren't the model (an Identity, outputs of
  the wrong size or rank, NaN or all-zero vectors) are refused at install, and a wrong-rank
  graph that got into the models folder anyway is a message in `models use`, not AxisError.
- Files that lie (a zip that is not one, a truncated or garbled zip, a spec that is not
  UTF-8) are messages naming the file and the fix, never tracebacks.

The fake CLIP models are real ONNX graphs (built here with `onnx.helper`, a few KB) and a
real BPE tokenizer, installed under the catalog's `clip-vit-b-32-openai` spec.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, pre_tokenizers

from mmsearch.cli import main
from mmsearch.encoders import ModelError, load_model
from mmsearch.encoders.formats import MODEL_FILE, load_spec, spec_to_json
from mmsearch.encoders.integrity import VERIFIED_FILE, forget_verified, verify_model_files
from mmsearch.encoders.model import probe_images, probe_model
from mmsearch.paths import BUNDLED_MODEL_ID
from mmsearch.services import models as manager
from mmsearch.services.library import Library
from mmsearch.services.models import get_spec
from mmsearch.services.models.install import ModelImportError, import_model, install_model
from tests import mounts

CLIP_ID = "clip-vit-b-32-openai"
DIM = 512


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`mmsearch ARGS` in-process: (exit code, stderr). A traceback would fail the test."""
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, captured.err


def garble(path: Path, size: int = 16 << 10, keep_mtime: bool = False) -> None:
    """Overwrite `size` bytes in the middle of `path` in place (same size, same inode)."""
    before = path.stat()
    with open(path, "r+b") as f:
        f.seek(before.st_size // 2)
        f.write(np.random.default_rng(1).bytes(size))
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


@pytest.fixture
def model_copy(
    tmp_path: Path, bundled_model_dir: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A copy of the bundled model that MMSEARCH_MODELS points at (the original stays)."""
    folder = tmp_path / "models" / BUNDLED_MODEL_ID
    shutil.copytree(bundled_model_dir, folder, ignore=shutil.ignore_patterns(VERIFIED_FILE))
    monkeypatch.setenv("MMSEARCH_MODELS", str(folder.parent))
    forget_verified()
    return folder


# -- item 3: damaged model files ----------------------------------------------------------


def test_a_garbled_image_graph_stops_indexing_and_stores_no_vector(
    model_copy: Path,
    home: Path,
    photo_folder: Path,
    capsys: pytest.CaptureFixture[str],
    bundled_model_dir: Path,
) -> None:
    image = model_copy / "image.onnx"
    garble(image)
    code, err = run_cli(capsys, "index", str(photo_folder))
    assert code == 2
    assert f"the file {image} of model {BUNDLED_MODEL_ID!r} is damaged" in err
    assert "SHA-256" in err and "make install" in err
    with Library(home) as lib:
        assert lib.catalog.counts(BUNDLED_MODEL_ID)["embedded"] == 0
    status = json.loads(_stdout(capsys, "status", "--json"))
    assert "is damaged" in status["model_error"] and "index" not in status
    # Repaired (the file copied back): indexing works and every vector is a unit vector.
    shutil.copyfile(bundled_model_dir / "image.onnx", image)
    code, err = run_cli(capsys, "index", str(photo_folder))
    assert code == 0, err
    with Library(home) as lib:
        _, vectors = lib.catalog.vectors(BUNDLED_MODEL_ID)
    assert len(vectors) == 6 and np.isfinite(vectors).all()
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def _stdout(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


def test_verified_state_spares_rehashing_until_a_file_changes(
    model_copy: Path, bundled_model_dir: Path
) -> None:
    spec = load_spec(model_copy)
    cold = verify_model_files(model_copy, spec)
    assert cold.hashed == 4 and cold.cache_file == model_copy / VERIFIED_FILE
    forget_verified()  # a new process: only the .verified.json is left
    started = time.perf_counter()
    load_model(model_copy)
    warm_ms = (time.perf_counter() - started) * 1e3
    warm = verify_model_files(model_copy, spec)
    assert warm.hashed == 0 and warm.cached == 4
    print(f"bundled model: cold hash {cold.seconds * 1e3:.0f} ms, warm load {warm_ms:.1f} ms")
    # `touch` changes the mtime: that one file is hashed again (and is fine).
    os.utime(model_copy / "tokenizer.json")
    forget_verified()
    assert verify_model_files(model_copy, spec).hashed == 1
    # A garble that restores size and mtime still changes the ctime (only the kernel sets
    # it): caught. Same size, mtime and ctime is what "unchanged" means; it is not re-read.
    garble(model_copy / "text.onnx", keep_mtime=True)
    with pytest.raises(ModelError, match=r"text\.onnx of model .* is damaged"):
        load_model(model_copy)
    # The damage is not remembered as verified: the next start says it again.
    forget_verified()
    with pytest.raises(ModelError, match="is damaged"):
        load_model(model_copy)
    # Repaired: fine again; verify=True (force) re-hashes every file whatever the cache says.
    shutil.copyfile(bundled_model_dir / "text.onnx", model_copy / "text.onnx")
    assert verify_model_files(model_copy, spec).hashed == 1
    assert verify_model_files(model_copy, spec, force=True).hashed == 4


def test_a_damaged_verified_state_file_only_costs_a_rehash(model_copy: Path) -> None:
    spec = load_spec(model_copy)
    verify_model_files(model_copy, spec)
    (model_copy / VERIFIED_FILE).write_bytes(b"\xff{garbage")
    forget_verified()
    assert verify_model_files(model_copy, spec).hashed == 4
    assert json.loads((model_copy / VERIFIED_FILE).read_text())["layout"] == 1


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A read-only view (`ro/`) of a folder that the test fills (`rw/`)."""
    source, mount = tmp_path / "rw", tmp_path / "ro"
    source.mkdir()
    mount.mkdir()
    with mounts.read_only(source, mount) as view:
        yield view


def test_a_read_only_model_folder_keeps_its_state_in_the_data_folder(
    bundled_model_dir: Path, tmp_path: Path, read_only: Path
) -> None:
    shutil.copytree(
        bundled_model_dir,
        tmp_path / "rw" / BUNDLED_MODEL_ID,
        ignore=shutil.ignore_patterns(VERIFIED_FILE),
    )
    # A cache of its own, made stale (as in a package built elsewhere): every file touched.
    writable = tmp_path / "rw" / BUNDLED_MODEL_ID
    verify_model_files(writable, load_spec(writable))
    for name in ("image.onnx", "text.onnx", "fusion.onnx", "tokenizer.json"):
        os.utime(writable / name)
    folder = read_only / BUNDLED_MODEL_ID
    cache = tmp_path / "data" / "cache"
    spec = load_spec(folder)
    forget_verified()
    first = verify_model_files(folder, spec, cache)
    assert first.hashed == 4 and first.cache_file is not None
    assert first.cache_file.parent == cache / "verified-models"
    stale = json.loads((folder / VERIFIED_FILE).read_text())  # still there, unchanged
    forget_verified()
    assert verify_model_files(folder, spec, cache).hashed == 0
    assert json.loads((folder / VERIFIED_FILE).read_text()) == stale
    # With nowhere to write, it still works: hashed, remembered for this process only.
    forget_verified()
    nowhere = verify_model_files(folder, spec, None)
    assert nowhere.hashed == 4 and nowhere.cache_file is None
    assert verify_model_files(folder, spec, None).hashed == 0


# -- fake CLIP models (real ONNX graphs) --------------------------------------------------


def _graph(
    path: Path,
    input_name: str,
    input_type: int,
    input_shape: list[object],
    nodes: list[object],
    output_type: int = TensorProto.FLOAT,
) -> None:
    """Save a one-input graph whose nodes end in an output named 'embedding'."""
    node_list = [n for n in nodes if isinstance(n, onnx.NodeProto)]
    inits = [n for n in nodes if isinstance(n, onnx.TensorProto)]
    graph = helper.make_graph(
        node_list,
        "fake",
        [helper.make_tensor_value_info(input_name, input_type, input_shape)],
        [helper.make_tensor_value_info("embedding", output_type, None)],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))


def _weights(name: str, rows: int, fill: float | None = None) -> onnx.TensorProto:
    w = np.random.default_rng(rows).standard_normal((rows, DIM)).astype(np.float32)
    if fill is not None:
        w[:] = fill
    return numpy_helper.from_array(w, name)


def fake_clip(folder: Path, kind: str = "good") -> Path:
    """A folder in the hub layout of `clip-vit-b-32-openai` with tiny real graphs:
    "good" (channel means x weights: a working, meaningless model), "identity" (outputs
    = inputs), "rank1" (one number per input), "nan" (NaN weights), "zero" (zero weights),
    "dim" (256-wide vectors)."""
    image_in = ["N", 3, 224, 224]
    text_in = ["N", 77]
    if kind == "identity":
        image_nodes: list[object] = [helper.make_node("Identity", ["image"], ["embedding"])]
        text_nodes: list[object] = [helper.make_node("Identity", ["text"], ["embedding"])]
    elif kind == "rank1":
        image_nodes = [
            helper.make_node("ReduceMean", ["image"], ["embedding"], axes=[1, 2, 3], keepdims=0)
        ]
        text_nodes = [
            helper.make_node("Cast", ["text"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("ReduceMean", ["f"], ["embedding"], axes=[1], keepdims=0),
        ]
    else:
        fill = {"nan": float("nan"), "zero": 0.0}.get(kind)
        image_nodes = [
            helper.make_node("ReduceMean", ["image"], ["m"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["m", "wi"], ["embedding"]),
            _weights("wi", 3, fill),
        ]
        text_nodes = [
            helper.make_node("Cast", ["text"], ["f"], to=TensorProto.FLOAT),
            helper.make_node("MatMul", ["f", "wt"], ["embedding"]),
            _weights("wt", 77, fill),
        ]
        if kind == "dim":
            for nodes, w in ((image_nodes, "wi"), (text_nodes, "wt")):
                rows = 3 if w == "wi" else 77
                nodes[-1] = numpy_helper.from_array(np.ones((rows, 256), np.float32), w)
    _graph(folder / "visual" / "model.onnx", "image", TensorProto.FLOAT, image_in, image_nodes)
    text_out = TensorProto.INT32 if kind == "identity" else TensorProto.FLOAT
    _graph(
        folder / "textual" / "model.onnx", "text", TensorProto.INT32, text_in, text_nodes, text_out
    )
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in letters:
        vocab[c] = len(vocab)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|endoftext|>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.add_special_tokens(["<|startoftext|>", "<|endoftext|>"])
    tokenizer.save(str(folder / "textual" / "tokenizer.json"))
    for name in (
        "config.json",
        "visual/preprocess_cfg.json",
        "textual/tokenizer_config.json",
        "textual/special_tokens_map.json",
    ):
        (folder / name).write_text("{}\n")
    return folder


def test_a_good_fake_passes_the_probe_and_installs_verified(tmp_path: Path) -> None:
    folder = fake_clip(tmp_path / "src")
    target = import_model(folder, tmp_path / "data", CLIP_ID)
    assert (target / VERIFIED_FILE).is_file()  # hashed once, at install
    forget_verified()
    spec = load_spec(target)
    assert verify_model_files(target, spec).hashed == 0
    probe_model(load_model(target), target)
    garble(target / "visual" / "model.onnx", size=64)
    with pytest.raises(ModelError, match=rf"import it again \(`mmsearch models import {folder}"):
        load_model(target)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("identity", r"shape \(2, 3, 224, 224\)"),
        ("rank1", r"shape \(2,\)"),
        ("dim", r"shape \(2, 256\)"),
        ("nan", "NaN or infinite"),
        ("zero", "can't be normalised"),
    ],
)
def test_graphs_that_are_not_the_model_are_refused_at_import(
    tmp_path: Path, kind: str, reason: str
) -> None:
    folder = fake_clip(tmp_path / "src", kind)
    with pytest.raises(ModelImportError, match=reason) as err:
        import_model(folder, tmp_path / "data", CLIP_ID)
    assert CLIP_ID in str(err.value) and "Not installed" in str(err.value)
    assert list((tmp_path / "data" / "models").iterdir()) == []


def test_the_identity_fake_is_refused_by_the_cli(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = fake_clip(tmp_path / "ViT-B-32__openai", "identity")
    code, err = run_cli(capsys, "models", "import", str(folder))
    assert code == 2 and CLIP_ID in err and "shape" in err
    assert not (home / "models" / CLIP_ID).exists()


def _catalog_with(tmp_path: Path, files: dict[str, dict[str, object]]) -> Path:
    """A copy of the catalog whose clip-vit-b-32-openai spec records these files."""
    catalog = tmp_path / "catalog"
    catalog.mkdir(parents=True)
    spec = get_spec(CLIP_ID)
    data = spec_to_json(spec)
    data["source"]["files"].update(files)
    (catalog / f"{CLIP_ID}.json").write_text(json.dumps(data))
    return catalog


def test_sizes_and_hashes_recorded_in_the_catalog_are_enforced(tmp_path: Path) -> None:
    folder = fake_clip(tmp_path / "src")
    graph = folder / "visual" / "model.onnx"
    real = {"size": graph.stat().st_size, "sha256": hashlib.sha256(graph.read_bytes()).hexdigest()}
    wrong_sha = _catalog_with(tmp_path / "a", {"visual/model.onnx": {**real, "sha256": "0" * 64}})
    with pytest.raises(ModelImportError, match="does not match the SHA-256"):
        import_model(folder, tmp_path / "data", CLIP_ID, catalog=wrong_sha)
    wrong_size = _catalog_with(tmp_path / "b", {"visual/model.onnx": {**real, "size": 12}})
    with pytest.raises(ModelImportError, match=r"has .* bytes, but model"):
        import_model(folder, tmp_path / "data", CLIP_ID, catalog=wrong_size)
    right = _catalog_with(tmp_path / "c", {"visual/model.onnx": real})
    target = import_model(folder, tmp_path / "data", CLIP_ID, catalog=right)
    assert load_spec(target).file("visual/model.onnx").sha256 == real["sha256"]


def test_the_published_catalog_specs_have_the_fields() -> None:
    from mmsearch.services.models import available_specs

    for spec in available_specs():
        assert {f.name for f in spec.files} >= set(spec.runtime_files), spec.id


# -- item 9: lying files are messages -----------------------------------------------------


def _good_zip(tmp_path: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    folder = fake_clip(tmp_path / "src")
    archive = tmp_path / "ViT-B-32__openai.zip"
    with zipfile.ZipFile(archive, "w", compression) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, f"ViT-B-32__openai/{path.relative_to(folder).as_posix()}")
    return archive


def test_lying_zips_are_messages(
    tmp_path: Path, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = tmp_path / "fake.zip"
    fake.write_bytes(np.random.default_rng(0).bytes(4096))
    code, err = run_cli(capsys, "models", "import", str(fake))
    assert code == 2 and str(fake) in err and "download or copy it again" in err

    archive = _good_zip(tmp_path)
    data = archive.read_bytes()
    truncated = tmp_path / "truncated" / archive.name
    truncated.parent.mkdir()
    truncated.write_bytes(data[: len(data) // 2])
    code, err = run_cli(capsys, "models", "import", str(truncated))
    assert code == 2 and str(truncated) in err and "truncated" in err

    # Garbled member data behind an intact directory: zlib/CRC errors while extracting.
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("ViT-B-32__openai/textual/model.onnx")
    garbled = tmp_path / "garbled" / archive.name
    garbled.parent.mkdir()
    raw = bytearray(data)
    start = info.header_offset + 30 + len(info.filename) + 40
    raw[start : start + 256] = bytes(256)
    garbled.write_bytes(bytes(raw))
    code, err = run_cli(capsys, "models", "import", str(garbled), "--id", CLIP_ID)
    assert code == 2 and str(garbled) in err and "damaged zip archive" in err
    assert not (home / "models" / CLIP_ID).exists()
    assert [p for p in (home / "models").iterdir()] == []

    # Bad magic in a member's local header.
    bad_header = tmp_path / "header" / archive.name
    bad_header.parent.mkdir()
    raw = bytearray(data)
    raw[info.header_offset : info.header_offset + 4] = b"XXXX"
    bad_header.write_bytes(bytes(raw))
    code, err = run_cli(capsys, "models", "import", str(bad_header), "--id", CLIP_ID)
    assert code == 2 and "damaged zip archive" in err


def test_specs_that_are_not_utf8_are_messages(
    model_copy: Path, home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = model_copy / "spec.json"
    spec_file.write_bytes(b"\xff\xfe" + spec_file.read_bytes()[2:])
    code, err = run_cli(capsys, "search", "a cat")
    assert code == 2 and f"{spec_file} is not UTF-8 text" in err and "make install" in err
    code, _ = run_cli(capsys, "models", "list")  # the broken folder is left out, no crash
    assert code == 0
    assert "is not UTF-8 text" in manager.broken_models(home)[BUNDLED_MODEL_ID]
    # A CLIP folder's model.json.
    target = import_model(fake_clip(tmp_path / "src"), home, CLIP_ID)
    manifest = target / MODEL_FILE
    manifest.write_bytes(manifest.read_bytes().replace(b'"display_name"', b'"display\xe9name"'))
    code, err = run_cli(capsys, "--model", CLIP_ID, "search", "a cat")
    assert code == 2 and f"{manifest} is not UTF-8 text" in err and "again" in err


def test_a_wrong_rank_model_in_the_models_folder_is_a_message_in_models_use(
    home: Path, photo_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder put there by hand (not through import, which probes): AxisError before.
    `models use` probes it first, so even a library without photos refuses it."""
    folder = fake_clip(home / "models" / CLIP_ID, "rank1")
    spec = get_spec(CLIP_ID)
    files = [
        type(spec.file(n))(n, (folder / n).stat().st_size, _sha(folder / n))
        for n in spec.runtime_files
    ]
    (folder / MODEL_FILE).write_text(json.dumps(spec_to_json(replace(spec, files=tuple(files)))))
    code, err = run_cli(capsys, "models", "use", CLIP_ID)  # no photos yet
    assert code == 2 and "fails its probe" in err and "shape (2,)" in err
    assert Library(home).model_id == BUNDLED_MODEL_ID
    code, err = run_cli(capsys, "index", str(photo_folder))
    assert code == 0, err
    code, err = run_cli(capsys, "models", "use", CLIP_ID)
    assert code == 2
    assert "visual/model.onnx of model 'clip-vit-b-32-openai' gives 'embedding' of shape" in err
    assert f"Run `mmsearch models download {CLIP_ID}` again" in err
    with Library(home) as lib:
        assert lib.model_id == BUNDLED_MODEL_ID  # the switch did not happen
        assert lib.catalog.counts(CLIP_ID)["embedded"] == 0


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_install_model_copy_errors_are_messages(tmp_path: Path) -> None:
    folder = fake_clip(tmp_path / "src")
    (folder / "textual" / "tokenizer_config.json").unlink()
    with pytest.raises(ModelImportError, match=r"tokenizer_config\.json is missing"):
        install_model(get_spec(CLIP_ID), folder, tmp_path / "data")


def test_download_errors_nobody_expected_are_still_messages() -> None:
    from mmsearch.services.models.download import DownloadError, _translate

    odd = _translate(ValueError("odd answer"), "org/repo", "visual/model.onnx", "main", None)
    assert isinstance(odd, DownloadError) and "ValueError: odd answer" in str(odd)
    denied = _translate(PermissionError(13, "Permission denied"), "org/repo", "x", "main", None)
    assert isinstance(denied, DownloadError) and "Permission denied" in str(denied)


def test_a_non_utf8_model_json_in_an_import_is_a_message(tmp_path: Path) -> None:
    folder = fake_clip(tmp_path / "src")
    (folder / "model.json").write_bytes(b"\xff\xfe")
    # No catalogue entry fits (the model.json can't name one), so the folder's own config
    # files are read as a bare Immich export's: a damaged one is named, with the fix.
    (folder / "config.json").write_bytes(b"\xff not json")
    with pytest.raises(ModelImportError, match=r"config\.json is not UTF-8 text") as err:
        import_model(folder, tmp_path / "data")
    assert "Not installed" in str(err.value)


def test_a_file_damaged_after_loading_is_caught_when_its_graph_starts(model_copy: Path) -> None:
    """Sessions start on first use (the window may index hours after start-up): the graph's
    file is checked again then if its state changed since it was verified."""
    model = load_model(model_copy)
    garble(model_copy / "image.onnx")
    with pytest.raises(ModelError, match=r"image\.onnx of model .* is damaged"):
        model.image.encode_images(probe_images())
    os.utime(model_copy / "text.onnx")  # touched, not changed: hashed again, fine
    assert model.text.encode(["a cat"]).shape == (1, 384)
