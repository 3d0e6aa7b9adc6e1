"""The dataset folder: ShareGPT shards loaded back and checked against the layout LLaMA-Factory reads."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from remud_gen.dataset import dataset_files as dataset_files_module
from remud_gen.dataset.formats import to_openai
from remud_gen.dataset.shards import OutputSettings, ShardOutput, read_system_prompts, write_shards
from remud_gen.dataset.sharegpt import to_sharegpt
from remud_gen.errors import UserError
from remud_gen.prompts import PACKAGE_PROMPTS
from remud_gen.records import Generator, Sample, SourceRef, Turn

SYSTEM = {"zh": "你是一名专业的超声医学助手。", "en": "You are a helpful ultrasound medicine assistant."}
OPTIONS = {"A": "单纯囊肿", "B": "胶质囊肿", "C": "甲状腺乳头状癌", "D": "结节性甲状腺肿", "E": "亚急性甲状腺炎"}
THINKING = "结节低回声、边界不清、伴微钙化，均为恶性征象，故选C。"
SHARD_NAME = re.compile(r"^remud-(\d{5})-of-(\d{5})\.json$")


def make(sample_id: str, kind: str, turns: list[tuple[str, str]], **fields: Any) -> Sample:
    return Sample(
        sample_id=sample_id,
        kind=kind,
        language=fields.pop("language", "zh"),
        turns=[Turn(role=r, text=t) for r, t in turns],
        source=SourceRef(doc="book.pdf", page=2),
        generator=Generator(model="m", prompt_file="p", prompt_sha256="0" * 64),
        **fields,
    )


def corpus(work: Path) -> list[Sample]:
    """One sample of every shape the writer handles, with real image files under WORK."""
    for i, name in enumerate(["a.png", "b.png", "c.png"]):
        path = work / "extract" / "images" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.new("L", (32, 24), color=40 * (i + 1)).save(path)
    other = work / "extract" / "pages" / "a.png"  # same file name, different image: must not collide
    other.parent.mkdir(parents=True)
    Image.new("L", (16, 16), color=250).save(other)
    return [
        make("qa-1-zh", "qa", [("user", "甲状腺结节的超声特征有哪些？"), ("assistant", "低回声、边界不清。"),
                               ("user", "如何随访？"), ("assistant", "6-12个月复查。")]),
        make("qa-2-en", "qa", [("user", "What is NT?"), ("assistant", "Nuchal translucency.")], language="en"),
        make("qa-reasoning-1-zh", "qa-reasoning", [("user", "最可能的诊断是？"), ("assistant", "C. 甲状腺乳头状癌")],
             thinking=THINKING, options=OPTIONS, answer="C"),
        make("vqa-1-zh", "vqa", [("user", "这张超声图像显示了什么？"), ("assistant", "甲状腺低回声结节。")],
             images=["extract/images/a.png"]),
        make("vqa-2-zh", "vqa", [("user", "<image>图像中病灶位于何处？"), ("assistant", "右叶中部。")],
             images=["extract/images/b.png"]),
        make("vqa-3-en", "vqa", [("system", "Own prompt."), ("user", "Compare the two views."), ("assistant", "Same.")],
             images=["extract/images/c.png", "extract/pages/a.png"], language="en"),
        make("vqa-reasoning-1-zh", "vqa-reasoning", [("user", "诊断是什么？"), ("assistant", "甲状腺乳头状癌。")],
             thinking=THINKING, answer="甲状腺乳头状癌", images=["extract/images/a.png"]),
    ]  # fmt: skip


def check_layout(record: dict[str, Any], shard: Path) -> None:
    """Every rule of the layout, as LLaMA-Factory's sharegpt converter and mm plugin apply them."""
    assert set(record) <= {"conversations", "images", "id", "kind", "language", "region"}
    messages = record["conversations"]
    assert all(set(m) == {"from", "value"} and isinstance(m["value"], str) and m["value"].strip() for m in messages)
    if messages[0]["from"] == "system":
        messages = messages[1:]
    # odd positions human, even positions gpt, an even count: the converter drops anything else as broken
    assert [m["from"] for m in messages] == ["human", "gpt"] * (len(messages) // 2)
    assert len(messages) % 2 == 0
    tokens = sum(m["value"].count("<image>") for m in messages)
    assert tokens == len(record["images"])
    assert all("<image>" not in m["value"] for m in messages if m["from"] == "gpt")
    for image in record["images"]:
        assert not os.path.isabs(image) and ".." not in image
        # relative to the shard, which is also LLaMA-Factory's dataset_dir / media_dir
        assert (shard.parent / image).is_file()
        assert os.path.isfile(os.path.join(str(shard.parent), image))


def load(out: ShardOutput) -> list[tuple[dict[str, Any], Path]]:
    rows = []
    for shard in out.shards:
        data = json.loads(shard.read_text(encoding="utf-8"))
        assert isinstance(data, list)
        rows += [(record, shard) for record in data]
    return rows


@pytest.fixture
def written(tmp_path: Path) -> tuple[Path, list[Sample], ShardOutput]:
    samples = corpus(tmp_path)
    out = write_shards(list(reversed(samples)), tmp_path, OutputSettings(shard_size=3), SYSTEM)
    return tmp_path, samples, out


def test_shards_are_named_sized_and_ordered(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, samples, out = written
    names = [p.name for p in out.shards]
    assert names == ["remud-00000-of-00003.json", "remud-00001-of-00003.json", "remud-00002-of-00003.json"]
    assert all(p.parent == work / "dataset" for p in out.shards)
    sizes = [len(json.loads(p.read_text(encoding="utf-8"))) for p in out.shards]
    assert sizes == [3, 3, 1]
    assert [r["id"] for r, _ in load(out)] == sorted(s.sample_id for s in samples)
    assert out.records == len(samples) and out.skipped == {}
    assert not list((work / "dataset").glob(".*.tmp"))


def test_every_record_follows_the_layout(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    _, samples, out = written
    rows = load(out)
    assert len(rows) == len(samples)
    for record, shard in rows:
        check_layout(record, shard)


def test_conversion_details(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, _, out = written
    records = {r["id"]: r for r, _ in load(out)}
    qa = records["qa-1-zh"]["conversations"]
    assert qa[0] == {"from": "system", "value": SYSTEM["zh"]}
    assert [m["from"] for m in qa] == ["system", "human", "gpt", "human", "gpt"]
    assert records["qa-2-en"]["conversations"][0]["value"] == SYSTEM["en"]
    assert records["qa-2-en"]["images"] == []
    # MCQ: options listed in the question, the trace and the letter in the reply
    mcq = records["qa-reasoning-1-zh"]["conversations"]
    assert mcq[1]["value"] == "最可能的诊断是？\n" + "\n".join(f"{k}. {v}" for k, v in OPTIONS.items())
    assert mcq[2]["value"] == f"<think>\n{THINKING}\n</think>\n\n<answer>C</answer>"
    # VQA: one token per image at the start of the first question, never doubled
    vqa = records["vqa-1-zh"]
    assert vqa["conversations"][1]["value"] == "<image>这张超声图像显示了什么？"
    assert vqa["images"] == [out.images["extract/images/a.png"]]
    assert records["vqa-2-zh"]["conversations"][1]["value"] == "<image>图像中病灶位于何处？"
    two = records["vqa-3-en"]
    assert two["conversations"][1]["value"].startswith("<image><image>Compare")
    assert two["conversations"][0]["value"] == SYSTEM["en"]  # the configured prompt wins over the sample's own
    # open reasoning VQA: trace then the answer text
    assert (
        records["vqa-reasoning-1-zh"]["conversations"][-1]["value"]
        == f"<think>\n{THINKING}\n</think>\n\n甲状腺乳头状癌。"
    )
    # the two a.png files from different folders get different names, both copied byte for byte
    assert two["images"] == [out.images["extract/images/c.png"], out.images["extract/pages/a.png"]]
    assert len(set(out.images.values())) == len(out.images) == 4
    for source, copy in out.images.items():
        assert (work / "dataset" / copy).read_bytes() == (work / source).read_bytes()
    assert {r["kind"] for r in records.values()} == {"qa", "qa-reasoning", "vqa", "vqa-reasoning"}


def test_dataset_info_has_one_llamafactory_entry_per_shard(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, _, out = written
    info = json.loads((work / "dataset" / "dataset_info.json").read_text(encoding="utf-8"))
    assert list(info) == out.dataset_names == [p.stem for p in out.shards]
    for name, entry in info.items():
        assert entry == {
            "file_name": f"{name}.json",
            "formatting": "sharegpt",
            "columns": {"messages": "conversations", "images": "images"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                     "system_tag": "system"},
        }  # fmt: skip
        assert (work / "dataset" / entry["file_name"]).is_file()


def test_rerun_replaces_old_shards_and_keeps_foreign_entries(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, samples, _ = written
    dataset = work / "dataset"
    info_path = dataset / "dataset_info.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["my_test_split"] = {"file_name": "test.json", "formatting": "sharegpt"}
    info_path.write_text(json.dumps(info), encoding="utf-8")
    text_only = [s for s in samples if not s.images]
    out = write_shards(text_only, work, OutputSettings(shard_size=10), SYSTEM)
    assert sorted(p.name for p in dataset.glob("remud-*.json")) == ["remud-00000-of-00001.json"]
    assert list(json.loads(info_path.read_text(encoding="utf-8"))) == ["my_test_split", "remud-00000-of-00001"]
    assert out.images == {} and list((dataset / "images").iterdir()) == []  # images no shard uses are gone


def test_a_failed_write_leaves_the_previous_dataset(
    written: tuple[Path, list[Sample], ShardOutput], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, samples, before = written
    contents = {p: p.read_bytes() for p in before.shards}
    calls = []

    def broken_dump(obj: Any, fh: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        json.dump(obj, fh, **kwargs)

    monkeypatch.setattr(dataset_files_module.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        write_shards(samples, work, OutputSettings(shard_size=2), SYSTEM)
    monkeypatch.undo()
    assert {p: p.read_bytes() for p in sorted((work / "dataset").glob("remud-*.json"))} == contents
    assert not list((work / "dataset").glob(".*.tmp"))


def test_samples_with_a_missing_image_are_left_out(tmp_path: Path) -> None:
    samples = corpus(tmp_path)
    (tmp_path / "extract" / "images" / "b.png").unlink()
    bad = make("vqa-9-zh", "vqa", [("user", "这是什么？"), ("assistant", "肝脏。")], images=["../../etc/passwd"])
    out = write_shards([*samples, bad], tmp_path, OutputSettings(), SYSTEM)
    assert out.skipped == {
        "vqa-2-zh": "missing_image: extract/images/b.png",
        "vqa-9-zh": "missing_image: ../../etc/passwd",
    }
    assert out.records == len(samples) - 1
    for record, shard in load(out):
        check_layout(record, shard)


def test_rerun_copies_only_changed_images(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, samples, out = written
    copies = {src: work / "dataset" / dest for src, dest in out.images.items()}
    inodes = {src: p.stat().st_ino for src, p in copies.items()}
    Image.new("L", (8, 8), color=1).save(work / "extract" / "images" / "c.png")
    write_shards(samples, work, OutputSettings(shard_size=3), SYSTEM)
    assert {src: p.stat().st_ino == inodes[src] for src, p in copies.items()} == {
        "extract/images/a.png": True,
        "extract/images/b.png": True,
        "extract/images/c.png": False,
        "extract/pages/a.png": True,
    }
    assert copies["extract/images/c.png"].read_bytes() == (work / "extract" / "images" / "c.png").read_bytes()


def test_no_accepted_samples_leave_no_shards(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    work, _, _ = written
    out = write_shards([], work, OutputSettings(), SYSTEM)
    assert out.shards == [] and out.records == 0
    assert list((work / "dataset").glob("remud-*.json")) == []
    assert json.loads((work / "dataset" / "dataset_info.json").read_text(encoding="utf-8")) == {}


def test_no_system_prompt_and_no_metadata(tmp_path: Path) -> None:
    samples = corpus(tmp_path)
    out = write_shards(samples, tmp_path, OutputSettings(metadata=False, indent=None), {})
    records = [r for r, _ in load(out)]
    assert all(set(r) == {"conversations", "images"} for r in records)
    # without a configured prompt a sample's own system turn is kept, others get none
    firsts = [r["conversations"][0] for r in records]
    assert firsts.count({"from": "system", "value": "Own prompt."}) == 1
    assert sum(m["from"] == "system" for m in firsts) == 1


def test_openai_format(tmp_path: Path) -> None:
    samples = corpus(tmp_path)
    out = write_shards(samples, tmp_path, OutputSettings(formats=["openai"]), SYSTEM)
    path = out.extra["openai"]
    assert path == tmp_path / "dataset" / "remud.openai.jsonl"
    chats = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(chats) == len(samples)
    for chat in chats:
        assert set(chat) == {"messages", "id", "kind", "language", "region"}
        roles = [m["role"] for m in chat["messages"]]
        assert roles[0] == "system" and roles[1:] == ["user", "assistant"] * ((len(roles) - 1) // 2)
    two = next(
        c for c in chats if isinstance(c["messages"][1]["content"], list) and len(c["messages"][1]["content"]) == 3
    )
    parts = two["messages"][1]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert parts[2] == {"type": "text", "text": "Compare the two views."}
    # images are inline, so the file uploads on its own; the pixels are the shard's image
    for part, image in zip(parts[:2], next(r for r in records(out) if r["id"] == two["id"])["images"], strict=True):
        head, data = part["image_url"]["url"].split(",", 1)
        assert head in ("data:image/png;base64", "data:image/jpeg;base64", "data:image/webp;base64")
        with Image.open(io.BytesIO(base64.b64decode(data))) as inline, Image.open(path.parent / image) as copy:
            assert inline.mode in ("RGB", "RGBA") and inline.size == copy.size
            assert inline.convert("RGB").tobytes() == copy.convert("RGB").tobytes()
    hosted = OutputSettings(formats=["openai"], image_base_url="https://example.org/remud/")
    write_shards(samples, tmp_path, hosted, SYSTEM)
    chats = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    urls = [
        p["image_url"]["url"]
        for c in chats
        for m in c["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
        if p["type"] == "image_url"
    ]
    assert urls and all(u.startswith("https://example.org/remud/images/") for u in urls)
    assert all((path.parent / u.removeprefix("https://example.org/remud/")).is_file() for u in urls)
    # turning it off again removes the stale file
    write_shards(samples, tmp_path, OutputSettings(), SYSTEM)
    assert not path.exists()


def records(out: ShardOutput) -> list[dict[str, Any]]:
    return [r for p in out.shards for r in json.loads(p.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(
    ("question", "human"),
    [
        ("诊断是？", "<image>诊断是？\nA. 囊肿\nB. 癌"),
        ("诊断是？\nA. 囊肿\nB. 癌", "<image>诊断是？\nA. 囊肿\nB. 癌"),  # already listed: not repeated
        ("诊断是？\nA、囊肿\nB、癌", "<image>诊断是？\nA、囊肿\nB、癌"),
    ],
)
def test_image_mcq_conversion(question: str, human: str) -> None:
    turns = [("user", question), ("assistant", "B. 癌")]
    options = {"A": "囊肿", "B": "癌"}
    sample = make(
        "r", "vqa-reasoning", turns, thinking="低回声伴微钙化。", options=options, answer="B", images=["x.png"]
    )
    record = to_sharegpt(sample, ["images/x.png"], None, metadata=False)
    assert record == {
        "conversations": [
            {"from": "human", "value": human},
            {"from": "gpt", "value": "<think>\n低回声伴微钙化。\n</think>\n\n<answer>B</answer>"},
        ],
        "images": ["images/x.png"],
    }


def test_to_openai_refuses_more_tokens_than_images() -> None:
    record = {"conversations": [{"from": "human", "value": "<image>x"}, {"from": "gpt", "value": "y"}], "images": []}
    with pytest.raises(ValueError, match="more <image> tokens than images"):
        to_openai(record)


def test_hf_format_without_datasets_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    samples = corpus(tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)  # import datasets -> ImportError
    with pytest.raises(UserError, match=r"pip install 'remud-gen\[hf\]'"):
        write_shards(samples, tmp_path, OutputSettings(formats=["hf"]), SYSTEM)
    assert not (tmp_path / "dataset").exists()  # nothing written before the check


# datasets' fingerprinting (dill) warns about pyarrow types on some version pairs; the folder is unaffected
@pytest.mark.filterwarnings("ignore:Cannot locate reference", "ignore:Cannot pickle")
def test_hf_format(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets", reason="the optional hf extra is not installed")
    samples = corpus(tmp_path)
    out = write_shards(samples, tmp_path, OutputSettings(formats=["hf"]), SYSTEM)
    folder = out.extra["hf"]
    for copy in (tmp_path / "dataset" / "images").iterdir():
        copy.unlink()  # the folder must not depend on the copies
    table = datasets.load_from_disk(str(folder))["train"]
    assert len(table) == len(samples)
    rows = {r["id"]: r for r in table}
    assert rows["vqa-3-en"]["images"][0].size == (32, 24)
    assert rows["qa-1-zh"]["conversations"][0] == {"from": "system", "value": SYSTEM["zh"]}


def test_each_kind_gets_its_own_system_prompt(tmp_path: Path) -> None:
    # the project's table: multiple-choice kinds carry the instruction eval asks with, open kinds the plain prompt
    system = read_system_prompts(OutputSettings(), PACKAGE_PROMPTS)
    out = write_shards(corpus(tmp_path), tmp_path, OutputSettings(), system)
    firsts = {r["id"]: r["conversations"][0]["value"] for r, _ in load(out)}
    mcq_zh = (PACKAGE_PROMPTS / "system_mcq_zh.txt").read_text(encoding="utf-8").strip()
    assert firsts["qa-reasoning-1-zh"] == firsts["vqa-reasoning-1-zh"] == mcq_zh
    assert "<answer>" in mcq_zh
    assert firsts["qa-1-zh"] == (PACKAGE_PROMPTS / "system_zh.txt").read_text(encoding="utf-8").strip()
    assert firsts["qa-2-en"] == (PACKAGE_PROMPTS / "system_en.txt").read_text(encoding="utf-8").strip()


def test_the_system_prompt_table_is_read_from_the_prompt_folder(tmp_path: Path) -> None:
    (tmp_path / "system_prompts.yaml").write_text("default: plain\nqa-reasoning: mcq\n", encoding="utf-8")
    for name, text in (
        ("plain_zh", "中文提示"),
        ("plain_en", "English prompt"),
        ("mcq_zh", "选择"),
        ("mcq_en", "Choose"),
    ):
        (tmp_path / f"{name}.txt").write_text(text + "\n", encoding="utf-8")
    prompts = read_system_prompts(OutputSettings(), tmp_path)
    assert (prompts.text("qa", "zh"), prompts.text("qa-reasoning", "en")) == ("中文提示", "Choose")
    assert read_system_prompts(OutputSettings(system_prompts=""), tmp_path).text("qa", "en") is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "system_prompts.yaml").write_text("qa: gone\n", encoding="utf-8")
    with pytest.raises(UserError, match=r"cannot read prompt file .*gone_zh.txt"):
        read_system_prompts(OutputSettings(), broken)


def test_shard_names_match_the_pattern(written: tuple[Path, list[Sample], ShardOutput]) -> None:
    _, _, out = written
    for shard in out.shards:
        match = SHARD_NAME.match(shard.name)
        assert match and int(match.group(2)) == len(out.shards)
