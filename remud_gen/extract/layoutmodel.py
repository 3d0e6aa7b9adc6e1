"""Figure and table blocks of a page image, from the CDLA layout model that ships inside `rapid-layout`'s wheel.

Image analysis finds frames (dark, textured blocks) precisely, but a chart, a diagram or a table-like figure on white
paper is line work and labels that only a reader sees as one block. A layout model trained on document pages sees
it: on the scanned CC BY papers of the corpus its figure blocks match the born-digital figures at IoU 0.76-0.98 for
20 of 22 figures. It also sees a column of stacked frames as one block, which is why its blocks are reconciled with
image analysis (`remud_gen.extract.regions.with_layout`) rather than taken as they are.

The model (PP-PicoDet, CDLA classes: text, title, figure, figure_caption, table, table_caption, header, footer,
reference, equation) runs on the CPU in a fraction of a page's OCR time; it is loaded once per process, with the
same thread cap as OCR (`remud_gen.extract.ocr.limit_threads`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

MIN_SCORE = 0.5
_KINDS = ("figure", "table")


@dataclass(frozen=True)
class LayoutBlock:
    """A block the layout model found: its kind ("figure" or "table"), pixel box and confidence."""

    kind: str
    box: tuple[float, float, float, float]
    score: float


def layout_blocks(rgb: np.ndarray) -> list[LayoutBlock]:
    """Figure and table blocks of an RGB page image, in its pixels; [] when the model is not installed."""
    model = engine()
    if model is None:
        return []
    result = model(np.ascontiguousarray(rgb[:, :, ::-1]))  # the model reads BGR, as OpenCV decodes
    blocks = []
    for box, kind, score in zip(result.boxes or [], result.class_names or [], result.scores or [], strict=True):
        if kind in _KINDS and float(score) >= MIN_SCORE:
            x0, y0, x1, y1 = (float(v) for v in box)
            blocks.append(LayoutBlock(kind=str(kind), box=(x0, y0, x1, y1), score=float(score)))
    return blocks


@lru_cache(maxsize=1)
def engine() -> Any:
    """This process's layout model, loaded on first use; None when rapid-layout is missing."""
    from remud_gen.extract.ocr import thread_limit

    # rapid-layout gives each of its loggers a console handler at INFO as it loads and builds the model: the
    # model's file check and engine choice would go to every worker's stderr. Silenced while it loads, then kept
    # to errors.
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        from rapid_layout import RapidLayout

        threads = thread_limit()
        config = {"intra_op_num_threads": threads, "inter_op_num_threads": 1} if threads else {}
        model = RapidLayout(model_type="pp_layout_cdla", engine_cfg=config, conf_thresh=MIN_SCORE)
    except ImportError:
        return None
    finally:
        logging.disable(previous)
    for name in list(logging.root.manager.loggerDict):
        if name.lower().startswith(("rapid_layout", "rapidlayout")):
            logging.getLogger(name).setLevel(logging.ERROR)
    return model
