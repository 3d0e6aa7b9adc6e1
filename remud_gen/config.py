"""Configuration: one validated model, built once from defaults, an optional YAML file and command-line overrides.

Precedence: command-line options > the `-c FILE` overlay > the defaults in the settings models (mirrored, with a
comment on every key, in `configs/default.yaml`; `python -m remud_gen.config_doc` rewrites that file). A partial file is
fine; an unknown key or a value of the wrong type is a `ConfigError` naming the key's path. Secrets never live here:
the API key is read from the environment variable that `endpoint.api_key_env` names.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from remud_gen.dataset.settings import SplitSettings
from remud_gen.errors import ConfigError
from remud_gen.eval.settings import EvalSettings
from remud_gen.extract.settings import ExtractSettings
from remud_gen.filter.settings import FilterSettings
from remud_gen.llm.settings import EndpointSettings
from remud_gen.redact import hold, redact
from remud_gen.synthesize.settings import SynthesizeSettings

_SECRET_KEYS = ("password", "api_key")
_NO_KEY = "not-needed"  # local servers (vLLM, Ollama) ignore the key but the SDK insists on one


class Config(BaseModel):
    """Every setting of every stage."""

    model_config = ConfigDict(extra="forbid")

    endpoint: EndpointSettings = Field(default_factory=EndpointSettings, description="the model endpoint")
    extract: ExtractSettings = Field(default_factory=ExtractSettings, description="the extract stage")
    synthesize: SynthesizeSettings = Field(default_factory=SynthesizeSettings, description="the synthesize stage")
    filter: FilterSettings = Field(default_factory=FilterSettings, description="the filter stage")
    split: SplitSettings = Field(default_factory=SplitSettings, description="the split command")
    eval: EvalSettings = Field(default_factory=EvalSettings, description="the eval command")
    workers: int = Field(0, ge=0, description="extract worker processes (0: one per core)")


def load_config(path: Path | None = None, overrides: dict[str, Any] | None = None) -> Config:
    """Build the configuration.

    Args:
        path: a YAML file overlaid on the defaults (may set only some keys).
        overrides: dotted keys from the command line, e.g. ``{"endpoint.model": "gpt-4o"}``; None values are ignored.

    Raises:
        ConfigError: the file is unreadable, or a key is unknown, or a value has the wrong type.
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = _read_yaml(path)
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(data, dotted.split("."), value)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        where = f" in {path}" if path else ""
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        got = f" (got {redact(repr(err['input']))})" if err["type"] != "extra_forbidden" and "input" in err else ""
        what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        more = f" and {exc.error_count() - 1} more problem(s)" if exc.error_count() > 1 else ""
        raise ConfigError(f"config error{where}: {key}: {what}{got}{more}; see configs/default.yaml") from exc


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config {path} is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as "
            "UTF-8 YAML"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}; check the -c path") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config {path}{line} is not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a YAML mapping of sections (endpoint:, extract:, ...)")
    return _no_empty_sections(data)


def _no_empty_sections(data: dict[str, Any], defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """A section written with nothing under it (`endpoint:` and only comments) means its defaults, as if absent."""
    defaults = Config().model_dump() if defaults is None else defaults
    out = {}
    for key, value in data.items():
        default = defaults.get(key) if isinstance(key, str) else None
        if value is None and isinstance(default, dict):
            continue
        out[key] = (
            _no_empty_sections(value, default) if isinstance(value, dict) and isinstance(default, dict) else value
        )
    return out


def _set(data: dict[str, Any], keys: list[str], value: Any) -> None:
    for i, key in enumerate(keys[:-1]):
        inner = data.get(key)
        if inner is None:
            inner = data[key] = {}
        elif not isinstance(inner, dict):
            where = ".".join(keys[: i + 1])
            raise ConfigError(
                f"config error: {where} must be a section of keys, not {inner!r}; see configs/default.yaml"
            )
        data = inner
    data[keys[-1]] = value


def api_key(endpoint: EndpointSettings) -> str:
    """The API key from the one environment variable ``endpoint.api_key_env`` names.

    Never another variable's: a key exported for one service (OPENAI_API_KEY) must not go to a server configured with
    its own variable just because that one is unset.
    """
    key = os.environ.get(endpoint.api_key_env)
    if not key:
        return _NO_KEY
    hold(key)
    return key


def public(obj: Any) -> Any:
    """A settings dump with anything secret-looking blanked, for the manifest and dataset cards."""
    if isinstance(obj, BaseModel):
        obj = obj.model_dump(mode="json")
    if isinstance(obj, dict):
        return {k: ("***" if k in _SECRET_KEYS and v else public(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [public(v) for v in obj]
    return obj
