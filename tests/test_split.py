"""`remud-gen split`: a stratified test set, no question leaking into training, a re-run that changes nothing.

The dataset is written by the filter's own shard writer. Every multiple-choice item has a "twin" that can
never be drawn (an open question): a copy embedding its question (shares 12-grams), a light paraphrase (every
6th word changed: no shared 12-gram, still a MinHash near duplicate), or an open question on the same image. A
twin must be removed exactly when its item goes to the test set.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.dataset.draw import allocate
from remud_gen.dataset.shards import OutputSettings, write_shards
from remud_gen.records import Generator, Sample, SourceRef, Turn
from remud_gen.workdir import WorkDir

SYSTEM = {"zh": "你是一名专业的超声医学助手。", "en": "You are a helpful ultrasound medicine assistant."}
OUTPUT = OutputSettings(shard_size=7)
SHARD = re.compile(r"^remud-(\d{5})-of-(\d{5})\.json$")
STRATA = [  # kind, region, language, MCQ items
    ("qa-reasoning", "liver", "en", 8),
    ("qa-reasoning", "thyroid", "zh", 8),
    ("vqa-reasoning", "breast", "en", 4),
    ("vqa-reasoning", "liver", "zh", 4),
]


def words(rng: random.Random, n: int) -> list[str]:
    # random syllables: unrelated texts share no 12-gram and few shingles, so any overlap found was planted
    return ["".join(rng.choice("bcdfghjklmnprstvwz") + rng.choice("aeiou") for _ in range(3)) for _ in range(n)]


def hanzi(rng: random.Random, n: int) -> str:
    return "".join(chr(0x4E00 + rng.randrange(6000)) for _ in range(n))


def sample(sid: str, kind: str, lang: str, region: str, question: str, **fields: Any) -> Sample:
    answer = fields.pop("reply", "An open answer." if lang == "en" else "开放式回答。")
    return Sample(
        sample_id=sid,
        kind=kind,
        language=lang,  # type: ignore[arg-type]
        region=region,
        turns=[Turn(role="user", text=question), Turn(role="assistant", text=answer)],
        source=SourceRef(doc="book.pdf", page=1),
        generator=Generator(model="m", prompt_file="p", prompt_sha256="0" * 64),
        **fields,
    )


def build(work: Path, seed: int = 0) -> list[Sample]:
    """24 MCQ items in four strata, a twin of each, and four unrelated open items."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    n = 0
    for kind, region, lang, count in STRATA:
        for _ in range(count):
            sid = f"m{n:03d}"
            image: list[str] = []
            if kind == "vqa-reasoning":
                image = [f"extract/images/{sid}.png"]
                (work / "extract" / "images").mkdir(parents=True, exist_ok=True)
                Image.new("L", (16, 16), color=n * 9 % 256).save(work / image[0])
            if lang == "en":
                question = " ".join(words(rng, 24)) + "?"
                options = {k: " ".join(words(rng, 4)) for k in "ABCDE"}
            else:
                question = hanzi(rng, 30) + "？"
                options = {k: hanzi(rng, 6) for k in "ABCDE"}
            key = "ABCDE"[n % 5]
            samples.append(
                sample(
                    sid,
                    kind,
                    lang,
                    region,
                    question,
                    options=options,
                    answer=key,
                    thinking="reasoning",
                    images=image,
                    reply=f"{key}. {options[key]}",
                )
            )
            samples.append(twin(sid, n, kind, lang, region, question, options, image))
            n += 1
    for i in range(4):
        lang = "en" if i % 2 else "zh"
        text = " ".join(words(rng, 20)) + "?" if lang == "en" else hanzi(rng, 25) + "？"
        samples.append(sample(f"z-open-{i}", "qa", lang, "other", text))
    return samples


def twin(sid: str, n: int, kind: str, lang: str, region: str, q: str, opts: dict[str, str], image: list[str]) -> Sample:
    listed = q + "\n" + "\n".join(f"{k}. {v}" for k, v in opts.items())
    if kind == "vqa-reasoning":
        text = "Describe this image." if lang == "en" else "描述这张图像。"
        return sample(f"t-image-{sid}", "vqa", lang, region, text, images=image)
    if lang == "en" and n % 2:
        tokens = listed.split(" ")
        paraphrase = " ".join(t + "s" if i % 6 == 5 else t for i, t in enumerate(tokens))
        return sample(f"t-minhash-{sid}", "qa", lang, region, paraphrase)
    prefix = "Explain in detail: " if lang == "en" else "请详细解释："
    return sample(f"t-ngram-{sid}", "qa", lang, region, prefix + listed)


def make_work(tmp_path: Path, seed: int = 0) -> Path:
    """A work directory as filter leaves it: shards, and the output settings they were written with."""
    work = tmp_path / "work"
    write_shards(build(work, seed), work, OUTPUT, SYSTEM)
    WorkDir(work).record("filter", status="done", config={"filter": {"output": OUTPUT.model_dump(mode="json")}})
    return work


def split(work: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["split", str(work), *args])
    return result.exit_code, result.output


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def training(work: Path) -> list[dict[str, Any]]:
    shards = sorted(p for p in (work / "dataset").iterdir() if SHARD.match(p.name))
    return [r for p in shards for r in read(p)]


def human(record: dict[str, Any]) -> str:
    return "\n".join(t["value"] for t in record["conversations"] if t["from"] == "human")


def grams(text: str, n: int = 12) -> set[tuple[str, ...]]:
    """12-grams over CJK characters and Latin words, written here independently of remud_gen.dataset.overlap."""
    units = re.findall(r"[\u4e00-\u9fff]|[a-z0-9]+", text.lower())
    return {tuple(units[i : i + n]) for i in range(len(units) - n + 1)}


def all_grams(records: list[dict[str, Any]]) -> set[tuple[str, ...]]:
    return set().union(*(grams(human(r)) for r in records))


def test_split_holds_out_a_stratified_test_set_with_no_leak(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    before = training(work)
    code, output = split(work, "--test-size", "0.25")
    assert code == 0, output
    dataset = work / "dataset"
    test, train = read(dataset / "test.json"), training(work)

    # stratified: each (kind, region) gets its largest-remainder share of 6 items
    shares = allocate({f"{k}|{r}": c for k, r, _, c in STRATA}, 6)
    assert shares == {
        "qa-reasoning|liver": 2,
        "qa-reasoning|thyroid": 2,
        "vqa-reasoning|breast": 1,
        "vqa-reasoning|liver": 1,
    }
    for label, share in shares.items():
        kind, region = label.split("|")
        assert sum(1 for r in test if (r["kind"], r["region"]) == (kind, region)) == share
    assert all("<answer>" in r["conversations"][-1]["value"] for r in test)

    # no leak: no shared 12-gram (though the dataset had them), no twin of a test item, no test image
    assert all_grams(test) & all_grams(before)
    assert not all_grams(test) & all_grams(train)
    test_ids = {r["id"] for r in test}
    train_ids = {r["id"] for r in train}
    twins = {r["id"] for r in before if r["id"].startswith("t-")}
    leaked = {t for t in twins if t.rsplit("-", 1)[1] in test_ids}
    assert leaked and not leaked & train_ids
    assert twins - leaked <= train_ids  # twins of training items stay
    assert {r["id"] for r in before} == test_ids | train_ids | leaked
    assert not {i for r in test for i in r["images"]} & {i for r in train for i in r["images"]}

    report = read(work / "split" / "report.json")
    reasons = {row["id"]: row["reason"] for row in report["removed"]}
    assert set(reasons) == leaked
    expected = {"t-ngram": "ngram", "t-minhash": "minhash", "t-image": "same_image"}
    assert all(reasons[t] == expected[t[: t.rindex("-")]] for t in leaked)
    assert report["counts"] == {"source": len(before), "test": 6, "train": len(train), "removed": len(leaked)}

    # the layout LLaMA-Factory reads: test.json beside the shards, images resolvable, one info entry per file
    for record in test:
        assert all((dataset / image).is_file() for image in record["images"])
    info = read(dataset / "dataset_info.json")
    shard_files = sorted(p.name for p in dataset.iterdir() if SHARD.match(p.name))
    assert len(shard_files) == math.ceil(len(train) / 7)
    assert all(SHARD.match(name).group(2) == f"{len(shard_files):05d}" for name in shard_files)  # type: ignore[union-attr]
    assert sorted(v["file_name"] for k, v in info.items() if k != "remud-test") == shard_files
    assert info["remud-test"]["file_name"] == "test.json" and info["remud-test"]["formatting"] == "sharegpt"
    assert "removed as leaks" in output and "test: 6 items" in output


def test_every_kind_of_leak_is_caught_when_its_item_is_drawn(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    assert split(work, "--test-size", "23")[0] == 0  # all but one MCQ item: every twin kind is exercised
    reasons = {row["reason"] for row in read(work / "split" / "report.json")["removed"]}
    assert reasons == {"ngram", "minhash", "same_image"}
    assert not all_grams(read(work / "dataset" / "test.json")) & all_grams(training(work))


def test_a_rerun_changes_nothing_and_other_settings_split_the_original_dataset(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    source = training(work)
    assert split(work, "--test-size", "6")[0] == 0
    files = {p.name: p.read_bytes() for p in (work / "dataset").iterdir() if p.is_file()}
    code, output = split(work, "--test-size", "6")
    assert code == 0 and "up to date" in output
    assert {p.name: p.read_bytes() for p in (work / "dataset").iterdir() if p.is_file()} == files

    # a bigger test set is drawn from the dataset as filter wrote it, not from the split training set
    assert split(work, "--test-size", "10")[0] == 0
    test = read(work / "dataset" / "test.json")
    removed = read(work / "split" / "report.json")["removed"]
    assert len(test) == 10
    assert len(test) + len(training(work)) + len(removed) == len(source)
    # and going back gives the first split again, byte for byte
    assert split(work, "--test-size", "6")[0] == 0
    assert {p.name: p.read_bytes() for p in (work / "dataset").iterdir() if p.is_file()} == files


def test_the_draw_depends_on_the_seed_not_on_the_order(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    config = tmp_path / "c.yaml"
    assert split(work, "--test-size", "6")[0] == 0
    first = {r["id"] for r in read(work / "dataset" / "test.json")}
    config.write_text("split:\n  seed: 1\n")
    assert split(work, "--test-size", "6", "-c", str(config))[0] == 0
    assert {r["id"] for r in read(work / "dataset" / "test.json")} != first

    shuffled = tmp_path / "shuffled"
    samples = build(shuffled)
    random.Random(5).shuffle(samples)
    write_shards(samples, shuffled, OutputSettings(shard_size=5), SYSTEM)
    assert split(shuffled, "--test-size", "6")[0] == 0
    assert {r["id"] for r in read(shuffled / "dataset" / "test.json")} == first


def test_shards_rewritten_by_filter_are_the_new_source(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    assert split(work, "--test-size", "6")[0] == 0
    extra = sample(
        "m999",
        "qa-reasoning",
        "en",
        "liver",
        "A brand new question about the liver?",
        options={k: f"option {k}" for k in "ABCDE"},
        answer="A",
        thinking="t",
    )
    write_shards([*build(work), extra], work, OUTPUT, SYSTEM)  # what a filter re-run does
    assert split(work, "--test-size", "6")[0] == 0
    report = read(work / "split" / "report.json")
    assert report["counts"]["source"] == len(build(work)) + 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test-size", "lots"], "--test-size 'lots'"),
        (["--test-size", "24"], "would leave no multiple-choice item"),
        (["--test-size", "0.001"], "is empty"),
        (["--test-size", "2.5"], "a number of items"),
    ],
)
def test_bad_test_sizes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    work = make_work(tmp_path)
    code, output = split(work, *args)
    assert code == 2 and message in output and "Traceback" not in output


def test_split_before_filter_says_what_to_run(tmp_path: Path) -> None:
    code, output = split(tmp_path)
    assert code == 2 and "remud-gen filter" in output


def test_a_lost_source_after_a_split_is_explained(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    assert split(work, "--test-size", "6")[0] == 0
    (work / "split" / "source.json").unlink()
    assert split(work, "--test-size", "6")[0] == 0  # nothing to redo: still fine
    code, output = split(work, "--test-size", "8")
    assert code == 2 and "cannot be split again" in output


def test_other_dataset_info_entries_are_kept(tmp_path: Path) -> None:
    work = make_work(tmp_path)
    info_path = work / "dataset" / "dataset_info.json"
    info = read(info_path)
    info["mine"] = {"file_name": "mine.json"}
    info_path.write_text(json.dumps(info))
    assert split(work, "--test-size", "6")[0] == 0
    assert read(info_path)["mine"] == {"file_name": "mine.json"}
