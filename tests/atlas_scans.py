"""Scanned atlas pages built from real ultrasound frames, with their truth, in the forms users' files take.

Real scanned atlas pages are not licensed for the repository, so these pages carry their layout instead: two columns
of ~275x200 px panels at 100 dpi, ~35 px gutters holding only a centred serif panel letter, a tinted title banner per
figure ("图5-12  肾动脉狭窄"), a legend "图解要点：…", figures that run on from the foot of one column (or page) to
the top of the next, and frames that carry what real ones do: white overlay text, calipers, depth ticks, a colour
Doppler box with its scale bar, dark margins reaching the frame's edge. The pictures are the real frames of
../shared/corpus (BUSI breast frames, CC0; the lung and phantom frames of two CC BY papers), so the pixels the
detector meets are real ultrasound, not drawn speckle.

Pages are composed as PDF (so CJK text is typeset, not drawn), rendered at 300 dpi as the "master", then scanned:
paper tone and uneven light, ink that is never black, noise, skew, blur, resampling to the scan resolution and JPEG.
The truth boxes go through the same geometry. Everything is seeded: the same seed gives the same pages.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pymupdf
from PIL import Image

MASTER_DPI = 300
PT = 0.72  # points per pixel at 100 dpi
PAGE_W, PAGE_H = 727, 1000  # pixels at 100 dpi
COLUMNS = ((70, 347), (381, 658))  # x ranges of the two columns at 100 dpi
TOP, BOTTOM = 62, 950
CJK = pymupdf.Font("china-s")  # Droid Sans Fallback: CJK and Latin with their own widths

TITLES = [
    ("5-12", "肾动脉狭窄"),
    ("5-13", "腹主动脉瘤"),
    ("5-14", "门静脉血栓形成"),
    ("5-15", "肝海绵状血管瘤"),
    ("5-16", "胆囊结石"),
    ("5-17", "急性胆囊炎"),
    ("5-18", "肾囊肿"),
    ("5-19", "多囊肾"),
    ("5-20", "肾结石伴积水"),
    ("5-21", "胰腺假性囊肿"),
    ("5-22", "脾大"),
    ("5-23", "腹膜后淋巴结肿大"),
]
OVERLAYS = [
    "AO: 腹主动脉；LRA: 左肾动脉",
    "LIVER  RK",
    "PV: 门静脉",
    "GB: 胆囊；ST: 结石",
    "L-KIDNEY  SAG",
    "CDFI",
]
LEGEND_LINES = [
    "A图为二维灰阶声像图，显示病灶边界清晰，内部回声均匀；",
    "B图为彩色多普勒血流图，病灶周边可见少许血流信号；",
    "C图为频谱多普勒，测得收缩期峰值流速明显增高；",
    "D图为横切面，病灶后方回声增强；",
    "E图为治疗后复查，病灶明显缩小。",
]
BODY = (
    "超声检查时患者取仰卧位，探头置于剑突下或右肋缘下，沿血管长轴及短轴连续扫查，"
    "观察管腔内径、管壁回声及腔内有无异常回声，彩色多普勒观察血流充盈情况，"
    "频谱多普勒测量峰值流速及阻力指数，并与对侧比较。"
)


@dataclass
class Panel:
    """One ultrasound panel's truth: page (1-based), box in pixels at 100 dpi, figure id and letter."""

    page: int
    box: tuple[float, float, float, float]
    figure_id: str
    letter: str | None


@dataclass
class Book:
    """The composed PDF (vector text, raster frames) and the truth of every panel on it."""

    pdf: bytes
    panels: list[Panel] = field(default_factory=list)
    pages: int = 0


# --- real frames -------------------------------------------------------------------------------------------------


def real_frames(corpus: Path) -> list[np.ndarray]:
    """Real ultrasound frames (RGB), cut from the corpus: 6 BUSI frames, 6 phantom panels, 4 lung frames."""
    frames = [
        np.asarray(Image.open(p).convert("RGB")) for p in sorted((corpus / "ultrasound_images").glob("busi_*.png"))
    ]
    papers = corpus / "en_papers"
    with pymupdf.open(papers / "boice2022_JImaging_US_panels_ccby.pdf") as doc:
        grid = _pixmap_rgb(doc, 84)
    frames += _grid_cells(grid)
    with pymupdf.open(papers / "kerdegari2021_ApplSci_lungUS_ccby.pdf") as doc:
        frames += [_pixmap_rgb(doc, xref) for xref in (357, 400, 422, 433)]
    return frames


def _pixmap_rgb(doc: pymupdf.Document, xref: int) -> np.ndarray:
    pix = pymupdf.Pixmap(doc, xref)
    if pix.alpha or pix.n > 3:
        pix = pymupdf.Pixmap(pymupdf.csRGB, pix)
    return np.asarray(Image.open(io.BytesIO(pix.tobytes("png"))).convert("RGB"))


def _grid_cells(grid: np.ndarray) -> list[np.ndarray]:
    """The six frames of boice's 3x2 grid, cut at its white gutters."""
    dark = grid.mean(axis=2) < 200
    cols = _runs(dark.mean(axis=0) > 0.5)
    rows = _runs(dark.mean(axis=1) > 0.5)
    cells = [grid[a:b, c:d].copy() for a, b in rows for c, d in cols if b - a > 100 and d - c > 100]
    for cell in cells:  # the paper's own panel letters (white "A".."F" at the top left) are not the atlas's
        h, w = cell.shape[:2]
        cell[int(0.08 * h) : int(0.24 * h), : int(0.12 * w)] = 0
    return cells


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate(([False], values, [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


# --- one panel's picture -----------------------------------------------------------------------------------------


def panel_picture(frame: np.ndarray, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A frame as an atlas prints it: on a dark screen, as a sector, an inset or edge to edge, with what a scanner
    screen draws over it (depth ticks, calipers, a colour Doppler box and its scale bar)."""
    width, height = size
    canvas = np.full((height, width, 3), rng.integers(0, 18), dtype=np.uint8)
    style = rng.choice(["sector", "inset", "full"], p=[0.4, 0.35, 0.25])
    if style == "full":
        canvas[:] = _fit(frame, width, height)
    elif style == "inset":
        mx, top = int(width * rng.uniform(0.06, 0.14)), int(height * rng.uniform(0.08, 0.14))
        bottom = int(height * rng.uniform(0.02, 0.08))
        canvas[top : height - bottom, mx : width - mx] = _fit(frame, width - 2 * mx, height - top - bottom)
    else:
        picture = _fit(frame, width, height)
        yy, xx = np.mgrid[0:height, 0:width]
        apex = (width / 2, -height * rng.uniform(0.05, 0.25))
        angle = np.degrees(np.arctan2(xx - apex[0], yy - apex[1]))
        half = rng.uniform(30, 40)
        radius = np.hypot(xx - apex[0], yy - apex[1])
        inside = (np.abs(angle) <= half) & (radius <= height * 1.12 - apex[1]) & (radius >= -apex[1] + 8)
        canvas[inside] = picture[inside]
    if rng.random() < 0.45:
        _doppler(canvas, rng)
    _ticks(canvas, rng)
    if rng.random() < 0.5:
        _calipers(canvas, rng)
    return canvas


def _fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """The frame cropped to the target's aspect (centred) and resized to it."""
    fh, fw = frame.shape[:2]
    aspect = width / height
    if fw / fh > aspect:
        cw = int(fh * aspect)
        crop = frame[:, (fw - cw) // 2 : (fw - cw) // 2 + cw]
    else:
        ch = int(fw / aspect)
        crop = frame[(fh - ch) // 2 : (fh - ch) // 2 + ch]
    return cv2.resize(np.ascontiguousarray(crop), (width, height), interpolation=cv2.INTER_CUBIC)


def _doppler(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Red and blue flow blobs inside a colour box, and the red-black-blue scale bar at the frame's side."""
    height, width = canvas.shape[:2]
    bx0, by0 = int(width * rng.uniform(0.25, 0.4)), int(height * rng.uniform(0.2, 0.35))
    bw, bh = int(width * rng.uniform(0.25, 0.35)), int(height * rng.uniform(0.25, 0.4))
    noise = cv2.GaussianBlur(rng.normal(0, 1, (bh, bw)), (0, 0), max(2.0, bw / 12))
    noise /= np.abs(noise).max() + 1e-6
    box = canvas[by0 : by0 + bh, bx0 : bx0 + bw].astype(np.float32)
    red, blue = noise > 0.35, noise < -0.45
    box[red] = (210, 40, 30)
    box[blue] = (40, 90, 230)
    canvas[by0 : by0 + bh, bx0 : bx0 + bw] = box.astype(np.uint8)
    cv2.rectangle(canvas, (bx0, by0), (bx0 + bw, by0 + bh), (180, 180, 180), 1)
    bar_x = int(width * 0.03) if rng.random() < 0.5 else int(width * 0.93)
    bar_h = int(height * 0.3)
    for k in range(bar_h):
        t = k / bar_h
        colour = (
            (int(255 * (1 - 2 * t)), int(60 * (1 - abs(1 - 2 * t))), 0) if t < 0.5 else (0, 60, int(255 * (2 * t - 1)))
        )
        canvas[int(height * 0.1) + k, bar_x : bar_x + max(3, width // 60)] = colour


def _ticks(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Depth ticks down one side, as the scanner's screen prints them."""
    height, width = canvas.shape[:2]
    x = int(width * rng.uniform(0.9, 0.96))
    for y in range(int(height * 0.08), height - 4, max(6, height // 12)):
        canvas[y : y + 2, x : x + max(4, width // 60)] = 230


def _calipers(canvas: np.ndarray, rng: np.random.Generator) -> None:
    """Two '+' marks and a dotted line between them."""
    height, width = canvas.shape[:2]
    a = (int(width * rng.uniform(0.3, 0.45)), int(height * rng.uniform(0.4, 0.6)))
    b = (int(width * rng.uniform(0.55, 0.7)), int(height * rng.uniform(0.45, 0.7)))
    arm = max(4, width // 50)
    for x, y in (a, b):
        cv2.line(canvas, (x - arm, y), (x + arm, y), (240, 240, 120), 2)
        cv2.line(canvas, (x, y - arm), (x, y + arm), (240, 240, 120), 2)
    steps = 12
    for k in range(1, steps, 2):
        p = (a[0] + (b[0] - a[0]) * k // steps, a[1] + (b[1] - a[1]) * k // steps)
        cv2.circle(canvas, p, 1, (240, 240, 120), -1)


# --- the book ----------------------------------------------------------------------------------------------------


class _Composer:
    """Flows figures down two columns, page after page, and records each panel's truth."""

    def __init__(self, frames: list[np.ndarray], rng: np.random.Generator, letters_inside: bool) -> None:
        self.doc = pymupdf.open()
        self.frames, self.rng = frames, rng
        self.letters_inside = letters_inside
        self.panels: list[Panel] = []
        self.page: pymupdf.Page | None = None
        self.page_no = 0
        self.column = 1
        self.y = float(TOP)
        self.tint = [(205, 226, 242), (228, 228, 228), (244, 232, 204)][int(rng.integers(0, 3))]

    def new_column(self) -> None:
        if self.column == 1 or self.page is None:
            self.page = self.doc.new_page(width=PAGE_W * PT, height=PAGE_H * PT)
            self.page_no += 1
            self._furniture()
            self.column = 0
        else:
            self.column = 1
        self.y = float(TOP)

    def _furniture(self) -> None:
        assert self.page is not None
        _write(self.page, (70, 38), "第五章  腹部血管与脏器超声", 8)
        self.page.draw_line((70 * PT, 46 * PT), (658 * PT, 46 * PT), color=(0.4, 0.4, 0.4), width=0.5)
        self.page.insert_text((355 * PT, 978 * PT), str(100 + self.page_no), fontname="tiro", fontsize=8)

    def room(self, height: float) -> bool:
        return self.y + height <= BOTTOM

    def text(self, lines: list[str], size: float, leading: float, bold: bool = False) -> None:
        assert self.page is not None
        x0, _ = COLUMNS[self.column]
        for line in lines:
            if not self.room(leading):
                self.new_column()
            _write(self.page, (x0, self.y + leading * 0.75), line, size, bold=bold)
            self.y += leading

    def banner(self, figure_id: str, title: str) -> None:
        assert self.page is not None
        x0, x1 = COLUMNS[self.column]
        rect = pymupdf.Rect(x0 * PT, self.y * PT, x1 * PT, (self.y + 26) * PT)
        self.page.draw_rect(rect, color=None, fill=tuple(c / 255 for c in self.tint))
        _write(self.page, (x0 + 6, self.y + 18), f"图{figure_id}  {title}", 10.5, bold=True)
        self.y += 34

    def panel(self, figure_id: str, letter: str | None) -> None:
        assert self.page is not None
        x0, x1 = COLUMNS[self.column]
        width = x1 - x0
        height = float(self.rng.integers(185, 212))
        gutter = 35.0 if letter and not self.letters_inside else 12.0
        if not self.room(height + gutter):
            self.new_column()
        x0, x1 = COLUMNS[self.column]
        frame = self.frames[int(self.rng.integers(0, len(self.frames)))]
        if self.rng.random() < 0.5:
            frame = frame[:, ::-1]
        pixels = panel_picture(frame, (int(width * 3), int(height * 3)), self.rng)
        rect = pymupdf.Rect(x0 * PT, self.y * PT, x1 * PT, (self.y + height) * PT)
        self.page.insert_image(rect, stream=_png(pixels))
        if self.rng.random() < 0.7:
            overlay = OVERLAYS[int(self.rng.integers(0, len(OVERLAYS)))]
            _write(self.page, (x0 + 6, self.y + 14), overlay, 6.5, colour=(1, 1, 1))
        if self.rng.random() < 0.5:
            self.page.insert_text(
                ((x0 + 8) * PT, (self.y + height - 8) * PT), "D1 2.31cm", fontname="helv", fontsize=6, color=(1, 1, 0.6)
            )
        if letter and self.letters_inside:
            self.page.insert_text(
                ((x1 - 18) * PT, (self.y + height - 8) * PT), letter, fontname="tibo", fontsize=12, color=(1, 1, 1)
            )
        elif letter:
            self.page.insert_text(
                (((x0 + x1) / 2 - 4) * PT, (self.y + height + 23) * PT), letter, fontname="tiro", fontsize=11.5
            )
        self.panels.append(Panel(self.page_no, (float(x0), self.y, float(x1), self.y + height), figure_id, letter))
        self.y += height + gutter

    def figure(self, figure_id: str, title: str, count: int) -> None:
        if not self.room(26 + 34 + 190):
            self.new_column()
        self.banner(figure_id, title)
        for k in range(count):
            self.panel(figure_id, "ABCDE"[k] if count > 1 else None)
        legend = ["图解要点：" + LEGEND_LINES[0][:14]] + [line[:19] for line in LEGEND_LINES[: max(count, 2)]]
        self.text(legend, 8.5, 15)
        self.y += 12


def build_book(corpus: Path, seed: int = 0, letters_inside: bool = False) -> Book:
    """Four pages (22 panels) of a two-column atlas chapter; see the module docstring.

    The figure counts put the 2nd figure's panel A at the foot of the left column with its panels B-E at the top of
    the right one, and a figure that runs on over a page break.
    """
    rng = np.random.default_rng(seed)
    comp = _Composer(real_frames(corpus), rng, letters_inside)
    comp.new_column()
    comp.text(["第二节  肾血管疾病"], 12, 24, bold=True)
    comp.text(_wrap(BODY, 19), 9.5, 16)
    for (figure_id, title), count in zip(TITLES, (2, 5, 3, 2, 4, 3, 3), strict=False):
        comp.figure(figure_id, title, count)
    return Book(pdf=comp.doc.tobytes(), panels=comp.panels, pages=comp.page_no)


def _write(
    page: pymupdf.Page,
    at: tuple[float, float],
    text: str,
    size: float,
    colour: tuple[float, float, float] = (0, 0, 0),
    bold: bool = False,
) -> None:
    """Text at a baseline given in 100-dpi pixels, in the CJK font (bold as fill + stroke)."""
    writer = pymupdf.TextWriter(page.rect)
    writer.append((at[0] * PT, at[1] * PT), text, font=CJK, fontsize=size)
    writer.write_text(page, color=colour, render_mode=2 if bold else 0)


def _wrap(text: str, per_line: int) -> list[str]:
    return [text[i : i + per_line] for i in range(0, len(text), per_line)]


def _png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


# --- scanning ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """How a page reaches the user: scan resolution, JPEG quality, blur, noise, skew, and a resample after."""

    name: str
    dpi: int = 100
    quality: int = 75
    blur: float = 0.0
    noise: float = 2.5
    skew: float = 0.0
    then_dpi: int | None = None  # resampled again after the first JPEG (an upsampled copy)
    then_quality: int | None = None  # re-encoded after the first JPEG (a copy of a copy)
    then_blur: float = 0.0


# The four forms of the table (an image-only PDF at the book's ~100 dpi; re-encoded; upsampled; the page
# JPEGs given directly), then the ranges a user's scans cover.
FORMS = {
    "pdf100": Form("pdf100"),
    "reencoded": Form("reencoded", then_quality=80, then_blur=0.6),
    "up200": Form("up200", then_dpi=200, then_quality=90),
    "jpg100": Form("jpg100"),
    "dpi72_q60": Form("dpi72_q60", dpi=72, quality=60),
    "dpi300_q95": Form("dpi300_q95", dpi=300, quality=95),
    "dpi150_blur_noise": Form("dpi150_blur_noise", dpi=150, quality=85, blur=1.0, noise=6.0),
    "skew+2": Form("skew+2", dpi=150, quality=85, skew=2.0),
    "skew-1.5": Form("skew-1.5", dpi=100, quality=80, skew=-1.5),
}


def master_pages(book: Book) -> list[np.ndarray]:
    """The composed pages rendered at `MASTER_DPI` (what a perfect scanner would see)."""
    out = []
    with pymupdf.open(stream=book.pdf, filetype="pdf") as doc:
        for page in doc:
            pix = page.get_pixmap(dpi=MASTER_DPI, colorspace=pymupdf.csRGB, alpha=False)
            out.append(np.frombuffer(pix.samples, dtype=np.uint8).reshape(pix.height, pix.width, 3).copy())
    return out


def scan(master: np.ndarray, form: Form, seed: int) -> bytes:
    """One page through a scanner and JPEG: the JPEG bytes at the form's final resolution."""
    rng = np.random.default_rng(seed)
    paper = np.array([rng.uniform(236, 248), rng.uniform(232, 244), rng.uniform(220, 236)], dtype=np.float32)
    ink = np.float32(rng.uniform(22, 40))
    size = (round(PAGE_W * form.dpi / 100), round(PAGE_H * form.dpi / 100))
    page = cv2.resize(master, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    page = ink + page * (paper - ink)
    height, width = page.shape[:2]
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    light = 1.0 + 0.04 * (xx / width - 0.5) - 0.03 * (yy / height - 0.5) ** 2
    page *= light[:, :, None]
    if form.skew:
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), form.skew, 1.0)
        page = cv2.warpAffine(page, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=tuple(paper.tolist()))
    if form.blur:
        page = cv2.GaussianBlur(page, (0, 0), form.blur)
    page += rng.normal(0, form.noise, page.shape).astype(np.float32)
    data = _jpeg(page, form.quality)
    if form.then_dpi or form.then_quality:
        again = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(np.float32)
        if form.then_dpi:
            size = (round(PAGE_W * form.then_dpi / 100), round(PAGE_H * form.then_dpi / 100))
            again = cv2.resize(again, size, interpolation=cv2.INTER_CUBIC)
        if form.then_blur:
            again = cv2.GaussianBlur(again, (0, 0), form.then_blur)
        data = _jpeg(again, form.then_quality or 90)
    return data


def _jpeg(page: np.ndarray, quality: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.clip(page, 0, 255).astype(np.uint8)).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def final_dpi(form: Form) -> int:
    return form.then_dpi or form.dpi


def write_form(book: Book, masters: list[np.ndarray], form: Form, folder: Path, as_images: bool = False) -> list[Path]:
    """The scanned book in one form: an image-only PDF (one JPEG a page, the page sized at the scan dpi), or the
    page JPEGs themselves (`as_images`). Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    jpegs = [scan(m, form, seed=1000 + k) for k, m in enumerate(masters)]
    if as_images:
        paths = []
        for k, data in enumerate(jpegs, start=1):
            path = folder / f"page_{k:03d}.jpg"
            path.write_bytes(data)
            paths.append(path)
        return paths
    doc = pymupdf.open()
    dpi = final_dpi(form)
    for data in jpegs:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
        page = doc.new_page(width=w * 72 / dpi, height=h * 72 / dpi)
        page.insert_image(page.rect, stream=data)
    path = folder / f"atlas_{form.name}.pdf"
    path.write_bytes(doc.tobytes())
    return [path]


def truth_box(panel: Panel, form: Form) -> tuple[float, float, float, float]:
    """A panel's box as fractions of the page, after the form's skew (the axis-aligned box of the tilted frame)."""
    x0, y0, x1, y1 = panel.box
    if not form.skew:
        return (x0 / PAGE_W, y0 / PAGE_H, x1 / PAGE_W, y1 / PAGE_H)
    # cv2's angle turns the page counter-clockwise on screen (y down): rotate the corners the same way.
    theta = math.radians(form.skew)
    cx, cy = PAGE_W / 2, PAGE_H / 2
    xs, ys = [], []
    for x, y in ((x0, y0), (x1, y0), (x0, y1), (x1, y1)):
        dx, dy = x - cx, y - cy
        xs.append(cx + dx * math.cos(theta) + dy * math.sin(theta))
        ys.append(cy - dx * math.sin(theta) + dy * math.cos(theta))
    return (min(xs) / PAGE_W, min(ys) / PAGE_H, max(xs) / PAGE_W, max(ys) / PAGE_H)


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Score:
    """How extract's figures of one form compare with the truth."""

    panels: int
    found: int  # truth panels matched by a figure at IoU >= 0.8
    named: int  # ... and that figure has the right figure id and panel letter
    extra: int  # figures matching no truth panel
    misses: list[str]
    ious: list[float] = field(default_factory=list)  # IoU of each found panel


def score(figures: list[dict], book: Book, form: Form, page_of: dict[str, int] | None = None) -> Score:
    """Match extract's figure records (figures.jsonl rows) to the truth panels of `book` scanned as `form`.

    `page_of` maps a figure's doc name to its page number when each page is its own input file (page JPEGs).
    """
    by_page: dict[int, list[tuple[tuple[float, float, float, float], dict]]] = {}
    for f in figures:
        page = page_of[f["doc"]] if page_of and f["doc"] in page_of else f["page"]
        w, h = f["page_size"]
        x0, y0, x1, y1 = f["bbox"]
        by_page.setdefault(page, []).append(((x0 / w, y0 / h, x1 / w, y1 / h), f))
    used: set[int] = set()
    found = named = 0
    misses: list[str] = []
    ious: list[float] = []
    for panel in book.panels:
        want = truth_box(panel, form)
        best = max(by_page.get(panel.page, []), key=lambda c: iou(c[0], want), default=None)
        if best is None or iou(best[0], want) < 0.8:
            got = f"{iou(best[0], want):.2f}" if best else "none"
            misses.append(f"p{panel.page} {panel.figure_id}{panel.letter or ''}: not found (best IoU {got})")
            continue
        used.add(id(best[1]))
        found += 1
        ious.append(iou(best[0], want))
        fid, letter = best[1].get("figure_id"), best[1].get("panel")
        if fid == panel.figure_id and (letter or None) == panel.letter:
            named += 1
        else:
            misses.append(f"p{panel.page} {panel.figure_id}{panel.letter or ''}: named {fid}{letter or ''}")
    extra = sum(1 for rows in by_page.values() for _, f in rows if id(f) not in used)
    return Score(len(book.panels), found, named, extra, misses, ious)
