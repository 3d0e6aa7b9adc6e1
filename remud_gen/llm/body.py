"""The JSON body of a chat request, written the way this endpoint understands it.

How a schema travels depends on the endpoint (`probe.py` finds out, or ``endpoint.structured_output`` says):

    json_schema   response_format {"type": "json_schema", "json_schema": {...}}   (OpenAI, vLLM, Ollama)
    json_object   response_format {"type": "json_object", "schema": {...}}        (llama-cpp-python's server)
    prompt        the schema written into the user turn                           (anything else)

A message without an image is always a string: a list of content parts is dropped without a word by some chat
templates (llama-cpp-python's chatml: 15 prompt tokens reached the model instead of 218) and refused by others.

Everything that shapes the answer and is not in the request itself (model, sampling, structured-output mode and its
instruction) is the body's ``shape``, which goes into every journal key: an answer made one way is never served for a
request made another way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from remud_gen.llm.request import ChatRequest
from remud_gen.llm.settings import EndpointSettings

Mode = Literal["json_schema", "json_object", "prompt"]


class BodyWriter:
    """Writes request bodies for one endpoint, in one structured-output mode.

    Args:
        settings: the endpoint settings (model, sampling, token limit field, image budget).
        schema_prompt: the instruction that carries a schema in prompt mode (`{schema}` is replaced).
    """

    def __init__(self, settings: EndpointSettings, schema_prompt: str = "") -> None:
        self.settings = settings
        self.schema_prompt = schema_prompt
        self._formats: dict[tuple[str, str, int], _Format] = {}  # response_format objects by (mode, name, schema id)
        self._hints: dict[int, tuple[dict[str, Any], str]] = {}  # prompt mode: schema id -> (schema, instruction)
        # Until a probe says otherwise: what the settings ask for, and json_schema for `auto` (what most servers take)
        setting = settings.structured_output
        self.mode: Mode = "json_schema" if setting == "auto" else setting
        self.shape_plain = self.shape_schema = ""
        self.use(self.mode)

    def use(self, mode: Mode) -> None:
        """Write schemas the ``mode`` way from now on (and key journal entries by it)."""
        s = self.settings
        self.mode = mode
        sampling = {"model": s.model, "temperature": s.temperature, "top_p": s.top_p, "max_tokens": s.max_tokens}
        sampling["seed"] = s.seed
        self.shape_plain = _dumps(sampling)
        instruction = self.schema_prompt if mode == "prompt" else ""
        self.shape_schema = _dumps({**sampling, "structured_output": mode, "instruction": instruction})

    def shape(self, req: ChatRequest) -> str:
        """What besides the request itself decides its answer: the text its journal key is made with."""
        return self.shape_plain if req.schema is None else self.shape_schema

    def body(self, req: ChatRequest) -> dict[str, Any]:
        """The request as this endpoint's chat/completions JSON (a dict; `encode` writes its bytes)."""
        s = self.settings
        messages = [self._message(m.role, m.text, m.images) for m in req.messages]
        body: dict[str, Any] = {"model": s.model, "messages": messages}
        # A sampling setting of None means the endpoint takes none: a stage's own value is not sent either.
        if s.temperature is not None:
            body["temperature"] = req.params.get("temperature", s.temperature)
        if s.top_p is not None:
            body["top_p"] = req.params.get("top_p", s.top_p)
        body[s.token_limit_field] = int(req.params.get("max_tokens", s.max_tokens))
        seed = req.params.get("seed", s.seed)
        if seed is not None:
            body["seed"] = seed
        if req.params.get("n", 1) != 1:
            body["n"] = req.params["n"]
        if req.schema is not None:
            if self.mode == "prompt":
                last = messages[-1]
                hint = self._hint(req.schema)
                if isinstance(last["content"], str):
                    last["content"] = f"{last['content']}\n\n{hint}"
                else:
                    last["content"] = [*last["content"], {"type": "text", "text": hint}]
            else:
                body["response_format"] = self._response_format(req.schema_name, req.schema)
        return body

    def encode(self, body: dict[str, Any]) -> bytes:
        """The body's JSON, byte for byte as the openai SDK encodes it (`openapi_dumps`) for these plain values.

        A schema is most of a body's structure (~60% of its encoding time) and the same in every request of a task:
        when ``response_format`` is one `body` made, and the last key, its text encoded once is put in place.
        """
        fmt = body.get("response_format")
        if not isinstance(fmt, _Format) or next(reversed(body)) != "response_format":
            return _dumps(body).encode()
        rest = {k: v for k, v in body.items() if k != "response_format"}
        return (_dumps(rest)[:-1] + ',"response_format":' + fmt.text + "}").encode()

    def _response_format(self, name: str, schema: dict[str, Any]) -> _Format:
        """The structured-output request for ``schema``: one object, with its JSON text, per schema object and name.

        Schemas are built once per task and never changed after; a request holds its task's schema object.
        """
        fmt = self._formats.get((self.mode, name, id(schema)))
        if fmt is None or fmt.schema is not schema:
            fmt = self._formats[self.mode, name, id(schema)] = _Format(self.mode, name, schema)
        return fmt

    def _hint(self, schema: dict[str, Any]) -> str:
        known = self._hints.get(id(schema))
        if known is None or known[0] is not schema:
            text = self.schema_prompt.replace("{schema}", json.dumps(schema, ensure_ascii=False)).strip()
            known = self._hints[id(schema)] = (schema, text)
        return known[1]

    def _message(self, role: str, text: str, images: tuple[Path, ...]) -> dict[str, Any]:
        if not images:
            return {"role": role, "content": text}
        from remud_gen.llm.images import data_url  # PIL is imported only by runs that send images

        parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
        for path in images:
            parts.append({"type": "image_url", "image_url": {"url": data_url(path, self.settings.image_max_pixels)}})
        return {"role": role, "content": parts}


class _Format(dict[str, Any]):
    """A `response_format` object that carries its own JSON text (`BodyWriter.encode` puts it in place)."""

    def __init__(self, mode: Mode, name: str, schema: dict[str, Any]) -> None:
        if mode == "json_object":  # llama-cpp-python turns the schema into a grammar; json_schema is a 500 there
            super().__init__(type="json_object", schema=schema)
        else:
            super().__init__(type="json_schema", json_schema={"name": name, "schema": schema, "strict": False})
        self.schema = schema
        self.text = _dumps(self)


def _dumps(value: Any) -> str:
    """JSON as the openai SDK's `openapi_dumps` writes it: compact, non-ASCII kept, no NaN."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
