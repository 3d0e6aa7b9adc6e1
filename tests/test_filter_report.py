"""stats.json, the dataset card, and report.html rendered and filtered in a real headless browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from PIL import Image

from remud_gen.dataset.account import publish
from remud_gen.dataset.review import report_data, shown_images, write_report
from remud_gen.dataset.shards import OutputSettings, write_shards
from remud_gen.dataset.stats import redact
from remud_gen.records import Figure, Generator, JudgeScores, Sample, SourceRef, Turn, Usage, Verdict

XSS = '<b id="pwned">x</b></script><script>document.title="pwned"</script>'
CHROMIUM = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)


def figure(work: Path, key: str, page: int) -> Figure:
    path = work / "extract" / "images" / f"{key}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (64, 48), color=30 * page).save(path)
    return Figure(figure_key=key, doc="atlas.pdf", page=page, bbox=(0, 0, 1, 1), page_size=(1, 1), panel="A",
                  image=f"extract/images/{key}.png", figure_id=f"图{page}-1", caption=f"图{page}-1 甲状腺")  # fmt: skip


def verdict(
    sample_id: str,
    kind: str,
    *,
    fig: Figure | None = None,
    accepted: bool = True,
    reasons: list[str] | None = None,
    score: float | None = 4.0,
    region: str = "thyroid",
    language: str = "zh",
    question: str = "这张超声图像显示了什么？",
    cost: float = 0.01,
    **fields: Any,
) -> Verdict:
    sample = Sample(
        sample_id=sample_id,
        kind=kind,
        language=language,
        region=region,
        turns=[Turn(role="user", text=question), Turn(role="assistant", text="甲状腺右叶低回声结节。")],
        images=[fig.image] if fig else fields.pop("images", []),
        source=SourceRef(doc="atlas.pdf" if fig else "guide.pdf", page=fig.page if fig else 9,
                         figure_key=fig.figure_key if fig else None, chunk_id=None if fig else "c1"),
        generator=Generator(model="m", prompt_file="p", prompt_sha256="0" * 64),
        usage=Usage(prompt_tokens=100, completion_tokens=50, cost=cost),
        **fields,
    )  # fmt: skip
    scores = None
    if score is not None:
        scores = JudgeScores(faithfulness=round(score), medical_correctness=4, clarity=5, rationale="忠实于原文。")
    return Verdict(sample=sample, accepted=accepted, reasons=reasons or [], scores=scores, weighted_score=score)


@pytest.fixture
def run(tmp_path: Path) -> tuple[Path, list[Verdict], dict[str, Figure]]:
    figs = {f.figure_key: f for f in (figure(tmp_path, "k1", 1), figure(tmp_path, "k2", 2))}
    verdicts = [
        verdict("vqa-1", "vqa", fig=figs["k1"], score=4.6),
        verdict("vqa-2", "vqa", fig=figs["k1"], accepted=False, reasons=["no_figure_reference: 图中A部分"], score=2.1),
        verdict("vqa-3", "vqa-reasoning", fig=figs["k2"], region="liver", thinking="低回声。" * 20, score=3.8),
        verdict("qa-1", "qa", accepted=False, reasons=["near_duplicate: qa-0 (similarity 0.90)"], score=None),
        verdict("qa-2", "qa", question=XSS, language="en", region="other", score=4.9),
        verdict("qa-3", "qa-reasoning", accepted=False, score=None, thinking="思考。" * 30, answer="F",
                options={"A": "囊肿", "B": "癌"}, reasons=["mcq_answer: answer 'F' is not one of AB",
                                                          "no_figure_reference: 图2"]),
    ]  # fmt: skip
    return tmp_path, verdicts, figs


def publish_like_filter(work: Path, verdicts: list[Verdict], figs: dict[str, Figure], **kwargs: Any) -> Path:
    """What filter writes: the shards with the images the report shows, then stats, card and report."""
    accepted = [v.sample for v in verdicts if v.accepted]
    out = write_shards(accepted, work, OutputSettings(), {}, extra_images=shown_images(verdicts, figs))
    publish(work, verdicts, out, OutputSettings(), figures=figs, **kwargs)
    return work / "dataset" / "report.html"


def test_stats_and_card(run: tuple[Path, list[Verdict], dict[str, Figure]]) -> None:
    work, verdicts, figs = run
    config = {"endpoint": {"base_url": "http://127.0.0.1:1/v1", "api_key": "sk-secret"}, "filter": {"dedup": {}}}
    publish_like_filter(work, verdicts, figs, judge_usage=Usage(prompt_tokens=7, cost=0.5), config=config)
    stats_path, card_path = work / "dataset" / "stats.json", work / "dataset" / "README.md"
    data = json.loads(stats_path.read_text(encoding="utf-8"))
    assert (data["samples"], data["accepted"], data["rejected"], data["records"]) == (6, 3, 3, 3)
    assert data["accepted_by"]["kind"] == {"qa": 1, "vqa": 1, "vqa-reasoning": 1}
    assert data["samples_by"]["kind"] == {"qa": 2, "vqa": 2, "qa-reasoning": 1, "vqa-reasoning": 1}
    assert data["accepted_by"]["doc"] == {"atlas.pdf": 2, "guide.pdf": 1}
    assert data["accepted_by"]["language"] == {"zh": 2, "en": 1}
    assert data["rejection_reasons"] == {"mcq_answer": 1, "near_duplicate": 1, "no_figure_reference": 2}
    assert data["scores"]["faithfulness"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 2}
    assert data["scores"]["reasoning_validity"] == {str(k): 0 for k in range(1, 6)}
    assert data["weighted_score"] == {"2.0-2.5": 1, "3.5-4.0": 1, "4.5-5.0": 2}
    assert data["usage"]["generation"]["cost"] == pytest.approx(0.06)
    assert data["usage"]["total"]["prompt_tokens"] == 607
    assert data["config"]["endpoint"] == {"base_url": "http://127.0.0.1:1/v1", "api_key": "***"}
    assert data["dataset_names"] == ["remud-00000-of-00001"]
    card = card_path.read_text(encoding="utf-8")
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["language"] == ["en", "zh"] and front["size_categories"] == ["n<1K"]
    assert "dataset_dir: path/to/dataset\ndataset: remud-00000-of-00001" in card
    assert "media_dir: path/to/dataset" in card and '"file_name": "path/to/dataset/remud-00000-of-00001.json"' in card
    assert str(work) not in card and str(work) not in stats_path.read_text(encoding="utf-8")
    assert data["splits"]["train"]["kind"] == {"qa": 1, "vqa": 1, "vqa-reasoning": 1} and data["test_records"] == 0
    assert "| no_figure_reference | 2 |" in card
    assert "| vqa | 1 | 2 |" in card
    assert "| faithfulness | 0 | 1 | 0 | 1 | 2 |" in card
    assert "sk-secret" not in card and "sk-secret" not in stats_path.read_text(encoding="utf-8")


def test_redact_nested() -> None:
    assert redact({"a": [{"API_KEY": "x", "key_env": "OPENAI_API_KEY"}], "password": ""}) == {
        "a": [{"API_KEY": "***", "key_env": "OPENAI_API_KEY"}],
        "password": "",
    }


def test_report_data_groups_items_by_source(run: tuple[Path, list[Verdict], dict[str, Figure]]) -> None:
    _, verdicts, figs = run
    data = report_data(verdicts, figures=figs, images={"extract/images/k1.png": "images/k1.png"})
    groups = {g["key"]: g for g in data["groups"]}
    assert set(groups) == {"f:k1", "f:k2", "c:c1"}
    assert [data["items"][i]["id"] for i in groups["f:k1"]["items"]] == ["vqa-1", "vqa-2"]
    assert groups["f:k1"]["image"] == "images/k1.png"  # the dataset copy
    assert groups["f:k2"]["image"] is None  # never a path out of the dataset folder
    assert shown_images(verdicts, figs) == ["extract/images/k1.png", "extract/images/k2.png"]
    assert groups["f:k1"]["caption"] == "图1-1 甲状腺" and groups["f:k1"]["label"] == "atlas.pdf p.1 图1-1 A"
    assert groups["c:c1"]["image"] is None
    assert data["counts"]["reason"] == {"no_figure_reference": 2, "near_duplicate": 1, "mcq_answer": 1}
    outside = verdict("vqa-9", "vqa", accepted=False, reasons=["images_consistent: x"], images=["/etc/passwd"])
    assert report_data([outside])["groups"][0]["image"] is None and shown_images([outside]) == []
    sampled = report_data(verdicts, max_items=4)
    assert len(sampled["items"]) == 4 and "a fixed sample of 4 of 6 items" in sampled["note"]
    assert sampled == report_data(list(reversed(verdicts)), max_items=4)


class _Dom(HTMLParser):
    """The page as (tag, attributes) pairs, plus the data block, to assert on structure, not on text."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.script: list[str] = []
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_data = dict(attrs).get("id") == "remud-data"

    def handle_endtag(self, tag: str) -> None:
        self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.script.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def parse(html: str) -> _Dom:
    dom = _Dom()
    dom.feed(html)
    return dom


def test_report_file_is_self_contained_and_inert(run: tuple[Path, list[Verdict], dict[str, Figure]]) -> None:
    work, verdicts, figs = run
    (work / "dataset").mkdir()
    data = report_data(verdicts, figures=figs)
    path = write_report(work / "dataset" / "report.html", data, title='Review <script>alert("t")</script>')
    html = path.read_text(encoding="utf-8")
    dom = parse(html)
    assert len(dom.find("script")) == 2  # the data block and the page's own code, nothing injected
    assert dom.find("b", id="pwned") == []
    assert "<title>Review &lt;script&gt;" in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html), "the page must not load anything remote"
    data = json.loads("".join(dom.script))
    assert data["items"][[i["id"] for i in data["items"]].index("qa-2")]["turns"][0][1] == XSS


def browse(page: Path, fragment: str, tmp_path: Path) -> _Dom:
    """The DOM a headless chromium has after loading ``page#fragment`` and running its script."""
    assert CHROMIUM is not None
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'chromium'}", "--virtual-time-budget=3000", "--window-size=1280,20000",
            "--dump-dom",
            f"{page.resolve().as_uri()}#{fragment}"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = parse(done.stdout)
    assert dom.find("body", **{"data-ready": "1"}), "the page script did not finish"
    return dom


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize(
    ("fragment", "expected"),
    [
        ("", ["qa-1", "qa-2", "qa-3", "vqa-1", "vqa-2", "vqa-3"]),
        ("kind=vqa", ["vqa-1", "vqa-2"]),
        ("status=rejected&reason=no_figure_reference", ["qa-3", "vqa-2"]),
        ("region=liver", ["vqa-3"]),
        ("lang=en", ["qa-2"]),
        ("min=4", ["qa-2", "vqa-1"]),
        ("min=3&max=4.5&status=accepted", ["vqa-3"]),
        ("q=%E5%9B%BE%E4%B8%ADA", ["vqa-2"]),  # text search for 图中A
        ("kind=vqa&region=liver", []),
    ],
)
def test_report_filters_in_a_browser(
    run: tuple[Path, list[Verdict], dict[str, Figure]], fragment: str, expected: list[str], tmp_path: Path
) -> None:
    work, verdicts, figs = run
    page = publish_like_filter(work, verdicts, figs)
    dom = browse(page, fragment, tmp_path)
    shown = sorted(str(a["data-id"]) for a in dom.find("article"))
    assert shown == expected
    body = dom.find("body")[0]
    assert body["data-items"] == str(len(expected))
    assert dom.find("b", id="pwned") == [], "a model's text became markup"
    if "kind=vqa" in fragment and expected:
        crops = [a["src"] for a in dom.find("img")]
        assert crops == ["images/k1.png"]  # one crop per figure, however many items it has
        assert (page.parent / crops[0]).is_file()
