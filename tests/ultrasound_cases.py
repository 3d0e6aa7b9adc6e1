"""Real pictures for judging the ultrasound classifier, and the scanner that degrades them.

Nothing here is drawn: every picture is a real image from ../shared/corpus (BUSI frames, panels of the CC BY papers
rendered from their PDFs) or a data file shipped inside a package of the `dev` extra (pydicom's and nibabel's test
DICOM/NIfTI files, scikit-image's bundled photographs and slides). A source that is not installed is left out.

`degrade` does to a picture what printing and scanning a page does to a figure panel: the panel is resampled to the
page resolution, blurred by the optics, given sensor noise, framed by a few pixels of page paper and saved as a
JPEG. The forms in `FORMS` span 72-300 dpi and JPEG quality 60-95.
"""

from __future__ import annotations

import io
import json
import re
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
PAPERS = CORPUS / "en_papers"
TRUTH = ROOT / "tests" / "truth" / "en_papers.json"
RENDER_DPI = 200  # what extract renders a born-digital figure crop at (ExtractSettings.dpi)
DEFAULT_WIDTH_PT = 200.0  # printed width assumed for a picture that comes without a page (about 7 cm)


@dataclass(frozen=True)
class Case:
    """One real picture: where it comes from, whether it is ultrasound (None: ambiguous), and its printed width."""

    source: str
    name: str
    label: bool | None
    rgb: np.ndarray
    width_pt: float = DEFAULT_WIDTH_PT

    @property
    def key(self) -> str:
        return f"{self.source}/{self.name}"


@dataclass(frozen=True)
class Form:
    """One way a scanner and a JPEG encoder can leave a printed picture."""

    name: str
    dpi: int
    quality: int
    blur: float
    noise: float
    margin: int
    paper: tuple[int, int, int] = (255, 255, 255)


FORMS = (
    Form("72dpi-q60", 72, 60, 0.4, 3.0, 3, (250, 250, 247)),
    Form("100dpi-q75", 100, 75, 0.7, 2.5, 4),
    Form("150dpi-q80", 150, 80, 0.6, 2.0, 5, (246, 244, 238)),
    Form("200dpi-q90-blur", 200, 90, 1.2, 3.0, 6),
    Form("300dpi-q95-noise", 300, 95, 0.8, 5.0, 9, (252, 251, 249)),
)


def degrade(case: Case, form: Form, seed: int = 0) -> np.ndarray:
    """The picture as cut from a page scanned at `form.dpi` and saved as JPEG, with page paper at its edges."""
    h, w = case.rgb.shape[:2]
    width = max(16, round(case.width_pt / 72 * form.dpi))
    height = max(16, round(width * h / w))
    im = Image.fromarray(case.rgb).resize((width, height), Image.Resampling.LANCZOS)
    m = form.margin
    page = Image.new("RGB", (width + 2 * m, height + 2 * m), form.paper)
    page.paste(im, (m, m))
    if form.blur:
        page = page.filter(ImageFilter.GaussianBlur(form.blur))
    rng = np.random.default_rng(seed)
    a = np.asarray(page, dtype=np.float32)
    a += rng.normal(0, form.noise, a.shape[:2])[:, :, None]  # sensor noise is mostly in luminance
    buf = io.BytesIO()
    Image.fromarray(a.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=form.quality)
    buf.seek(0)
    with Image.open(buf) as out:
        return np.asarray(out.convert("RGB"))


def _rgb(a: np.ndarray) -> np.ndarray:
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    return np.ascontiguousarray(a[:, :, :3])


def _window(a: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    """A grey picture from raw scanner values, windowed as a viewer would show it."""
    f = a.astype(np.float64)
    lo, hi = np.percentile(f, [lo_pct, hi_pct])
    return ((f - lo) / max(hi - lo, 1e-9) * 255).clip(0, 255).astype(np.uint8)


# ---- ../shared/corpus ----


def _busi() -> list[Case]:
    folder = CORPUS / "ultrasound_images"
    out = []
    for p in sorted(folder.glob("busi_*.png")):
        with Image.open(p) as im:
            out.append(Case("busi", p.stem, True, np.asarray(im.convert("RGB"))))
    return out


# Panels of the papers that tests/truth/en_papers.json does not list one by one: frames inside a figure whose truth
# record is the whole figure (two frames side by side, a frame inside a plot, the frames under a chart).
_EXTRA_PANELS: list[tuple[str, int, tuple[float, float, float, float], bool | None, str]] = [
    ("kerdegari", 2, (167, 205, 352, 359), True, "fig1-left"),
    ("kerdegari", 2, (355, 205, 540, 359), True, "fig1-right"),
    ("kerdegari", 6, (167, 515, 322, 644), True, "fig5-left"),
    ("kerdegari", 6, (325, 515, 481, 644), True, "fig5-right"),
    ("kerdegari", 10, (204, 128, 263, 187), True, "fig7-sector"),
    ("kerdegari", 10, (183, 540, 241, 591), True, "fig8-frame1"),
    ("kerdegari", 10, (246, 540, 303, 591), True, "fig8-frame2"),
    ("kerdegari", 10, (434, 540, 492, 591), True, "fig8-frame5"),
    ("kerdegari", 10, (497, 540, 555, 591), True, "fig8-frame6"),
    ("kerdegari", 10, (308, 540, 367, 591), None, "fig8-heatmap3"),
    ("kerdegari", 8, (168, 97, 266, 194), None, "fig6-heatmap1"),
    ("kerdegari", 8, (374, 198, 473, 297), None, "fig6-heatmap6"),
]
_PAPER_FILES = {
    "boice": "boice2022_JImaging_US_panels_ccby.pdf",
    "day": "day2020_PrenatDiagn_diagrams_ccby.pdf",
    "kerdegari": "kerdegari2021_ApplSci_lungUS_ccby.pdf",
    "snider": "snider2022_SciRep_US_ccby.pdf",
    "zhou": "zhou2021_CardiovascUS_echo_review_ccby.pdf",
}


def _source(doc: str) -> str:
    return re.match(r"[a-z]+", doc).group(0)  # type: ignore[union-attr]


def _papers() -> list[Case]:
    import pymupdf

    truth = json.loads(TRUTH.read_text(encoding="utf-8"))["figures"]
    boxes = [
        (_source(t["doc"]), t["page"], tuple(t["bbox"]), t["is_ultrasound"], f"fig{t['figure_id']}{t['panel'] or ''}")
        for t in truth
    ]
    out = []
    docs: dict[str, pymupdf.Document] = {}
    for source, page, box, label, name in boxes + _EXTRA_PANELS:
        doc = docs.get(source)
        if doc is None:
            doc = docs[source] = pymupdf.open(PAPERS / _PAPER_FILES[source])
        pix = doc[page - 1].get_pixmap(dpi=RENDER_DPI, clip=pymupdf.Rect(box), colorspace=pymupdf.csRGB, alpha=False)
        rgb = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).copy()
        out.append(Case(source, f"p{page}-{name}", label, rgb, box[2] - box[0]))
    for doc in docs.values():
        doc.close()
    return out


# photographs and a map printed in the corpus' other PDFs (magazine pages, a palette image)
_PRINTED = [
    ("zh_scanned/mineru_magazine_en_cmyk_jpeg.pdf", 27, "magazine-astronauts"),
    ("zh_scanned/mineru_magazine_en_cmyk_jpeg.pdf", 69, "magazine-vaccination"),
    ("pdf_pitfalls/palette.pdf", 7, "palette-map"),
]


def _printed() -> list[Case]:
    import pymupdf

    out = []
    for rel, xref, name in _PRINTED:
        with pymupdf.open(CORPUS / rel) as doc:
            pix = pymupdf.Pixmap(doc, xref)
        if pix.alpha:
            pix = pymupdf.Pixmap(pix, 0)
        if pix.colorspace is None or pix.colorspace.n != 3:
            pix = pymupdf.Pixmap(pymupdf.csRGB, pix)  # CMYK and grey rasters come out as RGB
        rgb = np.frombuffer(pix.samples, np.uint8).reshape(pix.height, pix.width, 3).copy()
        out.append(Case("printed", name, False, rgb))
    return out


# ---- data files shipped inside packages ----

_PYDICOM = [
    # (file, label, frame): the Modality tag of each was checked (US, MR, CT, NM); secondary captures are synthetic
    ("examples_rgb_color.dcm", True, None),  # US, power Doppler of a lymph node
    ("examples_palette.dcm", True, None),  # US, obstetric frame with the scanner's header and side panel
    ("examples_ybr_color.dcm", True, 0),  # US, echocardiography (SonoSite), 30 frames
    ("examples_ybr_color.dcm", True, 20),
    ("MR_small.dcm", False, None),
    ("examples_overlay.dcm", False, None),  # MR, abdomen (liver lesion)
    ("CT_small.dcm", False, None),
    ("J2K_pixelrep_mismatch.dcm", False, None),  # CT, head (693_J2KI.dcm is the same slice, decoded wrongly)
    ("JPEG2000.dcm", False, None),  # NM, whole-body bone scan
]


def _dicom_rgb(ds: object) -> np.ndarray:
    from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi_lut

    a = ds.pixel_array  # type: ignore[attr-defined]
    pi = ds.PhotometricInterpretation  # type: ignore[attr-defined]
    if pi == "PALETTE COLOR":
        c = apply_color_lut(a, ds)
        return _rgb((c // 257 if c.max() > 255 else c).astype(np.uint8))  # 16-bit palette entries
    if a.ndim == 3 and a.shape[-1] == 3:
        return _rgb(a.astype(np.uint8))
    a = apply_modality_lut(a, ds)
    if "WindowCenter" in ds:  # type: ignore[operator]
        a = apply_voi_lut(a, ds, index=0, prefer_lut=False)
        g = _window(a, 0, 100)
    else:
        g = _window(a)
    return _rgb(255 - g if pi == "MONOCHROME1" else g)


def _pydicom() -> list[Case]:
    try:
        import pydicom
        from pydicom.data import get_testdata_file
    except ImportError:
        return []
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, label, frame in _PYDICOM:
            ds = pydicom.dcmread(get_testdata_file(name))
            modality = str(ds.get("Modality", "?"))
            if frame is not None:
                ds.pixel_array  # noqa: B018  (decodes every frame once)
                rgb = _rgb(ds.pixel_array[frame])
            else:
                rgb = _dicom_rgb(ds)
            stem = name.removesuffix(".dcm") + ("" if frame is None else f"-f{frame}")
            out.append(Case(f"pydicom-{modality.lower()}", stem, label, rgb))
    return out


def _nibabel() -> list[Case]:
    try:
        import nibabel
        import pydicom
    except ImportError:
        return []
    base = Path(nibabel.__file__).parent
    out = []
    vol = np.asanyarray(nibabel.load(base / "tests" / "data" / "example4d.nii.gz").dataobj)[..., 0]
    for z in (8, 14):  # axial slices of a real EPI brain volume
        out.append(Case("nibabel-mr", f"example4d-z{z}", False, _rgb(_window(np.rot90(vol[:, :, z])))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(base / "nicom" / "tests" / "data" / "slicethickness_empty_string.dcm")
    out.append(Case("nibabel-mr", "angiography-mip", False, _rgb(_window(ds.pixel_array))))
    return out


# scikit-image's pictures that ship in its wheel (the rest are fetched from the network and are left out), less
# the drawn chessboards and the second view of the stereo pair
_SKIMAGE_SKIP = {"chessboard_GRAY", "chessboard_RGB", "motorcycle_right"}


def _skimage() -> list[Case]:
    try:
        import skimage
    except ImportError:
        return []
    folder = Path(skimage.__file__).parent / "data"
    out = []
    for path in sorted([*folder.glob("*.png"), *folder.glob("*.jpg")]):
        if path.stem in _SKIMAGE_SKIP:
            continue
        with Image.open(path) as im:
            a = np.asarray(im.convert("RGB")) if im.mode != "I;16" else _rgb(_window(np.asarray(im)))
        out.append(Case("skimage", path.stem, False, a))
    return out


@cache
def real_cases() -> tuple[Case, ...]:
    """Every real picture that is present on this machine, positives and negatives."""
    cases: list[Case] = []
    if CORPUS.is_dir():
        cases += _busi() + _papers() + _printed()
    cases += _pydicom() + _nibabel() + _skimage()
    return tuple(cases)
