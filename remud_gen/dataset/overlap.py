"""Which training items leak a test item: a shared 12-gram, a MinHash near duplicate, or the same image.

Only the human turns (question and options) are compared: a test question seen in training is a leak, while
the same textbook sentence quoted in two answers is the book being taught, not the test.

Units of the n-grams: each CJK character is one unit and each run of Latin letters or digits is one, after
NFKC and case folding, with punctuation and spaces dropped. ReMUD's 12-gram check is over tokens; Chinese has
no spaces and its tokenisers spend about one token per character, so characters are its natural unit, and a
mixed sentence ("B超示肝内 hyperechoic 灶") is cut the same way whatever its main language. MinHash works on
character shingles of the text as the filter's duplicate check normalises it
(`remud_gen.filter.dedup.normalise`), so a reworded question whose n-grams all differ is still caught.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from remud_gen.dataset.settings import SplitSettings
from remud_gen.filter.dedup import normalise
from remud_gen.text.lang import HAN

if TYPE_CHECKING:
    from datasketch import MinHash

_UNIT_RE = re.compile(rf"[{HAN}]|[^\W_{HAN}]+")
_SHINGLE = {"zh": 2, "en": 3}  # as the filter's near-duplicate check (dedup ngram_size_zh / ngram_size)


@dataclass(frozen=True)
class Question:
    """The part of a record that is compared: its id, human turns, language and images."""

    id: str
    text: str
    language: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class Leak:
    """Why a training item was dropped: which test item it leaks and the evidence."""

    reason: str  # "same_image", "ngram" or "minhash"
    test_id: str
    evidence: str

    def as_dict(self, train_id: str) -> dict[str, str]:
        return {"id": train_id, "reason": self.reason, "test_id": self.test_id, "evidence": self.evidence}


def units(text: str) -> list[str]:
    """The n-gram units of ``text``: CJK characters and Latin/digit words, normalised."""
    return _UNIT_RE.findall(unicodedata.normalize("NFKC", text.replace("<image>", " ")).casefold())


def ngrams(text: str, n: int) -> Iterator[str]:
    """Every n-gram of units of ``text`` (none when it has fewer than n units), as one string."""
    seq = units(text)
    for i in range(len(seq) - n + 1):
        yield "\x1f".join(seq[i : i + n])


def shingles(text: str, language: str) -> set[bytes]:
    """Character shingles of the normalised text, for MinHash."""
    flat = normalise(text)
    n = _SHINGLE.get(language, 3)
    if len(flat) <= n:
        return {flat.encode()} if flat else set()
    return {s.encode() for s in {flat[i : i + n] for i in range(len(flat) - n + 1)}}


class LeakFinder:
    """An index of the test questions that tells, for any training question, which test item it leaks.

    Args:
        tests: the test questions.
        settings: n-gram size, MinHash threshold and permutations, and whether a shared image is a leak.
    """

    def __init__(self, tests: Sequence[Question], settings: SplitSettings) -> None:
        from datasketch import MinHash, MinHashLSH  # imported on use: it pulls in scipy

        self._minhash = MinHash
        self.settings = settings
        self.grams: dict[str, str] = {}
        self.images: dict[str, str] = {}
        self.shingles: dict[str, set[bytes]] = {}
        for test in tests:
            for gram in ngrams(test.text, settings.ngram):
                self.grams.setdefault(gram, test.id)
            for image in test.images:
                self.images.setdefault(image, test.id)
            self.shingles[test.id] = shingles(test.text, test.language)
        # weigh misses heavily: candidates are confirmed with the true Jaccard, and a missed leak stays missed
        self.index = MinHashLSH(settings.minhash_threshold, settings.num_perm, weights=(0.05, 0.95))
        hashes = self._bulk([list(s) for s in self.shingles.values()])
        for test_id, mh in zip(self.shingles, hashes, strict=True):
            if self.shingles[test_id]:
                self.index.insert(test_id, mh)

    def find(self, questions: Sequence[Question]) -> dict[str, Leak]:
        """The training questions that leak a test item, by id (first found of: image, n-gram, MinHash)."""
        leaks: dict[str, Leak] = {}
        rest = []
        for q in questions:
            leak = self._by_image(q) or self._by_ngram(q)
            if leak is not None:
                leaks[q.id] = leak
            else:
                rest.append(q)
        own = [shingles(q.text, q.language) for q in rest]
        hashes = self._bulk([list(s) for s in own])
        for q, mine, mh in zip(rest, own, hashes, strict=True):
            leak = self._by_minhash(mine, mh) if mine else None
            if leak is not None:
                leaks[q.id] = leak
        return leaks

    def _bulk(self, sets: list[list[bytes]]) -> list[MinHash]:
        # crc32 instead of datasketch's default sha1: 4x faster over 40k items, and a candidate is confirmed
        # with the true Jaccard anyway, so the hash only has to spread shingles, not resist anyone
        return self._minhash.bulk(sets, num_perm=self.settings.num_perm, hashfunc=zlib.crc32)

    def _by_image(self, q: Question) -> Leak | None:
        if not self.settings.same_image:
            return None
        hit = next((image for image in q.images if image in self.images), None)
        return Leak("same_image", self.images[hit], hit) if hit is not None else None

    def _by_ngram(self, q: Question) -> Leak | None:
        for gram in ngrams(q.text, self.settings.ngram):
            test_id = self.grams.get(gram)
            if test_id is not None:
                return Leak("ngram", test_id, _show(gram))
        return None

    def _by_minhash(self, mine: set[bytes], mh: MinHash) -> Leak | None:
        best: tuple[float, str] | None = None
        for test_id in sorted(self.index.query(mh)):
            theirs = self.shingles[test_id]
            similarity = len(mine & theirs) / len(mine | theirs)
            if similarity >= self.settings.minhash_threshold and (best is None or similarity > best[0]):
                best = (similarity, test_id)
        return Leak("minhash", best[1], f"Jaccard {best[0]:.3f}") if best is not None else None


def _show(gram: str) -> str:
    parts = gram.split("\x1f")
    # CJK units read as one string; words need their spaces back
    return "".join(parts) if all(len(p) == 1 for p in parts) else " ".join(parts)
