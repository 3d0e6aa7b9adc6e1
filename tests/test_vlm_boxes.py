"""The VLM detector's pure parts: Qwen smart-resize, coordinate mapping through both resizes, answer shapes and the
cross-check rules (the end-to-end runs over HTTP are in test_extract_vlm.py)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from remud_gen.extract.model import iou
from remud_gen.extract.vlm.answer import RawBox, parse_boxes
from remud_gen.extract.vlm.crosscheck import CheckRules, cross_check
from remud_gen.extract.vlm.geometry import default_format, fit_size, model_frame, smart_resize, to_image
from remud_gen.llm.images import data_url
from remud_gen.stub.boxes import find_frames

QWEN_MAX = 28 * 28 * 1280  # the processor default; Qwen2.5-VL's shipped config allows 12845056


@pytest.mark.parametrize(
    ("size", "bounds", "expected"),
    [
        ((1000, 1000), (3136, QWEN_MAX), (980, 980)),  # rounds up to 1008x1008, over the cap: scaled and floored
        ((1000, 1000), (3136, 12845056), (1008, 1008)),  # within bounds: nearest multiple of 28
        ((1080, 1920), (3136, 12845056), (1092, 1932)),
        ((1080, 1920), (3136, QWEN_MAX), (728, 1316)),
        ((28, 28), (3136, QWEN_MAX), (56, 56)),  # under min_pixels: scaled up and ceiled
        ((100, 50), (3136, QWEN_MAX), (112, 56)),
        ((10, 1000), (3136, QWEN_MAX), (28, 1008)),  # a side never drops below the factor
        ((2339, 1654), (3136, QWEN_MAX), (1176, 840)),  # an A4 page at 200 dpi
        ((1191, 842), (3136, 300_000), (644, 448)),
    ],
)
def test_smart_resize_known_values(size: tuple[int, int], bounds: tuple[int, int], expected: tuple[int, int]) -> None:
    assert smart_resize(*size, min_pixels=bounds[0], max_pixels=bounds[1]) == expected


def test_smart_resize_keeps_its_invariants() -> None:
    for h in range(300, 5000, 97):
        for w in (400, 999, 2480, 4000):
            rh, rw = smart_resize(h, w, max_pixels=QWEN_MAX)
            assert rh % 28 == 0 and rw % 28 == 0
            assert rh * rw <= QWEN_MAX
            rounded = (28 * round(h / 28), 28 * round(w / 28))
            if rounded[0] * rounded[1] <= QWEN_MAX:
                assert (rh, rw) == rounded  # within bounds: only rounded
            else:
                assert rh * rw >= 0.5 * QWEN_MAX  # capped: shrunk to the budget, not far below it


@pytest.mark.parametrize("size", [(0, 10), (10, 2500)])
def test_smart_resize_refuses_what_the_processor_refuses(size: tuple[int, int]) -> None:
    with pytest.raises(ValueError):
        smart_resize(*size)


@pytest.mark.parametrize(
    ("model", "fmt"),
    [
        ("Qwen/Qwen2.5-VL-7B-Instruct", "qwen"),
        ("qwen2_5_vl_72b", "qwen"),
        ("Qwen/Qwen2-VL-7B-Instruct", "norm1000"),  # Qwen2-VL was trained on 0-1000 boxes
        ("Qwen/Qwen3-VL-8B-Instruct", "norm1000"),
        ("gpt-4o", "norm1000"),
    ],
)
def test_default_box_format_follows_the_model(model: str, fmt: str) -> None:
    assert default_format(model) == fmt


def _page(tmp_path: Path, size: tuple[int, int], frame: tuple[int, int, int, int]) -> Path:
    """A white page of `size` (w, h) with one dark speckled frame at `frame` (pixels)."""
    rng = np.random.default_rng(0)
    page = np.full((size[1], size[0], 3), 255, dtype=np.uint8)
    x0, y0, x1, y1 = frame
    page[y0:y1, x0:x1] = rng.integers(0, 120, size=(y1 - y0, x1 - x0, 1), dtype=np.uint8)
    path = tmp_path / "page.png"
    Image.fromarray(page).save(path)
    return path


def _sent(path: Path, budget: int) -> np.ndarray:
    """The image exactly as the client sends it (decoded from its data URL)."""
    payload = data_url(path, budget).split(",", 1)[1]
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(payload))).convert("RGB"))


@pytest.mark.parametrize("fmt", ["qwen", "norm1000", "norm1"])
@pytest.mark.parametrize(("budget", "processor_max"), [(10**8, 12845056), (1_003_520, 12845056), (400_000, 150_000)])
def test_boxes_map_back_to_page_pixels_through_both_resizes(
    tmp_path: Path, fmt: str, budget: int, processor_max: int
) -> None:
    size, truth = (1654, 2339), (300, 500, 1300, 1250)
    sent = _sent(_page(tmp_path, size, truth), budget)
    assert (sent.shape[1], sent.shape[0]) == fit_size(*size, budget)
    [(found, _)] = find_frames(sent)
    # What the model answers: its own frame is the smart-resize of what it received, or a fixed scale.
    if fmt == "qwen":
        mh, mw = smart_resize(sent.shape[0], sent.shape[1], max_pixels=processor_max)
        answer = tuple(round(v * s) for v, s in zip(found, (mw / sent.shape[1], mh / sent.shape[0]) * 2, strict=True))
    else:
        top = 1000 if fmt == "norm1000" else 1
        answer = tuple(round(v * top / s, 3) for v, s in zip(found, (sent.shape[1], sent.shape[0]) * 2, strict=True))
    frame = model_frame(size, fmt, budget=budget, min_pixels=3136, max_pixels=processor_max)  # type: ignore[arg-type]
    back = to_image(answer, frame, size)  # type: ignore[arg-type]
    assert iou(back, truth) >= 0.97, (back, truth)


def test_to_image_orders_and_clips_corners() -> None:
    assert to_image((900, 1100, -50, 200), (1000.0, 1000.0), (100, 100)) == (0.0, 20.0, 90.0, 100.0)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ('[{"bbox_2d": [10, 20, 300, 400], "label": "ultrasound"}]', [((10, 20, 300, 400), "ultrasound")]),
        (
            '```json\n[\n  {"bbox_2d": [1, 2, 3, 4], "label": "a"},\n  {"bbox_2d": [5, 6, 7, 8], "label": "b"}\n]\n```',
            [((1, 2, 3, 4), "a"), ((5, 6, 7, 8), "b")],
        ),
        ('Sure! The figures are:\n```\n[{"bbox": [1, 2, 3, 4]}]\n```\nLet me know.', [((1, 2, 3, 4), "")]),
        ('<think>two frames</think>[{"bbox_2d": [[1, 2], [3, 4]], "label": "x"}]', [((1, 2, 3, 4), "x")]),
        ('{"figures": [{"box_2d": ["1", "2", "3", "4"], "category": "photo"}]}', [((1, 2, 3, 4), "photo")]),
        ('{"bbox_2d": [1.5, 2.5, 3.5, 4.5]}', [((1.5, 2.5, 3.5, 4.5), "")]),
        ("[[1, 2, 3, 4], [5, 6, 7, 8]]", [((1, 2, 3, 4), ""), ((5, 6, 7, 8), "")]),
        (
            "<|object_ref_start|>ultrasound image<|object_ref_end|><|box_start|>(12,34),(560,780)<|box_end|>",
            [((12, 34, 560, 780), "ultrasound image")],
        ),
        (
            "Figure one <|box_start|>(1,2),(3,4)<|box_end|> and two <|box_start|>(5, 6), (7, 8)<|box_end|>.",
            [
                ((1, 2, 3, 4), ""),
                ((5, 6, 7, 8), ""),
            ],
        ),
        ("<box>(10,20),(30,40)</box>", [((10, 20, 30, 40), "")]),
        ('[{"bbox_2d": [1, 2, 3, 4], "label": "a"}, {"bbox_2d": [5, 6, 7', [((1, 2, 3, 4), "a")]),  # cut off
        (
            'The page has these: {"bbox_2d": [1, 2, 3, 4]} and {"bbox_2d": [5, 6, 7, 8]}',
            [
                ((1, 2, 3, 4), ""),
                ((5, 6, 7, 8), ""),
            ],
        ),
        ("[]", []),
        ('```json\n{"figures": []}\n```', []),
    ],
)
def test_parser_reads_the_answer_shapes_of_real_models(answer: str, expected: list[tuple[tuple, str]]) -> None:
    assert parse_boxes(answer) == [RawBox(tuple(float(v) for v in box), label) for box, label in expected]  # type: ignore[misc]


@pytest.mark.parametrize(
    "answer",
    ["There are no figures.", "", '{"answer": "none"}', '[{"bbox_2d": [1, 2, 3]}]', '{"bbox_2d": [1, 2, "x", 4]}'],
)
def test_parser_refuses_answers_without_boxes(answer: str) -> None:
    with pytest.raises(ValueError):
        parse_boxes(answer)


PAGE = (600.0, 800.0)
RULES = CheckRules(match_iou=0.5, min_side=20.0, max_text_cover=0.5)
A = (100.0, 100.0, 300.0, 250.0)
B = (320.0, 100.0, 520.0, 250.0)


@pytest.mark.parametrize(
    ("vlm", "analysis", "text", "regions", "counts"),
    [
        # agreement: the analysis edges are kept, the source is vlm
        ([((103, 98, 297, 255), "us")], [A], [], [(A, "vlm")], {"matched": 1}),
        # the VLM sees a figure the analysis missed
        ([((100, 400, 300, 550), "diagram")], [], [], [((100, 400, 300, 550), "vlm")], {"vlm_only": 1}),
        # ... unless it is tiny, a text block, labelled a table, or the whole page
        ([((100, 400, 110, 550), "x")], [], [], [], {"rejected": 1}),
        (
            [((100, 400, 300, 550), "x")],
            [],
            [(100, 400 + 15 * i, 300, 410 + 15 * i) for i in range(10)],
            [],
            {"rejected": 1},
        ),
        ([((100, 400, 300, 550), "table")], [], [], [], {"rejected": 1}),
        ([((0, 0, 600, 800), "figure")], [], [], [], {"rejected": 1}),
        # two VLM panels inside one analysis region: touching panels the analysis merged
        (
            [(A, "us"), (B, "us")],
            [(100, 100, 520, 250)],
            [],
            [(A, "vlm"), (B, "vlm")],
            {"split": 1},
        ),
        # one VLM box around two analysis panels: the panels are kept, confirmed
        ([((90, 90, 530, 260), "figure")], [A, B], [], [(A, "vlm"), (B, "vlm")], {"grouped": 1}),
        # placed differently: the analysis box wins, the disagreement is counted
        ([((200, 180, 400, 330), "us")], [A], [], [(A, "detected")], {"conflict": 1, "analysis_only": 1}),
        # the analysis saw something the VLM did not
        ([], [A], [], [(A, "detected")], {"analysis_only": 1}),
    ],
)
def test_cross_check_rules(
    vlm: list[tuple[tuple[float, ...], str]],
    analysis: list[tuple[float, ...]],
    text: list[tuple[float, ...]],
    regions: list[tuple[tuple[float, ...], str]],
    counts: dict[str, int],
) -> None:
    got, tally = cross_check(vlm, analysis, text, PAGE, RULES)  # type: ignore[arg-type]
    assert [(tuple(map(float, b)), s) for b, s in got] == [(tuple(map(float, b)), s) for b, s in regions]
    for name in ("matched", "split", "grouped", "vlm_only", "conflict", "rejected", "analysis_only"):
        assert getattr(tally, name) == counts.get(name, 0), name


def test_analysis_only_boxes_can_be_dropped() -> None:
    rules = CheckRules(keep_analysis_only=False)
    got, tally = cross_check([], [A], [], PAGE, rules)
    assert got == [] and tally.analysis_only == 1
