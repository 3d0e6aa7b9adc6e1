"""Sample input made from scratch: atlas-style PDFs (Chinese and English) with the truth of every figure.

The demo and the tests use it on a fresh machine with no download; nothing in it comes from elsewhere.
`write_sample` writes the PDFs and their truth; `speckle_frame` and friends draw single pictures;
`rasterize_pdf` / `strip_pdf` make image-only copies for the scanned-page path; `atlas_with_frames` builds the
same kind of atlas around real frames supplied by the caller.
"""

from samplegen.atlas import atlas_with_frames, write_sample
from samplegen.rasterize import rasterize_pdf, rasterize_sample, strip_pdf
from samplegen.speckle import colour_doppler_frame, diagram, photo_like, speckle_frame
from samplegen.truth import Citation, Decoy, PageTruth, PanelTruth, SampleSet, load_truth

__all__ = [
    "Citation",
    "Decoy",
    "PageTruth",
    "PanelTruth",
    "SampleSet",
    "atlas_with_frames",
    "colour_doppler_frame",
    "diagram",
    "load_truth",
    "photo_like",
    "rasterize_pdf",
    "rasterize_sample",
    "speckle_frame",
    "strip_pdf",
    "write_sample",
]
