"""remud-gen: ultrasound textbooks -> grounded reasoning QA/VQA datasets."""

__version__ = "0.1.0"
