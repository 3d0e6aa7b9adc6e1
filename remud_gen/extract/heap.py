"""An extract process's memory, kept flat from one document to the next (glibc only; elsewhere no-ops).

Page renders and OCR tensors are tens to hundreds of MB each. glibc serves blocks that large from its heap once it
has freed one (its mmap threshold rises to the largest block freed), and a heap returns memory only from its top:
across a batch the process kept the peak of every document before it, ~0.5 GB of freed memory after one scanned
page (measured). A fixed threshold keeps such blocks in their own mappings, returned to the system when freed, and
`settle` hands back what the heap still holds after each document.
"""

from __future__ import annotations

import contextlib
import ctypes

_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
# bytes: blocks from here up get their own mapping: OCR's largest feature maps. Its many smaller scratch blocks stay
# on the heap, where reusing them costs no page faults (on the damaged-PDF batch, 1-8 MiB took ~20% more CPU than
# 16 MiB for about the same peak; the batch as a whole ~6% more than with glibc's moving threshold).
_MMAP_THRESHOLD = 16 << 20


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None


def keep_flat() -> None:
    """Give large blocks their own mappings for the rest of this process (call once, before extracting)."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)


def trim() -> None:
    """Return the heap's free memory to the system."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.malloc_trim(0)


def settle() -> None:
    """After a document: empty MuPDF's cache of its objects, and return the freed memory."""
    import pymupdf

    pymupdf.TOOLS.store_shrink(100)
    trim()
