"""`make conformance`: LLaMA-Factory itself loads the dataset the way the card tells a user to, from another folder.

Run with the Python of the LLaMA-Factory venv `make conformance` builds (.conformance/lf-venv; it does not import
remud_gen). The dataset folder is copied elsewhere, as a user unzips it; a second folder gets a `dataset_info.json`
made of the card's JSON lines (the card's `path/to/dataset` replaced by the copy) and training arguments with the
card's `media_dir`. Then LLaMA-Factory's own `get_dataset` loads every shard and test.json for SFT with a
multimodal template (llava), whose image plugin decodes each row's images while it builds the row. No model weights: the
tokenizer and image processor are built here, from nothing, so nothing comes from a hub.

Checks: every record is a row (none dropped as invalid), every image resolves under `media_dir` and decodes.
Prints one line per check and exits 1 when one fails.

    .conformance/lf-venv/bin/python scripts/llamafactory_load.py --dataset demo-work/dataset --scratch /tmp/lf
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any

PLACEHOLDER = "path/to/dataset"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, required=True, help="WORK/dataset as remud-gen wrote it (after split)")
    ap.add_argument("--scratch", type=Path, required=True, help="folder to work in (wiped)")
    args = ap.parse_args()
    shutil.rmtree(args.scratch, ignore_errors=True)
    scratch = args.scratch.resolve()  # the card's lines name this folder by an absolute path
    shipped, registry, model = scratch / "shipped", scratch / "my-data", scratch / "tiny-model"
    shutil.copytree(args.dataset, shipped)
    registry.mkdir(parents=True)
    card = (shipped / "README.md").read_text(encoding="utf-8").replace(PLACEHOLDER, str(shipped))
    block = re.search(r"```json\n(.*?)\n```", card, re.S)
    media = re.search(r"^media_dir: (\S+)$", card, re.M)
    if not block or not media:
        print("FAIL card: no dataset_info.json lines or no media_dir line")
        return 1
    entries: dict[str, Any] = json.loads(block[1])
    (registry / "dataset_info.json").write_text(json.dumps(entries, indent=2), encoding="utf-8")
    stats = json.loads((shipped / "stats.json").read_text(encoding="utf-8"))
    expected = stats["records"] + stats["test_records"]
    build_tiny_model(model)
    warnings = _capture_warnings()
    rows, images = load_with_llamafactory(model, registry, Path(media[1]), list(entries), scratch / "out")
    missing = [w for w in warnings if "does not exist" in w]
    checks = [
        (f"rows: {rows} of {expected} records", rows == expected),
        (f"images: {images} loaded, {len(missing)} missing", images > 0 and not missing),
    ]
    for line, ok in checks:
        print(("ok   " if ok else "FAIL ") + line)
    return 0 if all(ok for _, ok in checks) else 1


def build_tiny_model(folder: Path) -> None:
    """A tokenizer and a LLaVA processor made from nothing: enough for LLaMA-Factory to tokenize and load images."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import CLIPImageProcessor, LlavaProcessor, PreTrainedTokenizerFast

    specials = ["<unk>", "<pad>", "<s>", "</s>", "<image>"]
    core = Tokenizer(models.WordLevel({t: i for i, t in enumerate(specials)}, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="<unk>", pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    tokenizer.add_special_tokens({"additional_special_tokens": ["<image>"]})
    image_processor = CLIPImageProcessor(size={"shortest_edge": 56}, crop_size={"height": 56, "width": 56})
    processor = LlavaProcessor(
        image_processor=image_processor,
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
    )
    processor.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))


def load_with_llamafactory(
    model: Path, registry: Path, media_dir: Path, names: list[str], out: Path
) -> tuple[int, int]:
    """Rows LLaMA-Factory's get_dataset made of every registered file, and images its plugin loaded."""
    from llamafactory.data import get_dataset, get_template_and_fix_tokenizer
    from llamafactory.hparams import get_train_args
    from llamafactory.model import load_tokenizer

    model_args, data_args, training_args, _, _ = get_train_args(
        {
            "model_name_or_path": str(model),
            "stage": "sft",
            "do_train": True,
            "finetuning_type": "lora",
            "template": "llava",
            "dataset": ",".join(names),
            "dataset_dir": str(registry),
            "media_dir": str(media_dir),
            "cutoff_len": 4096,
            "output_dir": str(out),
            "overwrite_cache": True,
            "preprocessing_num_workers": 1,
            "report_to": "none",
        }
    )
    tokenizer_module = load_tokenizer(model_args)
    template = get_template_and_fix_tokenizer(tokenizer_module["tokenizer"], data_args)
    # the llava plugin runs the image processor on every image while it expands the <image> tokens, so a row
    # exists only once its images were found and decoded
    module = get_dataset(template, model_args, data_args, training_args, stage="sft", **tokenizer_module)
    train = module["train_dataset"]
    paths = [p for row in train for p in (row.get("images") or [])]
    inside = [p for p in paths if isinstance(p, str) and Path(p).is_file() and Path(p).is_relative_to(media_dir)]
    return len(train), len(inside) if len(inside) == len(paths) else -len(paths)


def _capture_warnings() -> list[str]:
    """Every warning LLaMA-Factory logs (it warns, then goes on, when a media file is not in media_dir)."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logging.getLogger().addHandler(Keep(logging.WARNING))
    logging.getLogger("llamafactory").addHandler(Keep(logging.WARNING))
    return seen


if __name__ == "__main__":
    sys.exit(main())
