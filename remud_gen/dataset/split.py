"""The split stage: hold out a stratified test set of MCQ items and drop every training item that leaks it.

    WORK/split/source.json   the dataset as filter wrote it, kept to redo the split with other settings
    WORK/split/report.json   the strata, the test ids, each removed training item with its reason and evidence
    WORK/dataset/            rewritten: training shards without test or leaked items, test.json, every extra
                             format (see shardset), and stats.json, the card and report.html (filter.account)

Re-running is safe: shards this stage wrote are recognised by their digest in the manifest and never split
again; the split is redone from source.json (or skipped when nothing changed). When filter has rewritten the
shards since, they are the new source.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from remud_gen.dataset.account import describe
from remud_gen.dataset.draw import draw
from remud_gen.dataset.overlap import LeakFinder, Question
from remud_gen.dataset.settings import OutputSettings, SplitSettings
from remud_gen.dataset.shardset import TEST_FILE, read_shards, shard_paths, write_split
from remud_gen.errors import WorkDirError
from remud_gen.eval.items import record_ids
from remud_gen.hashing import file_digest, files_digest
from remud_gen.io import atomic_open, dumps, read_json, write_json
from remud_gen.report import StageReport
from remud_gen.stage import Stage
from remud_gen.text.lang import language_of
from remud_gen.workdir import WorkDir, fingerprint

STAGE = "split"


def run(work: WorkDir, settings: SplitSettings, output: OutputSettings) -> StageReport:
    """Split WORK/dataset into training shards and test.json.

    Args:
        work: the work directory (filter must have written WORK/dataset).
        settings: test size, strata, seed and leak checks.
        output: the dataset name, shard size and JSON indent (the filter's output settings).

    Raises:
        WorkDirError: there are no shards, or the shards were split and the pre-split dataset is gone.
    """
    return Split(work, settings, output).run()


class Split(Stage):
    """Reads WORK/dataset (or the source.json kept from it); rewrites it as training shards and test.json."""

    name = STAGE

    def __init__(self, work: WorkDir, settings: SplitSettings, output: OutputSettings) -> None:
        super().__init__(work)
        self.settings, self.output = settings, output
        self.dataset = work.root / "dataset"
        self.entry: dict[str, Any] = work.manifest["stages"].get(STAGE, {})
        self.plan_ = {
            "split": settings.model_dump(mode="json"),
            "output": output.model_dump(include={"name", "shard_size", "indent"}),
        }
        self.source: list[Any] | None = None  # None: the split is up to date, nothing was read

    def plan(self) -> str:
        shards = shard_paths(self.dataset, self.output.name)
        if not shards:
            root = self.work.root
            raise WorkDirError(
                f"no {self.output.name}-*.json shards in {self.dataset}; run `remud-gen filter {root}` first"
            )
        entry, test_path = self.entry, self.dataset / TEST_FILE
        split_done = entry.get("status") == "done" and entry.get("output_digest") == files_digest(shards)
        unchanged = split_done and test_path.exists() and file_digest(test_path) == entry.get("test_digest")
        if unchanged and entry.get("plan") == self.plan_:
            return str(entry.get("fingerprint", ""))
        self.source = self._source(shards, split_done or entry.get("status") == "running")
        self.source_digest = file_digest(self.hold() / "source.json")
        self.fingerprint = fingerprint(self.source_digest, self.plan_)
        return self.fingerprint

    def up_to_date(self, fingerprint: str) -> bool:
        """The shards are the ones this stage wrote, test.json is unchanged and so are the settings."""
        if self.source is not None:
            return False
        counts = self.entry.get("counts", {})
        self.report = StageReport(
            STAGE, items_in=counts.get("source", 0), items_out=counts.get("train", 0), skipped=True
        )
        return True

    def produce(self) -> dict[str, Any] | None:
        source, plan, test_path = self.source or [], self.plan_, self.dataset / TEST_FILE
        self.work.record(
            STAGE, status="running", fingerprint=self.fingerprint, plan=plan, source_digest=self.source_digest
        )
        ids = record_ids(source)
        drawn = draw(source, ids, self.settings)
        chosen = set(drawn.test)
        finder = LeakFinder([_question(source[i], ids[i]) for i in drawn.test], self.settings)
        rest = [i for i in range(len(source)) if i not in chosen]
        leaks = finder.find([_question(source[i], ids[i]) for i in rest])
        train = [source[i] for i in rest if ids[i] not in leaks]
        test = [source[i] for i in drawn.test]
        written = write_split(self.dataset, self.output, train, test)
        describe(self.work.root, self.output, train, test)  # stats.json, the card and report.html follow the records
        removed = [leaks[ids[i]].as_dict(ids[i]) for i in rest if ids[i] in leaks]
        reasons = dict(Counter(row["reason"] for row in removed))
        counts = {"source": len(source), "test": len(drawn.test), "train": len(train), "removed": len(removed)}
        report_path = self.out / "report.json"
        test_ids = [ids[i] for i in drawn.test]
        write_json(
            report_path,
            {"settings": plan, "counts": counts, "removed_by_reason": reasons, "strata": drawn.strata}
            | {"test_ids": test_ids, "removed": removed},
        )
        self.report = _report(counts, reasons, written, test_path, report_path, self.elapsed())
        return {
            "status": "done",
            "plan": plan,
            "source_digest": self.source_digest,
            "output_digest": files_digest(written),
            "test_digest": file_digest(test_path),
            "counts": counts,
            "removed_by_reason": reasons,
        }

    def _source(self, shards: list[Path], split_before: bool) -> list[Any]:
        """The dataset as filter wrote it: kept in source.json at the first split, read back from there after."""
        source_path = self.hold() / "source.json"
        if not split_before:
            source = read_shards(shards)
            with atomic_open(source_path) as fh:
                fh.write(dumps(source))  # one C-encoded string: json.dump's streaming encoder is pure Python
            return source
        if not source_path.exists() or file_digest(source_path) != self.entry.get("source_digest"):
            root = self.work.root
            raise WorkDirError(
                f"{self.dataset} was split before and {source_path} (the dataset as filter wrote it) is missing "
                f"or changed, so it cannot be split again; delete {root / 'filter' / 'accepted.jsonl'} "
                f"and run `remud-gen filter {root}` to rewrite the dataset (its journal has the judge's answers)"
            )
        source = read_json(source_path)
        if not isinstance(source, list):
            raise WorkDirError(f"{source_path} is not a JSON array of records; delete it and re-run filter")
        return source


def dataset_output(work: WorkDir, configured: OutputSettings) -> OutputSettings:
    """The output settings the dataset was written with (the filter's manifest entry), else ``configured``.

    Split rewrites the shards the way filter wrote them, without depending on the user passing the same -c.
    """
    written = work.manifest["stages"].get("filter", {}).get("config", {}).get("filter", {}).get("output")
    if not isinstance(written, dict):
        return configured
    try:
        return OutputSettings.model_validate(written)
    except ValueError:
        return configured  # an older or hand-edited manifest: the configuration decides


def _question(record: Any, rid: str) -> Question:
    turns = record.get("conversations") if isinstance(record, dict) else None
    text = "\n".join(str(t.get("value", "")) for t in (turns or []) if isinstance(t, dict) and t.get("from") == "human")
    language = record.get("language") if isinstance(record, dict) else None
    images = record.get("images") if isinstance(record, dict) else None
    return Question(
        id=rid,
        text=text,
        language=str(language or language_of(text)),
        images=tuple(str(i) for i in images) if isinstance(images, list) else (),
    )


def _report(
    counts: dict[str, int],
    reasons: dict[str, int],
    shards: list[Path],
    test: Path,
    report: Path,
    seconds: float,
) -> StageReport:
    stage = StageReport(stage=STAGE, items_in=counts["source"], items_out=counts["train"], seconds=seconds)
    why = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in sorted(reasons.items())) or "none"
    stage.notes.append(f"test: {counts['test']} items in {test}")
    stage.notes.append(f"training: {counts['train']} items in {len(shards)} shard(s); removed as leaks: {why}")
    stage.notes.append(f"report: {report}")
    if not counts["train"]:
        stage.problems.append("no training item is left: every item is in the test set or leaks it")
    return stage
