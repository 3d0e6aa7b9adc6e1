"""Baselines for the extract benchmark: the library calls alone, in a fresh process, printing one JSON line.

    bare.py text FILE...          PyMuPDF page.get_text("dict") + page.get_image_info(xrefs=True) on every page
    bare.py text --flags FILE...  the same with the text flags extract itself uses (no image blocks in the dict)
    bare.py ocr FILE...           RapidOCR alone on the same page renders extract makes (rendered before timing)

Timing starts after imports; the OCR time includes loading the engine once, as extract's does.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pymupdf


def text_loop(files: list[str], flags: int | None) -> dict[str, float]:
    started = time.perf_counter()
    pages = 0
    for name in files:
        with pymupdf.open(name) as doc:
            for page in doc:
                page.get_text("dict", flags=flags)
                page.get_image_info(xrefs=True)
                pages += 1
    return {"pages": pages, "seconds": time.perf_counter() - started}


def page_images(files: list[str]) -> list[np.ndarray]:
    """Every page rendered and sized exactly as extract hands it to RapidOCR (BGR, longest side <= 2000)."""
    import cv2

    from remud_gen.extract.crops import render, to_array
    from remud_gen.extract.ocr import OCR_MAX_SIDE
    from remud_gen.extract.settings import ExtractSettings

    settings = ExtractSettings()
    images = []
    for name in files:
        with pymupdf.open(name) as doc:
            for page in doc:
                rgb = to_array(render(page, None, settings.dpi, settings.max_render_pixels))
                scale = min(1.0, OCR_MAX_SIDE / max(rgb.shape[:2]))
                if scale < 1.0:
                    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
                    rgb = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
                images.append(np.ascontiguousarray(rgb[:, :, ::-1]))
    return images


def ocr_loop(files: list[str]) -> dict[str, float]:
    images = page_images(files)
    started = time.perf_counter()
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(print_verbose=False)
    lines = 0
    for image in images:
        result, _ = engine(image)
        lines += len(result or [])
    return {"pages": len(images), "seconds": time.perf_counter() - started, "lines": lines}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["text", "ocr"])
    ap.add_argument("--flags", action="store_true", help="text: use extract's own get_text flags")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    if args.mode == "ocr":
        out = ocr_loop(args.files)
    else:
        from remud_gen.extract.textlayer import TEXT_FLAGS

        out = text_loop(args.files, TEXT_FLAGS if args.flags else None)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
