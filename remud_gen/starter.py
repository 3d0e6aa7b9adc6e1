"""`remud-gen init`: a starter config and an editable copy of the packaged prompts, in a folder of the user's.

The config written is every setting with its comment (as `configs/default.yaml`), with the prompt folders of
synthesize, filter and eval pointing at the copied prompts, so editing a prompt file changes what the model is asked.
"""

from __future__ import annotations

from pathlib import Path

from remud_gen.config import Config
from remud_gen.config_doc import config_yaml
from remud_gen.errors import UserError
from remud_gen.io import write_bytes_atomic
from remud_gen.prompts import PACKAGE_PROMPTS

CONFIG_NAME = "remud-gen.yaml"
PROMPTS_NAME = "prompts"

HEADER = """\
# remud-gen starter configuration (written by `remud-gen init`): every setting, with what it does.
# Use it with -c, e.g. `remud-gen run books/ -o out/ -c {config}`; command-line options win over it.
# The prompt folders below are the editable copy `init` wrote; set them to null to use the packaged prompts.
# The API key is never written here: it is read from the environment variable named by endpoint.api_key_env.
"""


def write_starter(folder: Path, *, force: bool = False) -> list[Path]:
    """Write ``folder``/remud-gen.yaml and ``folder``/prompts/ (the packaged prompts, zh and en).

    Args:
        folder: where to write (created when missing).
        force: overwrite files that exist; without it, an existing file stops the command before anything is written.

    Returns:
        The files written.

    Raises:
        UserError: a file to be written exists and ``force`` is off.
    """
    folder = folder.resolve()
    prompts = folder / PROMPTS_NAME
    files = {prompts / item.name: item.read_bytes() for item in PACKAGE_PROMPTS.iterdir() if _editable(item.name)}
    config = folder / CONFIG_NAME
    starter = Config()
    for section in (starter.synthesize, starter.filter, starter.eval):
        section.prompts_dir = prompts
    files[config] = config_yaml(starter, HEADER.format(config=config)).encode("utf-8")
    existing = sorted(p for p in files if p.exists())
    if existing and not force:
        more = f" (and {len(existing) - 1} more files)" if len(existing) > 1 else ""
        raise UserError(f"{existing[0]} exists{more}; choose another folder, or pass --force to overwrite")
    prompts.mkdir(parents=True, exist_ok=True)
    for path, data in sorted(files.items()):
        write_bytes_atomic(path, data)
    return sorted(files)


def _editable(name: str) -> bool:
    # extract's VLM detector has no prompt-folder setting (it reads the packaged detect prompts): a copy of those
    # would be edited to no effect
    return not name.startswith("detect")
