"""Batch decoding: the CPU decoder is the default and never imports torch; GPU decoding is
opt-in and says why it is unavailable; and the batch JPEG path (torchvision's decode_jpeg,
run here on the CPU as it would run on CUDA) gives what `decode_photo` gives."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mmsearch.media import DecodedPhoto, DecodeError, gpu_decode
from mmsearch.media.batch_decode import CpuDecoder, choose_decoder
from tests.conftest import skimage_photo


@pytest.fixture(autouse=True)
def fresh_status(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("MMSEARCH_DECODE", raising=False)
    gpu_decode.gpu_decode_status.cache_clear()
    yield
    gpu_decode.gpu_decode_status.cache_clear()


def test_default_is_the_cpu_decoder_and_torch_stays_unimported(tmp_path: Path) -> None:
    Image.new("RGB", (640, 480), (10, 200, 30)).save(tmp_path / "a.jpg")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mmsearch.media.batch_decode import choose_decoder, CpuDecoder\n"
        "import mmsearch.media.gpu_decode\n"
        "choice = choose_decoder()\n"
        "assert isinstance(choice.decoder, CpuDecoder) and not choice.on_gpu, choice\n"
        f"(photo,) = choice.decoder.decode_batch([Path({str(tmp_path / 'a.jpg')!r})], 224)\n"
        "assert photo.image.size == (299, 224), photo\n"
        "print('REASON', choice.reason)\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision'))\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "GPU decoding is opt-in: MMSEARCH_DECODE=gpu" in result.stdout


def test_gpu_decoding_requested_where_it_cannot_run_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MMSEARCH_DECODE", "gpu")
    ok, why = gpu_decode.gpu_decode_status()
    if ok:
        pytest.skip("this machine decodes JPEGs on a GPU")
    choice = choose_decoder("cpu")  # the environment beats the setting
    assert isinstance(choice.decoder, CpuDecoder)
    assert choice.warning == f"GPU decoding requested (MMSEARCH_DECODE=gpu) but {why}: " + (
        "decoding on the CPU"
    )


def test_a_gpu_decoder_that_fails_to_start_falls_back() -> None:
    # The check passes (as on a GPU machine) but the decoder can't start here.
    choice = choose_decoder("gpu", environ={}, status=lambda: (True, "nvJPEG on a test GPU"))
    if choice.on_gpu:
        pytest.skip("this machine has a CUDA GPU for torch")
    assert isinstance(choice.decoder, CpuDecoder)
    assert choice.warning is not None and "GPU decoder failed to start" in choice.warning
    unknown = choose_decoder("tpu", environ={})
    assert isinstance(unknown.decoder, CpuDecoder) and unknown.warning is not None


@pytest.mark.parametrize(
    ("missing", "expected"),
    [({"torch", "torchvision"}, "torch is not installed"), ({"torchvision"}, "torchvision")],
)
def test_unavailability_reasons(
    monkeypatch: pytest.MonkeyPatch, missing: set[str], expected: str
) -> None:
    monkeypatch.setattr(gpu_decode, "_missing", lambda module: module in missing)
    ok, why = gpu_decode.gpu_decode_status()
    assert not ok and why.startswith(expected)


def test_no_torch_means_no_import_and_a_plain_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu_decode, "_missing", lambda module: True)
    assert gpu_decode.torch_summary() == {"installed": False}


def test_shrunk_size_never_upscales() -> None:
    assert gpu_decode.shrunk_size(4000, 3000, 224) == (299, 224)
    assert gpu_decode.shrunk_size(3000, 4000, 224) == (224, 299)
    assert gpu_decode.shrunk_size(200, 100, 224) == (200, 100)
    assert gpu_decode.shrunk_size(225, 224, 224) == (225, 224)


# -- the batch JPEG path, on the CPU ------------------------------------------------------------


def _photos(folder: Path) -> list[Path]:
    """Real photos as large JPEGs (one rotated by EXIF, one grey), a PNG, a CMYK JPEG, a
    broken and an empty file."""
    folder.mkdir()
    paths = []
    for name in ["chelsea.png", "coffee.png", "rocket.jpg"]:
        with Image.open(skimage_photo(name)) as im:
            big = im.convert("RGB").resize((im.width * 4, im.height * 4), Image.Resampling.BICUBIC)
        path = folder / f"{Path(name).stem}.jpg"
        big.save(path, quality=92)
        paths.append(path)
    with Image.open(paths[0]) as im:
        exif = Image.Exif()
        exif[0x0112] = 6  # rotate 90 degrees clockwise to show it upright
        exif[0x010F] = "Canon"
        exif[0x0110] = "Canon EOS R5"
        exif.get_ifd(0x8769)[0x9003] = "2021:05:06 07:08:09"
        im.save(folder / "rotated.jpg", quality=90, exif=exif)
        im.convert("L").save(folder / "grey.jpg", quality=90)
        im.convert("CMYK").save(folder / "cmyk.jpg", quality=90)
    (folder / "broken.jpg").write_bytes(paths[1].read_bytes()[:2000])
    (folder / "empty.jpg").write_bytes(b"")
    png = folder / "cat.png"
    png.write_bytes(skimage_photo("chelsea.png").read_bytes())
    names = ["rotated.jpg", "grey.jpg", "cmyk.jpg", "broken.jpg", "empty.jpg"]
    return [*paths, *(folder / n for n in names), png]


def test_batch_jpeg_decoding_matches_the_cpu_decoder(tmp_path: Path) -> None:
    pytest.importorskip("torchvision")
    ok, why = gpu_decode.gpu_decode_status("cpu")
    assert ok, why
    decoder = gpu_decode.TorchJpegDecoder("cpu", workers=2)
    paths = _photos(tmp_path / "photos")
    got = decoder.decode_batch(paths, 224)
    want = CpuDecoder(workers=2).decode_batch(paths, 224)
    assert len(got) == len(paths)
    for path, g, w in zip(paths, got, want, strict=True):
        if isinstance(w, DecodeError):
            assert isinstance(g, DecodeError), path.name
            if path.name != "broken.jpg":  # read errors are worded the same
                assert str(g) == str(w), path.name
            continue
        assert isinstance(g, DecodedPhoto), (path.name, g)
        assert g.image.mode == "RGB" and g.image.size == w.image.size, path.name
        assert (g.width, g.height, g.taken_at, g.camera) == (
            w.width,
            w.height,
            w.taken_at,
            w.camera,
        )
        a = np.asarray(g.image, dtype=np.float32)
        b = np.asarray(w.image, dtype=np.float32)
        # Full decode + antialiased bicubic vs libjpeg's DCT scaling: the same picture.
        assert np.abs(a - b).mean() < 4.0, path.name
    rotated = got[paths.index(tmp_path / "photos" / "rotated.jpg")]
    assert isinstance(rotated, DecodedPhoto) and rotated.height > rotated.width
    assert rotated.camera == "Canon EOS R5" and rotated.taken_at is not None


def test_decode_bytes_skips_what_it_does_not_take() -> None:
    pytest.importorskip("torchvision")
    decoder = gpu_decode.TorchJpegDecoder("cpu")
    with Image.open(skimage_photo("rocket.jpg")) as im:
        jpeg = Path(skimage_photo("rocket.jpg")).read_bytes()
        size = im.size
    out = decoder.decode_bytes([jpeg, b"not a jpeg", skimage_photo("chelsea.png").read_bytes()], 64)
    assert isinstance(out[0], DecodedPhoto) and (out[0].width, out[0].height) == size
    assert min(out[0].image.size) == 64
    assert out[1] is None and out[2] is None


def test_indexer_with_the_batch_decoder_gives_the_cpu_pipelines_vectors(
    home: Path, photo_folder: Path, tmp_path: Path
) -> None:
    """The indexer behind the batch decoder interface (torchvision's batch path, on the CPU
    here as nvJPEG would run it on a GPU): same photos, same failures, near-same vectors."""
    pytest.importorskip("torchvision")
    from mmsearch.services.indexing import Indexer
    from mmsearch.services.library import Library

    (photo_folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    for i in range(40):  # more than a batch of JPEGs
        with Image.open(photo_folder / "cat2.jpg") as cat:
            cat.rotate(i * 9).save(photo_folder / f"turn{i:02d}.jpg", quality=85)
    reports, vectors = {}, {}
    for name, data, decoder in [
        ("cpu", tmp_path / "cpu-home", None),
        ("batch", home, gpu_decode.TorchJpegDecoder("cpu")),
    ]:
        with Library(data) as lib:
            lib.catalog.add_folder(photo_folder)
            indexer = Indexer(lib, decoder=decoder)
            assert (indexer.batch_decoder is None) == (decoder is None)
            reports[name] = indexer.run()
            ids, matrix = lib.catalog.vectors(lib.model_id)
            infos = lib.catalog.photos(ids.tolist())
            vectors[name] = {infos[int(i)].path.name: v for i, v in zip(ids, matrix, strict=True)}
    cpu, batch = reports["cpu"], reports["batch"]
    assert batch.added == cpu.added == 46
    assert [p.name for p, _ in batch.failed] == [p.name for p, _ in cpu.failed] == ["broken.jpg"]
    assert set(vectors["cpu"]) == set(vectors["batch"])
    cosines = [float(v @ vectors["batch"][n]) for n, v in vectors["cpu"].items()]
    assert min(cosines) > 0.98, cosines
