"""Build grounded strings (passages, evidence, traces, questions, options) out of source sentences.

Every string the stand-in writes comes from here, so every string is either a verbatim source sentence or
source sentences glued with a few fixed words in the source's own language.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterator

from remud_gen.stub.text import analyse

_STEP = {"zh": "第{n}步：", "en": "Step {n}: "}
_QUESTIONS = {
    "zh": ("根据原文，关于{t}的描述是什么？", "原文中如何描述{t}？", "关于{t}，下列哪项说法正确？"),
    "en": (
        "According to the source, what is stated about {t}?",
        "What does the text say about {t}?",
        "Which statement best describes {t}?",
    ),
}
# The subject of a sentence usually ends where its verb starts; these cut a topic phrase there.
_EN_VERBS = frozenset(
    {
        *("is", "are", "was", "were", "be", "been", "has", "have", "had", "can", "may", "might", "must"),
        *("should", "will", "would", "could", "does", "do", "did", "lies", "lie", "appears", "appear", "shows"),
        *("show", "measures", "measure", "connects", "connect", "indicates", "indicate", "suggests", "represents"),
        *("contains", "consists", "occurs", "include", "includes", "which", "that", "who", "with", "when", "where"),
    }
)
_ZH_VERBS = ("位于", "表现为", "显示", "是", "为", "呈", "可", "伴", "通常", "常", "应", "需", "由", "与", "在")
_CLAUSE_RE = re.compile(r"[,;:，；：、]\s*")
_TRAIL_RE = re.compile(r"[\s.,;:!?。，；：！？、\"'“”()（）]+$")


class Composer:
    """Deterministic writer of source-derived strings for one request.

    Args:
        source: the material to quote (already stripped of `<source>` tags).
        rng: the request's random generator; all choices go through it so answers are reproducible.
    """

    def __init__(self, source: str, rng: random.Random) -> None:
        self.rng = rng
        material = analyse(source)
        self.lang = material.lang
        self.sents = material.sentences
        self.flat = material.lowered
        self._verbatim = material.verbatim

    def join(self, parts: list[str] | tuple[str, ...]) -> str:
        """Join sentences the way the language writes them (no spaces between Chinese sentences)."""
        return ("" if self.lang == "zh" else " ").join(parts)

    def sentence(self) -> str:
        """One source sentence, possibly with a figure mention cut out."""
        return self.rng.choice(self.sents).text

    def passage(self, k: int) -> str:
        """Up to `k` consecutive source sentences, starting at a random one."""
        k = max(1, min(k, len(self.sents)))
        start = self.rng.randrange(len(self.sents) - k + 1)
        return self.join([s.text for s in self.sents[start : start + k]])

    def verbatim(self, k: int) -> list[str]:
        """Up to `k` distinct sentences copied exactly from the source, in source order."""
        k = max(1, min(k, len(self._verbatim)))
        picked = sorted(self.rng.sample(range(len(self._verbatim)), k))
        return [self._verbatim[i] for i in picked]

    def trace(self, low: int = 3, high: int = 5) -> str:
        """A step-by-step reasoning trace of `low`..`high` consecutive source sentences."""
        k = min(self.rng.randint(low, high), len(self.sents))
        start = self.rng.randrange(len(self.sents) - k + 1)
        steps = self.sents[start : start + k]
        step = _STEP[self.lang]
        return "\n".join(step.format(n=i + 1) + s.text for i, s in enumerate(steps))

    def topic(self) -> str:
        """A short subject phrase taken from the start of a source sentence."""
        text = self.sentence()
        if self.lang == "zh":
            head = _CLAUSE_RE.split(text)[0][:12]
            cuts = [i for v in _ZH_VERBS if (i := head.find(v, 2)) > 0]
            head = head[: min(cuts)] if cuts else head
        else:
            words = text.split()[:6]
            stop = next((i for i, w in enumerate(words) if i and w.lower() in _EN_VERBS), len(words))
            head = " ".join(words[:stop])
            if head[:1].isupper() and not head.split()[0].isupper():
                head = head[0].lower() + head[1:]
        return _TRAIL_RE.sub("", head) or text

    def question(self) -> str:
        """A question about the source, ending in "?" (or "？" for Chinese material)."""
        return self.rng.choice(_QUESTIONS[self.lang]).format(t=self.topic())

    def options(self, k: int, max_len: int | None = None) -> list[str]:
        """`k` distinct answer options built from source clauses, each at most `max_len` characters.

        Raises:
            ValueError: `max_len` is too small to write `k` distinct options.
        """
        min_len = 2 if self.lang == "zh" else 8
        pool = [c for s in self.sents for c in _CLAUSE_RE.split(s.text) if len(c) >= min_len]
        pool += [s.text for s in self.sents]
        self.rng.shuffle(pool)
        out: list[str] = []
        for candidate in itertools.chain(pool, self._windows()):
            # Options read as phrases, and "X" and "X." must not count as two different options.
            text = _TRAIL_RE.sub("", candidate[:max_len] if max_len else candidate).strip()
            if text and text not in out:
                out.append(text)
            if len(out) == k:
                return out
        # A one-line source cannot give k distinct spans; numbered variants keep the options distinct.
        base = out[0] if out else self.sents[0].text
        for n in range(2, 10_000):
            suffix = f" ({n})"
            text = base[: max_len - len(suffix)] + suffix if max_len else base + suffix
            if max_len and len(text) > max_len:
                text = str(n)[:max_len]
            if text not in out:
                out.append(text)
            if len(out) == k:
                return out
        raise ValueError(f"cannot write {k} distinct options of at most {max_len} characters")

    def _windows(self) -> Iterator[str]:
        # Sliding windows over the whole text give many distinct spans even from a single sentence.
        flat = self.join([s.text for s in self.sents])
        if self.lang == "zh":
            yield from (flat[i : i + 10] for i in range(0, max(1, len(flat) - 9), 5))
            return
        words = flat.split()
        yield from (" ".join(words[i : i + 5]) for i in range(0, max(1, len(words) - 4), 2))
