"""Fit the ultrasound classifier's weights on real pictures and check them on sources held out from the fit.

    .venv/bin/python scripts/fit_ultrasound.py [--random 6] [--l2 1.0]

The pictures and the scanner that degrades them are those of tests/ultrasound_cases.py (install the `dev` extra for
the package-shipped ones). Each labelled picture is measured clean, in the tests' scanner forms and in `--random`
more drawn from the same ranges. A logistic model over `remud_gen.extract.ultrasound.features` is then fitted once
per source with that source left out (BUSI, each paper, pydicom's US/MR/CT/NM files, nibabel's MR, scikit-image) and
scored on it: that held-out accuracy is the number to quote. Last, the model is fitted on everything and its
weights are printed in the form `WEIGHTS`/`BIAS` take in remud_gen/extract/ultrasound.py.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ultrasound_cases import FORMS, Form, degrade, real_cases  # noqa: E402

from remud_gen.extract.ultrasound import features, score_features  # noqa: E402


def random_forms(n: int, seed: int) -> list[Form]:
    """`n` scanner settings drawn across the same ranges as FORMS (the tests keep to FORMS)."""
    rng = np.random.default_rng(seed)
    return [
        Form(
            f"random{k}",
            int(rng.integers(72, 301)),
            int(rng.integers(60, 96)),
            float(rng.uniform(0, 1.3)),
            float(rng.uniform(0, 5)),
            int(rng.integers(0, 11)),
            (int(rng.integers(238, 256)), int(rng.integers(238, 256)), int(rng.integers(232, 256))),
        )
        for k in range(n)
    ]


def fit(x: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """Class-balanced L2 logistic regression by Newton's method; weights in the features' own units."""
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    z = np.c_[(x - mu) / sd, np.ones(len(x))]
    sw = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    reg = l2 * np.diag(np.r_[np.ones(x.shape[1]), 0.0]) / len(y)
    w = np.zeros(z.shape[1])
    for _ in range(40):
        p = 1 / (1 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (sw * (p - y)) / len(y) + reg @ w
        hess = (z * (sw * p * (1 - p))[:, None]).T @ z / len(y) + reg
        w -= np.linalg.solve(hess + 1e-6 * np.eye(len(w)), grad)
    raw = w[:-1] / sd
    return raw, float(w[-1] - raw @ mu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--random", type=int, default=6, help="random scanner forms per picture, besides the tests' forms")
    ap.add_argument("--l2", type=float, default=1.0, help="L2 penalty on the standardised weights")
    args = ap.parse_args()
    names: list[str] = []
    rows, labels, sources, keys, measured = [], [], [], [], []
    for i, case in enumerate(c for c in real_cases() if c.label is not None):
        forms = [*FORMS, *random_forms(args.random, seed=i)]
        for pixels in [case.rgb] + [degrade(case, f, seed=k) for k, f in enumerate(forms)]:
            f = features(pixels)
            if f is None:
                continue
            names = list(f)
            measured.append(f)
            rows.append([f[k] for k in names])
            labels.append(1.0 if case.label else 0.0)
            sources.append(case.source)
            keys.append(case.key)
    x, y, src = np.array(rows), np.array(labels), np.array(sources)
    print(f"{len(set(keys))} pictures, {len(y)} measurements ({int(y.sum())} ultrasound)")
    right, misses = 0, Counter()
    for s in sorted(set(sources)):
        held = src == s
        w, b = fit(x[~held], y[~held], args.l2)
        weights = dict(zip(names, w, strict=True))
        said = np.array([score_features(f, weights, b) >= 0.5 for f, h in zip(measured, held, strict=True) if h])
        ok = said == (y[held] == 1)
        right += int(ok.sum())
        misses.update(k for k, good in zip(np.array(keys)[held], ok, strict=True) if not good)
        print(f"  held out {s:12s} {ok.mean():6.1%} of {held.sum()}")
    print(f"held-out accuracy {right / len(y):.1%}")
    for key, n in misses.most_common():
        print(f"  missed {n:2d}x {key}")
    w, b = fit(x, y, args.l2)
    print("WEIGHTS = {")
    for k, v in zip(names, w, strict=True):
        print(f'    "{k}": {v:.1f},')
    print(f"}}\nBIAS = {b:.1f}")


if __name__ == "__main__":
    main()
