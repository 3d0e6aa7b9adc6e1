"""WORK/dataset as its users get it: filter with every format, then split, on the generated atlas.

Every output must tell the same story: no item of test.json in any training file, in any format; the OpenAI file
passes OpenAI's published upload rules; the card and stats describe the split dataset.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from chunk_work import jsonl
from openai_rules import check_file
from test_filter_report import CHROMIUM, browse
from typer.testing import CliRunner

from remud_gen.cli import app
from remud_gen.eval.items import load
from remud_gen.eval.prompting import load_prompts, system_text
from remud_gen.eval.settings import EvalSettings
from remud_gen.prompts import PACKAGE_PROMPTS

runner = CliRunner()


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def split_work(stub: Any, extracted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The extracted atlas through synthesize, filter with every format (MCQs kept), then split."""
    work = shutil.copytree(extracted, tmp_path_factory.mktemp("split") / "work")
    cfg = work / "c.yaml"
    cfg.write_text("synthesize:\n  turns: 2\nfilter:\n  judge:\n    threshold: 1.0\n    blind_mismatch: flag\n")
    endpoint = ["--base-url", stub.base_url, "--model", "stand-in"]
    result = runner.invoke(app, ["synthesize", str(work), "-c", str(cfg), *endpoint])
    assert result.exit_code == 0, result.output
    every = ["--format", "sharegpt", "--format", "openai", "--format", "hf"]
    result = runner.invoke(app, ["filter", str(work), "-c", str(cfg), *endpoint, *every])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["split", str(work), "--test-size", "4"])
    assert result.exit_code == 0, result.output
    return work


def training_outputs(dataset: Path) -> dict[str, list[dict[str, Any]]]:
    """Every training output, by format, as rows with an "id" and the text of their human turns."""
    datasets = pytest.importorskip("datasets", reason="the optional hf extra is not installed")
    shards = [r for p in sorted(dataset.glob("remud-*-of-*.json")) for r in read(p)]
    hf = datasets.load_from_disk(str(dataset / "remud-hf"))
    return {
        "sharegpt": shards,
        "openai": jsonl(dataset / "remud.openai.jsonl"),
        "hf": list(hf["train"]),
    }


def questions(row: dict[str, Any]) -> str:
    if "conversations" in row:
        return "\n".join(t["value"] for t in row["conversations"] if t["from"] == "human")
    texts = []
    for m in row["messages"]:
        if m["role"] == "user":
            content = m["content"]
            texts += [content] if isinstance(content, str) else [p["text"] for p in content if p["type"] == "text"]
    return "\n".join(texts)


@pytest.mark.filterwarnings("ignore:Cannot locate reference", "ignore:Cannot pickle")
def test_no_test_item_in_any_training_output(split_work: Path) -> None:
    dataset = split_work / "dataset"
    test = read(dataset / "test.json")
    assert len(test) == 4
    test_ids = {r["id"] for r in test}
    test_questions = {questions(r).replace("<image>", "").strip() for r in test}
    outputs = training_outputs(dataset)
    for fmt, rows in outputs.items():
        assert rows, fmt
        assert not test_ids & {r["id"] for r in rows}, f"{fmt} holds test items"
        for row in rows:
            assert questions(row).replace("<image>", "").strip() not in test_questions, (fmt, row["id"])
    # the formats hold the same training items, and the test items sit in their own test files
    assert {r["id"] for r in outputs["openai"]} == {r["id"] for r in outputs["sharegpt"]}
    assert {r["id"] for r in outputs["hf"]} == {r["id"] for r in outputs["sharegpt"]}
    assert {r["id"] for r in jsonl(dataset / "remud-test.openai.jsonl")} == test_ids
    datasets = pytest.importorskip("datasets")
    assert set(datasets.load_from_disk(str(dataset / "remud-hf"))["test"]["id"]) == test_ids


def test_the_openai_files_pass_the_upload_rules(split_work: Path) -> None:
    dataset = split_work / "dataset"
    for name in ("remud.openai.jsonl", "remud-test.openai.jsonl"):
        assert check_file(dataset / name) == [], name
    rows = jsonl(dataset / "remud.openai.jsonl")
    assert any(isinstance(m["content"], list) for r in rows for m in r["messages"])  # images were checked
    assert all({"id", "kind", "language", "region"} <= set(r) for r in rows)


def test_the_checker_catches_what_openai_refuses(tmp_path: Path) -> None:
    # the checker itself must fail on what the old writer produced: relative image paths
    bad = tmp_path / "bad.jsonl"
    rows = [
        {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "images/a.png"}}]}]},
        {"messages": [{"role": "human", "content": "x"}, {"role": "assistant", "content": "y"}]},
    ]
    bad.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    problems = check_file(bad)
    assert any("neither http(s) nor a data URL" in p for p in problems)
    assert any("no assistant message" in p for p in problems)
    assert any("unknown role 'human'" in p for p in problems)


def test_stats_card_and_report_describe_the_split_dataset(split_work: Path) -> None:
    dataset = split_work / "dataset"
    stats = read(dataset / "stats.json")
    train = [r for p in sorted(dataset.glob("remud-*-of-*.json")) for r in read(p)]
    assert (stats["records"], stats["test_records"], stats["test_file"]) == (len(train), 4, "test.json")
    assert sum(stats["splits"]["test"]["kind"].values()) == 4
    assert sum(stats["splits"]["train"]["kind"].values()) == len(train)
    card = (dataset / "README.md").read_text(encoding="utf-8")
    assert "`test.json`" in card and '"remud-test"' in card and "media_dir: path/to/dataset" in card
    assert "<think>" in card and "<answer>X</answer>" in card and "| conversations |" in card
    assert "extract:\n  extract:" not in card and "generation model | stand-in" in card
    # the licence statement extract found in the atlas's footer, per source document
    assert stats["licences"] == {"atlas_en.pdf": "Open access under CC BY 4.0", "atlas_zh.pdf": None}
    assert "| atlas_en.pdf |" in card and "Open access under CC BY 4.0 |" in card
    info = read(dataset / "dataset_info.json")
    assert info["remud-test"]["file_name"] == "test.json"
    report = (dataset / "report.html").read_text(encoding="utf-8")
    assert '"split": "test"' in report and "../" not in report
    # a folder that can be shipped: no path of this machine in any text it holds
    for path in dataset.rglob("*"):
        if path.suffix in (".json", ".jsonl", ".md", ".html"):
            assert str(split_work) not in path.read_text(encoding="utf-8"), path


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_the_zipped_dataset_opens_elsewhere_with_every_image(split_work: Path, tmp_path: Path) -> None:
    archive = shutil.make_archive(str(tmp_path / "dataset"), "zip", split_work / "dataset")
    elsewhere = tmp_path / "unzipped"
    shutil.unpack_archive(archive, elsewhere)
    page = elsewhere / "report.html"
    data = json.loads(re.search(r'id="remud-data"[^>]*>(.*?)</script>', page.read_text(encoding="utf-8"), re.S)[1])
    with_image = [g["image"] for g in data["groups"] if g["image"]]
    assert len(with_image) == len(data["groups"]) - sum(g["key"].startswith("c:") for g in data["groups"])
    dom = browse(page, "", tmp_path)
    images = dom.find("img")
    assert len(images) == len(with_image) > 0
    assert all(a.get("data-loaded") == "1" for a in images), [a["src"] for a in images if not a.get("data-loaded")]


def test_eval_asks_under_the_prompt_the_records_were_trained_with(split_work: Path) -> None:
    dataset = split_work / "dataset"
    settings = EvalSettings()
    prompts = load_prompts(settings)
    items = load(dataset / "test.json", settings.letters).items
    assert len(items) == 4
    mcq = {"zh": (PACKAGE_PROMPTS / "system_mcq_zh.txt"), "en": (PACKAGE_PROMPTS / "system_mcq_en.txt")}
    for item in items:
        assert system_text(item, settings, prompts) == mcq[item.language].read_text(encoding="utf-8").strip()
    # the training multiple-choice records carry the same words
    train = [r for p in sorted(dataset.glob("remud-*-of-*.json")) for r in read(p)]
    for record in train:
        if record["kind"] in ("qa-reasoning", "vqa-reasoning"):
            text = mcq[record["language"]].read_text(encoding="utf-8").strip()
            assert record["conversations"][0] == {"from": "system", "value": text}


def test_dialogues_have_the_configured_number_of_turns(split_work: Path) -> None:
    dataset = split_work / "dataset"
    records = [r for p in [*sorted(dataset.glob("remud-*-of-*.json")), dataset / "test.json"] for r in read(p)]
    dialogues = [r for r in records if r["kind"] in ("qa", "vqa")]
    assert dialogues
    for r in dialogues:
        turns = [t for t in r["conversations"] if t["from"] != "system"]
        assert [t["from"] for t in turns] == ["human", "gpt"] * 2, r["id"]  # synthesize.turns: 2 in the config


def card_entries(card: str, folder: Path) -> dict[str, Any]:
    """The dataset_info.json entries the card says to paste, with its placeholder replaced by ``folder``."""
    block = re.search(r"```json\n(.*?)\n```", card, re.S)
    assert block, "the card has no dataset_info.json lines"
    entries: dict[str, Any] = json.loads(block[1].replace("path/to/dataset", str(folder)))
    return entries


def test_the_cards_lines_load_from_another_folder_by_llamafactorys_rules(split_work: Path, tmp_path: Path) -> None:
    # the rules LLaMA-Factory applies (`make conformance` runs LLaMA-Factory itself): file_name joined to
    # dataset_dir, images joined to media_dir, sharegpt roles in order, one <image> per image
    shipped = tmp_path / "shipped"
    shutil.copytree(split_work / "dataset", shipped)
    other = tmp_path / "my-data"
    other.mkdir()
    card = (shipped / "README.md").read_text(encoding="utf-8")
    entries = card_entries(card, shipped)
    (other / "dataset_info.json").write_text(json.dumps(entries), encoding="utf-8")
    media_dir = re.search(r"media_dir: (\S+)", card.replace("path/to/dataset", str(shipped)))
    assert media_dir and Path(media_dir[1]) == shipped
    names = re.search(r"dataset: (\S+)", card)
    assert names and set(names[1].split(",")) | {"remud-test"} == set(entries)
    rows = 0
    for entry in read(other / "dataset_info.json").values():
        assert entry["formatting"] == "sharegpt" and entry["columns"] == {
            "messages": "conversations",
            "images": "images",
        }
        for record in read(Path(os.path.join(other, entry["file_name"]))):
            roles = [t["from"] for t in record["conversations"]]
            if roles[0] == "system":
                roles = roles[1:]
            assert roles == ["human", "gpt"] * (len(roles) // 2) and roles, record["id"]
            tokens = sum(t["value"].count("<image>") for t in record["conversations"])
            assert tokens == len(record["images"]), record["id"]
            assert all(Path(os.path.join(media_dir[1], i)).is_file() for i in record["images"]), record["id"]
            rows += 1
    stats = read(shipped / "stats.json")
    assert rows == stats["records"] + stats["test_records"]
