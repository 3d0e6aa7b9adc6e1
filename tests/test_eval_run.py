"""eval against the stand-in in exam mode: pass@1 exactly as expected, failures listed, nothing asked twice.

The stand-in answers a question marked ``[[exam id=Q key=X]]`` right when a seeded draw on (exam_seed, Q, the
request's seed) falls below ``exam_accuracy`` (see remud_gen/stub/exam.py). The tests recompute that draw
here, from the documented rule, to know which samples must be right.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.dataset.formats import ImageUrls, to_openai
from remud_gen.errors import ConfigError, InputError
from remud_gen.eval import run as eval_stage
from remud_gen.eval.items import load
from remud_gen.eval.settings import BudgetForcingSettings, EvalSettings
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.settings import EndpointSettings
from remud_gen.stub import BackgroundStub

ACCURACY = 0.6
EXAM_SEED = 11
SEED = 100  # sample i is sent with seed SEED + i
OPTIONS = {
    "en": [
        "Anechoic with posterior enhancement",
        "Hyperechoic with shadowing",
        "Solid and hypoechoic",
        "Mixed",
    ],
    "zh": ["无回声，后方回声增强", "强回声伴声影", "实性低回声", "混合回声"],
}
QUESTION = {
    "en": "Which finding is typical of a simple hepatic cyst on ultrasound?",
    "zh": "单纯性肝囊肿的典型超声表现是？",
}


def right(qid: str, seed: int) -> bool:
    """The stand-in's documented rule, recomputed independently."""
    digest = hashlib.blake2b(f"{EXAM_SEED}|{qid}|{seed}|0".encode(), digest_size=16).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < ACCURACY


def record(
    qid: str, key: str, lang: str = "en", kind: str = "qa-reasoning", region: str = "liver", **extra: Any
) -> dict[str, Any]:
    style = f" style={extra.pop('style')}" if "style" in extra else ""
    options = "\n".join(f"{letter}. {text}" for letter, text in zip("ABCD", OPTIONS[lang], strict=True))
    image = "<image>" if extra.get("images") else ""
    human = f"{image}{QUESTION[lang]} [[exam id={qid} key={key}{style}]]\n{options}"
    answer = extra.pop("answer", f"<think>\nreasoning\n</think>\n\n<answer>{key}</answer>")
    return {
        "conversations": [
            {"from": "system", "value": "You are a helpful ultrasound medicine assistant."},
            {"from": "human", "value": human},
            {"from": "gpt", "value": answer},
        ],
        "images": extra.pop("images", []),
        "id": qid,
        "kind": kind,
        "language": lang,
        "region": region,
        **extra,
    }


def questions() -> list[dict[str, Any]]:
    """Twelve questions over two kinds, three regions and both languages, keys spread over A-D."""
    out = []
    for i in range(12):
        lang = "zh" if i % 3 == 0 else "en"
        kind = "vqa-reasoning" if i % 2 else "qa-reasoning"
        region = ("liver", "thyroid", "breast")[i % 3 if i < 9 else 0]
        images = ["./images/scan.png"] if kind == "vqa-reasoning" else []
        out.append(record(f"q{i:02d}", "ABCD"[i % 4], lang, kind, region, images=images))
    return out


def write_data(folder: Path, records: list[dict[str, Any]], name: str = "test.json") -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (96, 64), (70, 70, 70)).save(folder / "images" / "scan.png")
    path = folder / name
    if name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def exam() -> Iterator[BackgroundStub]:
    with BackgroundStub(exam_accuracy=ACCURACY, exam_seed=EXAM_SEED) as server:
        yield server


def endpoint(stub: BackgroundStub) -> EndpointSettings:
    return EndpointSettings(base_url=stub.base_url, model="stand-in", concurrency=8, max_retries=1)


IMAGE_PROBE = 3  # the same text as a string, as content parts, and with an image (see remud_gen/llm/probe.py)


def chats(stub: BackgroundStub) -> int:
    return int(stub.stats()["by_path"].get("/v1/chat/completions", 0))


def expected_score(records: list[dict[str, Any]], k: int) -> Fraction:
    hits = sum(right(r["id"], SEED + i) for r in records for i in range(k))
    return Fraction(hits, k * len(records))


def test_pass_at_1_equals_the_expected_value_for_a_fixed_seed(exam: BackgroundStub, tmp_path: Path) -> None:
    records = questions()
    data = write_data(tmp_path, records)
    result = eval_stage.run(
        data, EvalSettings(seed=SEED), ModelAccess(endpoint(exam), "x"), out=tmp_path / "preds.jsonl"
    )

    expected = expected_score(records, 4)
    assert 0 < expected < 1  # the check can fail both ways
    scores = result.report["scores"]
    assert scores["overall"]["pass@1"] == float(expected)
    assert scores["overall"]["ci_low"] <= float(expected) <= scores["overall"]["ci_high"]
    for field in ("kind", "region", "language"):
        for name, group in scores[f"by_{field}"].items():
            members = [r for r in records if r[field] == name]
            assert group["pass@1"] == float(expected_score(members, 4)), (field, name)
            assert group["questions"] == len(members)
    assert result.report["parse_failure_rate"] == 0.0
    assert result.report["questions"]["scored"] == 12
    lines = [json.loads(line) for line in (tmp_path / "preds.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == [r["id"] for r in records]
    for line in lines:
        assert [s["seed"] for s in line["samples"]] == [SEED + i for i in range(4)]
        assert [s["correct"] for s in line["samples"]] == [right(line["id"], SEED + i) for i in range(4)]
        assert all(s["found_by"] == "tag" for s in line["samples"])
    assert json.loads(result.report_path.read_text(encoding="utf-8"))["scores"] == scores
    assert result.report_path.parent == tmp_path / "test.json.eval"


def test_rerun_sends_no_requests_and_a_larger_k_only_the_new_samples(exam: BackgroundStub, tmp_path: Path) -> None:
    data = write_data(tmp_path, questions()[:5])
    first = eval_stage.run(data, EvalSettings(seed=SEED, k=2), ModelAccess(endpoint(exam), "x"))
    before = chats(exam)
    again = eval_stage.run(data, EvalSettings(seed=SEED, k=2), ModelAccess(endpoint(exam), "x"))
    assert chats(exam) == before
    assert again.report["scores"] == first.report["scores"]
    assert again.report["requests"]["from_journal"] == 10 and again.report["requests"]["http_attempts"] == 0
    eval_stage.run(data, EvalSettings(seed=SEED, k=3), ModelAccess(endpoint(exam), "x"))
    assert chats(exam) == before + 5  # samples 0 and 1 of each question come from the journal
    eval_stage.run(data, EvalSettings(seed=SEED, k=2, temperature=0.9), ModelAccess(endpoint(exam), "x"))
    assert chats(exam) == before + 15  # other sampling settings are other requests


@pytest.mark.parametrize(
    ("style", "found_by"),
    [("final", "final"), ("lone", "lone"), ("none", None)],
)
def test_answers_without_tags_use_the_fallbacks_and_unreadable_ones_count_as_wrong(
    exam: BackgroundStub, tmp_path: Path, style: str, found_by: str | None
) -> None:
    records = [record("t0", "A"), record("t1", "B", "zh", style=style), record("t2", "C", style=style)]
    data = write_data(tmp_path, records)
    result = eval_stage.run(data, EvalSettings(seed=SEED), ModelAccess(endpoint(exam), "x"), out=tmp_path / "p.jsonl")
    lines = {line["id"]: line for line in map(json.loads, (tmp_path / "p.jsonl").read_text().splitlines())}
    for qid in ("t1", "t2"):
        assert {s["found_by"] for s in lines[qid]["samples"]} == {found_by}
    failures = result.report["parse_failures"]
    if style == "none":
        assert len(failures) == 8 and {f["id"] for f in failures} == {"t1", "t2"}
        assert result.report["parse_failure_rate"] == 8 / 12
        expected = Fraction(sum(right("t0", SEED + i) for i in range(4)), 12)
    else:
        assert failures == []
        expected = expected_score(records, 4)
    assert result.report["scores"]["overall"]["pass@1"] == float(expected)


def test_bad_keys_are_reported_not_dropped_silently(exam: BackgroundStub, tmp_path: Path) -> None:
    records = [
        record("good", "B"),
        record("key-f", "F"),
        record("key-text", "B", answer="<answer>肝囊肿</answer>"),
        record("open", "B", answer="A cyst is anechoic with posterior enhancement."),
        record("no-image", "A", kind="vqa-reasoning", images=["images/missing.png"]),
        {"conversations": "broken"},
    ]
    data = write_data(tmp_path, records)
    result = eval_stage.run(data, EvalSettings(seed=SEED, k=1), ModelAccess(endpoint(exam), "x"))
    q = result.report["questions"]
    assert q["records"] == 6 and q["scored"] == 1 and q["not_mcq"] == 1
    assert q["bad_keys"] == [{"id": "key-f", "key": "F"}, {"id": "key-text", "key": "肝囊肿"}]
    reasons = {p["id"]: p["reason"] for p in q["unreadable"]}
    assert "missing image images/missing.png" in reasons["no-image"]
    assert len(reasons) == 2
    notes = " ".join(result.stage.notes)
    assert "2 question(s) whose key is not one of the option letters" in notes
    assert result.stage.problems and "could not be asked" in result.stage.problems[0]


def test_images_follow_their_tokens_and_resolve_relative_to_the_file(tmp_path: Path) -> None:
    one = record("v1", "A", kind="vqa-reasoning", images=["./images/scan.png"])
    two = record("v2", "A", kind="vqa-reasoning", images=["images/scan.png", str(tmp_path / "images" / "scan.png")])
    two["conversations"][1]["value"] = "<image><image>" + two["conversations"][1]["value"].replace("<image>", "")
    untagged = record("v3", "A", images=["images/scan.png"])  # no <image> token: attached to the question
    data = write_data(tmp_path / "sub", [one, two, untagged])
    (tmp_path / "images").mkdir(exist_ok=True)
    Image.new("RGB", (8, 8)).save(tmp_path / "images" / "scan.png")
    items = {item.id: item for item in load(data, "ABCDE").items}
    scan = tmp_path / "sub" / "images" / "scan.png"
    assert [m.images for m in items["v1"].turns] == [(scan,)]
    assert items["v2"].turns[0].images == (scan, tmp_path / "images" / "scan.png")
    assert items["v3"].turns[0].images == (scan,)
    assert all("<image>" not in m.text for item in items.values() for m in item.turns)
    assert items["v1"].system == "You are a helpful ultrasound medicine assistant."


def test_jsonl_and_openai_chat_files_are_read_like_json(exam: BackgroundStub, tmp_path: Path) -> None:
    records = questions()[:4]
    data = write_data(tmp_path, records, "test.jsonl")
    result = eval_stage.run(data, EvalSettings(seed=SEED, k=2), ModelAccess(endpoint(exam), "x"))
    assert result.report["scores"]["overall"]["pass@1"] == float(expected_score(records, 2))
    # an OpenAI chat file whose images are paths relative to it (filter writes data URLs, which eval cannot read)
    chats_file = tmp_path / "test.openai.jsonl"
    chats_file.write_text("".join(json.dumps(to_openai(r)) + "\n" for r in records), encoding="utf-8")
    items = load(chats_file, "ABCDE").items
    assert len(items) == 4 and items[1].turns[-1].images == (tmp_path / "images" / "scan.png",)
    result = eval_stage.run(chats_file, EvalSettings(seed=SEED, k=2), ModelAccess(endpoint(exam), "x"))
    assert result.report["scores"]["overall"]["pass@1"] == float(expected_score(records, 2))
    # the uploadable file filter writes inlines its images: said in one short line per item, not a megabyte
    inline = tmp_path / "inline.openai.jsonl"
    urls = ImageUrls(tmp_path)
    inline.write_text("".join(json.dumps(to_openai(r, urls)) + "\n" for r in records), encoding="utf-8")
    problems = load(inline, "ABCDE").problems
    assert problems and all("eval reads test.json" in p["reason"] and len(p["reason"]) < 120 for p in problems)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("{not json", "is not valid JSON"),
        ('{"conversations": []}', "must be a JSON array"),
        ("[]", "holds no multiple-choice question"),
    ],
)
def test_unusable_data_is_one_clear_error(tmp_path: Path, content: str | None, message: str) -> None:
    data = tmp_path / "test.json"
    if content is not None:
        data.write_text(content)
    with pytest.raises(InputError, match=message):
        eval_stage.run(data, EvalSettings(), ModelAccess(EndpointSettings(base_url="http://127.0.0.1:9/v1"), "x"))


def test_budget_forcing_continues_short_traces_and_is_journaled(exam: BackgroundStub, tmp_path: Path) -> None:
    records = questions()[:4]
    data = write_data(tmp_path, records)
    forcing = BudgetForcingSettings(enabled=True, min_tokens=100_000, max_waits=2)
    settings = EvalSettings(seed=SEED, k=2, budget_forcing=forcing)
    before = chats(exam)
    result = eval_stage.run(data, settings, ModelAccess(endpoint(exam), "x"), out=tmp_path / "p.jsonl")
    # each sample: the answer and two continuations; and, once, the probe that images reach the model
    assert chats(exam) - before == 8 * 3 + IMAGE_PROBE
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text(encoding="utf-8").splitlines()]
    for line in lines:
        word = "等等，" if line["language"] == "zh" else " Wait,"
        for sample in line["samples"]:
            assert sample["waits"] == 2 and sample["output"].count(word) == 2
            assert sample["output"].startswith("<think>") and sample["found_by"] == "tag"
    assert result.report["waits"] == {"2": 8}
    # the stand-in's continuation keeps the sample's draw: forcing changes the traces, not the expected score
    assert result.report["scores"]["overall"]["pass@1"] == float(expected_score(records, 2))
    eval_stage.run(data, settings, ModelAccess(endpoint(exam), "x"))
    assert chats(exam) - before == 24 + IMAGE_PROBE  # the answers and what the probe found come from WORK


def test_budget_forcing_says_clearly_when_the_endpoint_cannot_continue(tmp_path: Path) -> None:
    data = write_data(tmp_path, questions()[:2])
    settings = EvalSettings(k=1, budget_forcing=BudgetForcingSettings(enabled=True, min_tokens=100_000))
    with (
        BackgroundStub(exam_accuracy=1.0, continue_final_message=False) as stub,
        pytest.raises(ConfigError, match=r"continues an assistant message.*continue_final_message"),
    ):
        eval_stage.run(data, settings, ModelAccess(endpoint(stub), "x"))


def test_the_command(exam: BackgroundStub, tmp_path: Path) -> None:
    records = questions()[:6]
    data = write_data(tmp_path, records)
    preds = tmp_path / "preds.jsonl"
    args = ["eval", "--data", str(data), "--model", "stand-in", "--base-url", exam.base_url, "-k", "2"]
    args += ["--top-p", "0.7", "--temperature", "0.6", "--predictions", str(preds), "--work", str(tmp_path / "w")]
    config = tmp_path / "c.yaml"
    config.write_text(f"eval:\n  seed: {SEED}\n")
    result = CliRunner().invoke(app, [*args, "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "pass@1 of stand-in (k=2)" in result.output and "language: zh" in result.output
    assert f"{float(expected_score(records, 2)):.4f}" in result.output
    assert len(preds.read_text().splitlines()) == 6
    assert (tmp_path / "w" / "report-stand-in.json").is_file()
    missing = CliRunner().invoke(app, ["eval", "--data", str(tmp_path / "nope.json"), "--model", "m"])
    assert missing.exit_code == 2 and "nope.json does not exist" in missing.output
    assert "Traceback" not in missing.output
