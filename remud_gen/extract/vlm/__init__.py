"""The optional VLM figure detector for scanned pages (`extract.detector: vlm`, `remud-gen extract --detector vlm`).

Modules: `geometry` (Qwen smart-resize, model space -> page pixels), `answer` (reading boxes out of any answer
shape), `crosscheck` (VLM boxes against image-analysis boxes), `detect` (the requests of one document and where the
final boxes go), `settings`.

Wiring: each extract worker process asks for its own documents' pages. A worker builds its own `Client` and sends
its scanned pages through `run_requests`, with a journal per document (`WORK/extract/vlm/<sha>.jsonl`), so a
re-run never pays twice, no two processes ever append to one journal file, and a document is finished in one place
(no second pass in the parent that would have to keep every page's analysis waiting). The endpoint's concurrency
is split evenly across the workers. The parent only checks once, before starting the workers, that the endpoint
answers at all: if not, it says so in one line and every page falls back to image analysis.
"""
