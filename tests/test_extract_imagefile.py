"""Image inputs: one figure per file, captions and labels from a sidecar, ultrasound marked from pixels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remud_gen.extract import ExtractSettings, process_file

ROOT = Path(__file__).resolve().parents[1]
BUSI = ROOT.parent / "shared" / "corpus" / "ultrasound_images"
needs_busi = pytest.mark.skipif(not BUSI.is_dir(), reason="../shared/corpus/ultrasound_images is not present")


def _copy(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "busi"
    folder.mkdir()
    for n in names:
        shutil.copy(BUSI / n, folder / n)
    return folder


SIDECARS = {
    "captions.csv": "filename,caption,label\nbusi_benign_1.png,Oval hypoechoic mass,benign\n",
    "captions.json": json.dumps({"busi_benign_1.png": {"caption": "Oval hypoechoic mass", "label": "benign"}}),
    "labels.json": json.dumps([{"file": "busi_benign_1", "text": "Oval hypoechoic mass", "class": "benign"}]),
}


@needs_busi
@pytest.mark.parametrize("sidecar", sorted(SIDECARS))
def test_sidecar_caption_and_label(tmp_path: Path, sidecar: str) -> None:
    folder = _copy(tmp_path, ["busi_benign_1.png"])
    (folder / sidecar).write_text(SIDECARS[sidecar], encoding="utf-8")
    result = process_file(folder / "busi_benign_1.png", tmp_path / "work", ExtractSettings())
    (fig,) = result.figures
    assert fig.caption == "Oval hypoechoic mass\nLabel: benign"
    assert fig.source == "image-file" and fig.page == 1 and result.document.kind == "image"
    assert (tmp_path / "work" / fig.image).is_file() and fig.image.startswith("extract/images/")


@needs_busi
def test_real_ultrasound_frames_are_marked(tmp_path: Path) -> None:
    names = sorted(p.name for p in BUSI.glob("*.png"))
    folder = _copy(tmp_path, names)
    for n in names:
        fig = process_file(folder / n, tmp_path / "work", ExtractSettings()).figures[0]
        assert fig.is_ultrasound, (n, fig.ultrasound_score)
        with Image.open(folder / n) as im:
            assert (fig.width, fig.height) == im.size


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("chart.png", lambda: _chart()),
        ("photo.jpg", lambda: _colour_photo()),
    ],
)
def test_non_ultrasound_images_are_kept_but_not_marked(tmp_path: Path, name: str, make: object) -> None:
    make().save(tmp_path / name)  # type: ignore[operator]
    fig = process_file(tmp_path / name, tmp_path / "work", ExtractSettings()).figures[0]
    assert not fig.is_ultrasound and fig.ultrasound_score < 0.3
    assert fig.image.endswith(".jpg" if name.endswith(".jpg") else ".png")


def _chart() -> Image.Image:
    a = np.full((300, 400, 3), 255, np.uint8)
    a[250, 40:380] = 0
    a[20:250, 40] = 0
    for i, h in enumerate((80, 150, 60, 200)):
        a[250 - h : 250, 70 + i * 80 : 110 + i * 80] = (40, 90, 200)
    return Image.fromarray(a)


def _colour_photo() -> Image.Image:
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:300, 0:400]
    a = np.stack([(x * 0.6) % 255, (y * 0.8) % 255, ((x + y) * 0.3) % 255], axis=2)
    return Image.fromarray((a + rng.normal(0, 12, a.shape)).clip(0, 255).astype(np.uint8))


def test_rgba_and_16_bit_images_are_converted(tmp_path: Path) -> None:
    Image.new("RGBA", (100, 80), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    Image.fromarray(np.linspace(0, 65535, 100 * 80).reshape(80, 100).astype(np.uint16)).save(tmp_path / "deep.tif")
    clear = process_file(tmp_path / "clear.png", tmp_path / "w", ExtractSettings()).figures[0]
    deep = process_file(tmp_path / "deep.tif", tmp_path / "w", ExtractSettings()).figures[0]
    with Image.open(tmp_path / "w" / clear.image) as im:
        assert np.asarray(im).min() == 255  # transparent -> white, not black
    with Image.open(tmp_path / "w" / deep.image) as im:
        grey = np.asarray(im.convert("L"))
    assert grey.min() == 0 and grey.max() == 255  # 16-bit range scaled, not clipped
