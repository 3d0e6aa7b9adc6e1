"""Bad input files: one clear InputError line each, and nothing half-written left in WORK."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pymupdf
import pytest

from remud_gen.errors import InputError
from remud_gen.extract import ExtractSettings, process_file


def _good_pdf(path: Path, **save: object) -> Path:
    with pymupdf.open() as doc:
        page = doc.new_page()
        page.insert_text((72, 72), "Figure 1. Nothing to see.", fontsize=11)
        doc.save(path, **save)
    return path


def _png_header(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height (its pixel data is a few bytes): a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _zero_page_pdf(path: Path) -> Path:
    body = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    xref = len(body)
    body += b"xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    body += f"trailer<</Size 3/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    return path


CASES = {
    "not_a_pdf": (lambda p: (p / "notes.pdf").write_text("just some text, not a PDF\n" * 20), "not a readable PDF"),
    "png_named_pdf": (lambda p: (p / "scan.pdf").write_bytes(_png_header(64, 64)), "PDF"),
    "truncated": (lambda p: (p / "cut.pdf").write_bytes(_good_pdf(p / "full.pdf").read_bytes()[:200]), "PDF"),
    "empty": (lambda p: (p / "empty.pdf").write_bytes(b""), "empty"),
    "zero_pages": (lambda p: _zero_page_pdf(p / "zero.pdf"), "no pages"),
    "encrypted": (
        lambda p: _good_pdf(p / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="s3cret", owner_pw="o"),
        "--password",
    ),
    "unsupported": (lambda p: (p / "book.epub").write_bytes(b"PK\x03\x04"), "unsupported file type"),
    "bomb_png": (lambda p: (p / "bomb.png").write_bytes(_png_header(40_000, 40_000)), "limit"),
    "broken_png": (lambda p: (p / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really"), "not a readable image"),
}


def _target(tmp_path: Path, make: object) -> Path:
    make(tmp_path)  # type: ignore[operator]
    newest = max(
        (p for p in tmp_path.iterdir() if p.is_file() and p.name != "full.pdf"), key=lambda p: p.stat().st_mtime_ns
    )
    return newest


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_file_raises_one_clear_line(tmp_path: Path, case: str) -> None:
    make, needle = CASES[case]
    path = _target(tmp_path, make)
    work = tmp_path / "work"
    with pytest.raises(InputError) as info:
        process_file(path, work, ExtractSettings())
    message = str(info.value)
    assert needle in message and path.name in message
    assert "\n" not in message
    leftovers = list(work.rglob("*")) if work.exists() else []
    assert not [p for p in leftovers if p.is_file()], "a failed file must leave nothing in WORK"


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        process_file(tmp_path / "absent.pdf", tmp_path, ExtractSettings())


def test_encrypted_pdf_opens_with_the_password(tmp_path: Path) -> None:
    pdf = _good_pdf(tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="s3cret", owner_pw="o")
    with pytest.raises(InputError, match="wrong password"):
        process_file(pdf, tmp_path, ExtractSettings(password="nope"))
    result = process_file(pdf, tmp_path, ExtractSettings(password="s3cret"))
    assert result.document.pages == 1 and result.chunks


def test_crops_are_written_once_by_content(tmp_path: Path) -> None:
    """Two files with the same picture share one crop file; no temporary files remain."""
    from PIL import Image

    img = Image.new("RGB", (120, 90), (30, 30, 30))
    img.paste((200, 200, 200), (30, 20, 90, 70))
    for name in ("a.png", "b.png"):
        img.save(tmp_path / name)
    work = tmp_path / "work"
    first = process_file(tmp_path / "a.png", work, ExtractSettings())
    second = process_file(tmp_path / "b.png", work, ExtractSettings())
    assert first.figures[0].image == second.figures[0].image
    files = [p.name for p in (work / "extract" / "images").iterdir()]
    assert len(files) == 1 and not any(n.startswith(".tmp") for n in files)
