"""Duplicate removal: exact duplicates, near-duplicate questions (MinHash LSH) and a cap on samples per image.

Samples are visited in a stable order (by sample_id) and the first of a group is kept, so a re-run drops the same
samples. Near duplicates are looked for among samples attached to the same images only: "What does this ultrasound
image show?" asked of two different crops is two good items, asked twice of one crop is one. A near-duplicate
question must also have a similar answer: "肝囊肿的超声表现" and "肾囊肿的超声表现" differ in one character of the
question but not in substance, and their answers tell them apart.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from remud_gen.records import Sample

if TYPE_CHECKING:
    from datasketch import MinHashLSH

DuplicateReason = Literal["exact_duplicate", "near_duplicate", "image_cap"]


class DedupSettings(BaseModel):
    """How duplicates are found."""

    model_config = ConfigDict(extra="forbid")

    exact: bool = Field(
        default=True, description="drop samples whose normalised question and answers equal an earlier one"
    )
    near: bool = Field(
        default=True, description="drop samples whose first question is a near duplicate of an earlier one"
    )
    threshold: float = Field(
        default=0.8, gt=0, le=1, description="MinHash Jaccard similarity at which questions are near dups"
    )
    num_perm: int = Field(default=128, ge=16, le=1024, description="MinHash permutations (more: slower, more exact)")
    answer_threshold: float = Field(
        default=0.5, ge=0, le=1, description="near dups also need answers this similar (0: the question alone decides)"
    )
    ngram_size: int = Field(default=3, ge=1, le=16, description="character n-gram size of English shingles")
    ngram_size_zh: int = Field(default=2, ge=1, le=16, description="character n-gram size of Chinese shingles")
    max_samples_per_image: int | None = Field(
        default=12, ge=1, description="keep at most this many samples per image (None: no cap)"
    )


@dataclass(frozen=True)
class Duplicate:
    """Why a sample was dropped and which kept sample it duplicates."""

    reason: DuplicateReason
    of: str
    similarity: float | None = None

    def __str__(self) -> str:
        extra = f" (similarity {self.similarity:.2f})" if self.similarity is not None else ""
        return f"{self.reason}: {self.of}{extra}"


_DROPPED_CATEGORIES = ("P", "Z", "C")


class _Deletions(dict[int, int | None]):
    """A str.translate table that learns, per code point, whether it is punctuation, space or control."""

    def __missing__(self, code: int) -> int | None:
        value = None if unicodedata.category(chr(code)).startswith(_DROPPED_CATEGORIES) else code
        self[code] = value
        return value


_DELETIONS = _Deletions()


def normalise(text: str) -> str:
    """NFKC, case-folded, without whitespace, punctuation, control characters or the <image> token."""
    return unicodedata.normalize("NFKC", text.replace("<image>", "")).casefold().translate(_DELETIONS)


@dataclass(frozen=True)
class _Text:
    """A sample's normalised question and answers, computed once."""

    question: str
    answers: str
    ngram: int

    @classmethod
    def of(cls, sample: Sample, settings: DedupSettings) -> _Text:
        question = next((t.text for t in sample.turns if t.role == "user"), "")
        answers = [t.text for t in sample.turns if t.role == "assistant"] + [sample.answer or ""]
        ngram = settings.ngram_size_zh if sample.language == "zh" else settings.ngram_size
        return cls(normalise(question), "\x1f".join(map(normalise, answers)), ngram)


def _shingles(text: str, n: int) -> set[bytes]:
    if len(text) <= n:
        return {text.encode()} if text else set()
    return {text[i : i + n].encode() for i in range(len(text) - n + 1)}


def find_duplicates(samples: Iterable[Sample], settings: DedupSettings) -> dict[str, Duplicate]:
    """Find the samples to drop as duplicates.

    Run it on the samples that passed the rules, so a broken item never shadows a good one.

    Args:
        samples: candidate samples, in any order; sample ids are assumed unique.
        settings: which checks to run and their thresholds.

    Returns:
        For each dropped sample id, why it was dropped and the id of the kept sample it duplicates.
    """
    ordered = sorted(samples, key=lambda s: s.sample_id)
    texts = {s.sample_id: _Text.of(s, settings) for s in ordered}
    dropped: dict[str, Duplicate] = {}
    if settings.exact:
        seen: dict[str, str] = {}
        for s in ordered:
            text = texts[s.sample_id]
            key = "\x1e".join([text.question, text.answers, *sorted(s.images)])
            first = seen.setdefault(hashlib.sha256(key.encode()).hexdigest(), s.sample_id)
            if first != s.sample_id:
                dropped[s.sample_id] = Duplicate("exact_duplicate", first)
    if settings.near:
        _near_duplicates([s for s in ordered if s.sample_id not in dropped], texts, settings, dropped)
    if settings.max_samples_per_image is not None:
        _cap_per_image([s for s in ordered if s.sample_id not in dropped], settings.max_samples_per_image, dropped)
    return dropped


def _near_duplicates(
    ordered: list[Sample], texts: dict[str, _Text], settings: DedupSettings, dropped: dict[str, Duplicate]
) -> None:
    questions = [_shingles(texts[s.sample_id].question, texts[s.sample_id].ngram) for s in ordered]
    from datasketch import MinHash, MinHashLSH  # imported on use: it pulls in scipy (~0.7 s)

    hashes = MinHash.bulk([sorted(q) for q in questions], num_perm=settings.num_perm)
    # one index per image set; choosing the band layout is costly, so it is done once and reused
    params = _band_params(settings)
    indexes: dict[tuple[str, ...], MinHashLSH] = {}
    kept: dict[str, tuple[set[bytes], set[bytes]]] = {}
    for sample, question, mh in zip(ordered, questions, hashes, strict=True):
        if not question:
            continue  # an empty question is the rules' business
        text = texts[sample.sample_id]
        key = tuple(sorted(sample.images))
        index = indexes.get(key)
        if index is None:
            index = indexes[key] = MinHashLSH(num_perm=settings.num_perm, params=params)
        answer = _shingles(text.answers, text.ngram)
        match = None
        # LSH candidates are only probably similar: confirm with the true Jaccard of questions, then of answers
        for candidate in sorted(index.query(mh)):
            other_question, other_answer = kept[candidate]
            similarity = _jaccard(question, other_question)
            if similarity >= settings.threshold and _jaccard(answer, other_answer) >= settings.answer_threshold:
                match = (candidate, similarity)
                break
        if match:
            dropped[sample.sample_id] = Duplicate("near_duplicate", match[0], round(match[1], 3))
        else:
            index.insert(sample.sample_id, mh)
            kept[sample.sample_id] = (question, answer)


def _jaccard(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _band_params(settings: DedupSettings) -> tuple[int, int]:
    # candidates are confirmed with the true Jaccard, so false positives cost little and misses are what count:
    # weigh misses heavily (at the threshold ~95% of pairs become candidates, against ~40% with equal weights)
    from datasketch import MinHashLSH

    probe = MinHashLSH(threshold=settings.threshold, num_perm=settings.num_perm, weights=(0.05, 0.95))
    return probe.b, probe.r


def _cap_per_image(ordered: list[Sample], cap: int, dropped: dict[str, Duplicate]) -> None:
    count: Counter[str] = Counter()
    first: dict[str, str] = {}
    for s in ordered:
        full = next((img for img in s.images if count[img] >= cap), None)
        if full is not None:
            dropped[s.sample_id] = Duplicate("image_cap", first[full])
            continue
        for img in s.images:
            count[img] += 1
            first.setdefault(img, s.sample_id)
