"""Validate a chat-completions body the way a real server does and extract what the answer needs."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from remud_gen.stub.error_responses import ApiError, bad_request
from remud_gen.stub.images import image_tokens
from remud_gen.stub.text import count_tokens

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_NOT_IN_SEED = frozenset(
    {"max_tokens", "max_completion_tokens", "n", "stream", "stream_options", "user", "metadata", "store"}
)
_SCHEMA_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# llama-cpp-python 0.3.36's server, word for word (its pydantic error, then where it was raised)
_LLAMA_CPP_JSON_SCHEMA = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input "
    "should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}"
    '\n\n  File "llama_cpp/server/app.py", line 376, in create_chat_completion\n    POST /v1/chat/completions'
)
# Chat templates add a few tokens of framing per message and to prime the reply.
_PER_MESSAGE = 4
_PRIMING = 3


@dataclass
class ChatRequest:
    """A validated chat request: the parts of it that shape the answer."""

    body: dict[str, Any]
    digest: bytes
    texts: list[str] = field(default_factory=list)
    last_user_text: str = ""
    prompt_tokens: int = 0
    n: int = 1
    max_tokens: int | None = None
    format: str = "text"
    schema: dict[str, Any] | None = None

    @property
    def wants_json(self) -> bool:
        """True when the client asked for JSON content (json_object or json_schema)."""
        return self.format != "text"


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a request body into a JSON object, or raise the 400 OpenAI sends for unparsable bodies."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(f"We could not parse the JSON body of your request ({exc}).", code="invalid_json") from exc
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return body


@dataclass(frozen=True)
class Quirks:
    """How the stand-in reads what real servers read differently (see `StubSettings` and `IMITATIONS`)."""

    json_schema: str = "honour"
    json_object_schema: bool = False
    parts: str = "read"


def parse_chat(body: dict[str, Any], model: str | None = None, quirks: Quirks = Quirks()) -> ChatRequest:
    """Validate a chat-completions body.

    Args:
        body: the decoded JSON body.
        model: when given, the only model id accepted (others get 404).
        quirks: another server's way of reading response_format and content parts.

    Returns:
        The request's texts, token count and answer options.

    Raises:
        ApiError: 400 for a malformed request, 404 for an unknown model when `model` is given, 500 where the imitated
            server fails.
    """
    name = body.get("model")
    if not isinstance(name, str) or not name:
        raise bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter")
    if model is not None and name != model:
        raise ApiError(404, f"The model `{name}` does not exist.", code="model_not_found", param="model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Missing required parameter: 'messages'.", "messages", "missing_required_parameter")
    if body.get("stream"):
        raise bad_request("stream=true is not supported by the stand-in endpoint.", "stream", "unsupported_value")
    # Length limits and delivery options do not change what a model would say, so they stay out of the seed:
    # a max_tokens cut is then a prefix of the full answer and choice 0 of n=3 equals the n=1 answer.
    content = {k: v for k, v in body.items() if k not in _NOT_IN_SEED}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    req = ChatRequest(body=body, digest=hashlib.sha256(canonical.encode()).digest())
    tokens = _PRIMING
    for i, message in enumerate(messages):
        tokens += _PER_MESSAGE + _read_message(req, message, f"messages[{i}]", quirks.parts)
    req.prompt_tokens = tokens
    req.n = _int(body, "n", 1, 1, 128)
    key = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    req.max_tokens = _int(body, key, 0, 1, 10_000_000) or None
    _number(body, "temperature", 0.0, 2.0)
    _number(body, "top_p", 0.0, 1.0)
    _read_format(req, body.get("response_format"), quirks)
    return req


def _read_message(req: ChatRequest, message: Any, where: str, parts: str = "read") -> int:
    if not isinstance(message, dict):
        raise bad_request(f"{where} must be an object", where)
    role = message.get("role")
    if role not in _ROLES:
        raise bad_request(f"{where}.role must be one of {sorted(_ROLES)}, got {role!r}", f"{where}.role")
    content = message.get("content")
    texts: list[str] = []
    tokens = 0
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list) and parts == "fail":
        raise ApiError(500, 'can only concatenate str (not "list") to str')  # llama-cpp-python's GGUF template
    elif isinstance(content, list) and parts == "drop":
        pass  # llama-cpp-python's chatml template reads only string content: the model sees an empty turn
    elif isinstance(content, list):
        for j, part in enumerate(content):
            tokens += _read_part(part, f"{where}.content[{j}]", texts)
    elif content is not None or role != "assistant":
        raise bad_request(f"{where}.content must be a string or a list of content parts", f"{where}.content")
    req.texts.extend(texts)
    if role == "user":
        req.last_user_text = "\n".join(texts)
    return tokens + sum(count_tokens(t) for t in texts)


def _read_part(part: Any, where: str, texts: list[str]) -> int:
    kind = part.get("type") if isinstance(part, dict) else None
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise bad_request(f"{where}.text must be a string", f"{where}.text")
        texts.append(part["text"])
        return 0
    if kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        return image_tokens(url, f"{where}.image_url.url")
    raise bad_request(f"{where}.type must be 'text' or 'image_url', got {kind!r}", f"{where}.type")


def _read_format(req: ChatRequest, fmt: Any, quirks: Quirks) -> None:
    if fmt is None:
        return
    kind = fmt.get("type") if isinstance(fmt, dict) else None
    if kind not in ("text", "json_object", "json_schema"):
        raise bad_request("response_format.type must be 'text', 'json_object' or 'json_schema'", "response_format.type")
    if kind == "json_schema" and quirks.json_schema == "refuse":
        raise ApiError(500, _LLAMA_CPP_JSON_SCHEMA)
    req.format = kind
    if kind == "json_object" and quirks.json_object_schema and isinstance(fmt.get("schema"), dict):
        req.schema = fmt["schema"]
    if kind != "json_schema":
        return
    spec = fmt.get("json_schema")
    if not isinstance(spec, dict):
        raise bad_request("response_format.json_schema must be an object", "response_format.json_schema")
    if not isinstance(spec.get("name"), str) or not _SCHEMA_NAME_RE.fullmatch(spec["name"]):
        raise bad_request(
            "response_format.json_schema.name must be 1-64 letters, digits, '_' or '-'",
            "response_format.json_schema.name",
        )
    if not isinstance(spec.get("schema"), dict):
        raise bad_request("response_format.json_schema.schema must be an object", "response_format.json_schema")
    req.schema = spec["schema"]


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise bad_request(f"{key} must be an integer in [{low}, {high}], got {value!r}", key)
    return value


def _number(body: dict[str, Any], key: str, low: float, high: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise bad_request(f"{key} must be a number in [{low}, {high}], got {value!r}", key)
