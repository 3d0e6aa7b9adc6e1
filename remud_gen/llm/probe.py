"""The capability probe: what an endpoint understands, found with a few tiny requests before a stage spends anything.

    structured output  json_schema, then json_object + schema: each asks for one word under a schema the prompt never
                       mentions, so only an endpoint that applies the schema answers with JSON that follows it; the
                       first that does is used, else the schema is written into the prompt
    images             (stages that send images) the same text as a string, as a list of content parts, and as parts
                       with a small image: the prompt tokens the server reports tell whether the parts reached the
                       model (llama-cpp-python's chatml template drops them without a word) and the image with them

What was found is cached per endpoint (its base URLs) and model in the work directory (`capabilities.py`), so later
stages and re-runs send no probe; the probe's answers are journaled like any request. With an explicit
``endpoint.structured_output`` only the images are probed, and only for stages that send them.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

from remud_gen.errors import ConfigError, EndpointError
from remud_gen.llm.body import Mode
from remud_gen.llm.capabilities import MODES, Capabilities, explicit, read, write
from remud_gen.llm.client import Client, Result
from remud_gen.llm.exchange_errors import auth_message, is_auth_failure
from remud_gen.llm.parse import ParseError, parse_json_object
from remud_gen.llm.request import ChatRequest, Message

_COLOURS = ["red", "green", "blue"]
_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"colour": {"type": "string", "enum": _COLOURS}},
    "required": ["colour"],
    "additionalProperties": False,
}
_TEXT = (
    "An ultrasound probe sends sound into the body and listens for its echoes. Fluid sends back no echo and looks "
    "black; bone sends back nearly all of it and looks white, with a shadow behind it. Say which looks black."
)


async def ensure(client: Client, cache: Path | None, images: str = "", schemas: bool = True) -> Capabilities:
    """Make ``client`` send what its endpoint understands: from the cache, else probed now (and cached).

    Args:
        client: the stage's client (its settings, journal and schema instruction are used).
        cache: the endpoints file of the work directory (None: probe every time).
        images: what of the stage needs images, when it sends any (e.g. "the vqa tasks"; "": none are sent); the
            probe then also checks that they reach the model.
        schemas: the stage sends schemas (eval does not: its structured output needs no probe).

    Raises:
        EndpointError: the stage sends images and the endpoint takes none, or the endpoint cannot be probed.
        ConfigError: the base URL serves no OpenAI API (most often: it lacks /v1).
    """
    settings = client.settings
    caps = read(cache, client.settings) or Capabilities()
    chosen = explicit(settings.structured_output)
    probe_mode = chosen is None and schemas and not caps.probed_mode
    probe_images = bool(images) and caps.images is None
    if probe_mode or probe_images:
        async with _Prober(client) as prober:
            if probe_mode:
                caps.mode, caps.probed_mode = await prober.structured(caps.found), True
            if probe_images:
                caps.images = await prober.images(caps.found)
        caps.cached = False
        write(cache, client.settings, caps)
    caps.mode = chosen or caps.mode
    client.use(caps, cache)
    if images and caps.images is False:
        raise EndpointError(
            f"{settings.base_url[0]} ({settings.model}) takes no images ({caps.found['images']}), and {images} send "
            "them: serve a vision model, or leave them out; nothing was sent for the stage"
        )
    return caps


def ensure_now(client: Client, cache: Path | None, images: str = "", schemas: bool = True) -> Capabilities:
    """`ensure`, from synchronous code (a stage's start); the client's sessions are closed again after."""

    async def go() -> Capabilities:
        try:
            return await ensure(client, cache, images, schemas)
        finally:
            await client.aclose()

    return asyncio.run(go())


def use_cached(client: Client, cache: Path | None) -> Capabilities | None:
    """For --dry-run: what an earlier probe found, put to use; None (and nothing sent) when there was none."""
    caps = read(cache, client.settings)
    if caps is not None:
        caps.mode = explicit(client.settings.structured_output) or caps.mode
        client.use(caps, cache)
    return caps


class _Prober:
    """Sends the probe's requests: one at a time, through a client of their own that retries little and never
    re-asks (a probe that fails is an answer, and waiting a minute of backoff for it is not)."""

    def __init__(self, stage: Client) -> None:
        s = stage.settings.model_copy(update={"max_retries": 2, "max_reasks": 0})
        api_key = stage.servers[0].api_key
        self.client = _ProbeClient(s, stage.journal, api_key, stage.writer.schema_prompt)

    async def __aenter__(self) -> _Prober:
        try:
            await self.client.check_reachable()
        except BaseException:
            await self.client.aclose()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()

    async def structured(self, found: dict[str, str]) -> Mode:
        """The first structured-output mode whose answer follows the schema, else prompt."""
        for mode in MODES:
            self.client.writer.use(mode)
            result = await self._ask(_colour_request(), mode)
            if result.answer is None and result.fix is None and _transient(result):
                # a 500 that names no feature may be a passing fault: a mode judged on it would be cached for good
                raise EndpointError(
                    f"the endpoint failed while probing {mode} ({result.error}: {result.message}); run again"
                )
            found[mode] = _verdict(result)
            if found[mode] == "works":
                return mode
        self.client.writer.use("prompt")
        found["prompt"] = _verdict(await self._ask(_colour_request(), "prompt"))
        return "prompt"

    async def images(self, found: dict[str, str]) -> bool:
        """Whether content parts, and an image among them, reach the model (judged by the prompt tokens)."""
        plain = await self._ask(_content_request([]), "text as a string")
        parts = await self._ask(_content_request(None), "text as content parts")
        base = _prompt_tokens(plain)
        if parts.answer is None:
            found["images"] = f"content parts refused: {parts.error}: {parts.message[:200]}"
            return False
        if base and _prompt_tokens(parts) < 0.8 * base:
            found["images"] = f"content parts dropped: {_prompt_tokens(parts)} of {base} prompt tokens arrived"
            return False
        with tempfile.TemporaryDirectory(prefix="remud-probe-") as folder:
            image = Path(folder) / "probe.png"
            _write_image(image)
            seen = await self._ask(_content_request([image]), "an image")
        if seen.answer is None:
            found["images"] = f"image refused: {seen.error}: {seen.message[:200]}"
            return False
        if _prompt_tokens(parts) and _prompt_tokens(seen) < _prompt_tokens(parts) + 4:
            found["images"] = f"image dropped: the prompt grew by {_prompt_tokens(seen) - _prompt_tokens(parts)} tokens"
            return False
        found["images"] = "works"
        return True

    async def _ask(self, req: ChatRequest, what: str) -> Result:
        result = await self.client.complete(req)
        if result.answer is None and not result.fix:
            _stop_on_setup_failure(result, self.client, what)
        return result


def _stop_on_setup_failure(result: Result, client: Client, what: str) -> None:
    """Failures that say nothing about a feature stop the probe with what to fix."""
    url = client.settings.base_url[0]
    if result.error in ("not_openai", "no_answer"):  # no chat API at all, or one that never answers
        raise EndpointError(result.message)
    if result.error in ("connection", "timeout"):
        raise EndpointError(f"the endpoint failed while probing {what} ({result.error}: {result.message})")
    if is_auth_failure(result.error, result.message):
        raise EndpointError(auth_message(url, result.message, client.settings.api_key_env))
    if result.error == "http_404" and "model" not in result.message.lower():
        hint = f"set endpoint.base_url to {url.rstrip('/')}/v1" if not url.rstrip("/").endswith("/v1") else ""
        raise ConfigError(
            f"{url} has no chat/completions (HTTP 404: {result.message}); "
            + (hint or "check endpoint.base_url against the server's documentation")
        )
    if result.error == "http_404":
        raise ConfigError(f"{result.message} (check endpoint.model / --model against the server's GET /models)")


def _transient(result: Result) -> bool:
    return result.error in ("http_429", "bad_response") or result.error.startswith("http_5") if result.error else False


def _colour_request() -> ChatRequest:
    return ChatRequest(
        item="probe:structured-output",
        messages=[Message("user", "Name one colour.")],
        schema=_SCHEMA,
        schema_name="probe",
        params={"max_tokens": 128},
        parse=_colour,
    )


def _colour(text: str) -> str:
    colour = parse_json_object(text).get("colour")
    if colour not in _COLOURS:
        raise ParseError(f"colour {colour!r} is none of {_COLOURS}")
    return str(colour)


def _content_request(images: list[Path] | None) -> ChatRequest:
    """The same text as a string ([]), as one text part (None), or as parts with ``images``."""
    item = "probe:string" if images == [] else "probe:parts" if images is None else "probe:image"
    return ChatRequest(
        item=item,
        messages=[Message("user", _TEXT, tuple(images or ()))],
        prompt_version=item,  # the string and the parts request differ on the wire only: their keys must differ too
        params={"max_tokens": 16},
        meta={"parts": images is None},
    )


class _ProbeClient(Client):
    """The client, able to send text as a list of content parts without an image (what `BodyWriter` never does)."""

    def body(self, req: ChatRequest) -> dict[str, Any]:
        body = super().body(req)
        if req.meta.get("parts"):
            for message in body["messages"]:
                if isinstance(message["content"], str):
                    message["content"] = [{"type": "text", "text": message["content"]}]
        return body


def _verdict(result: Result) -> str:
    if result.ok:
        return "works"
    if result.answer is None:
        return f"refused: {result.error}: {result.message[:300]}"
    answer = result.answer
    if answer.finish_reason == "length" and not answer.content.strip() and answer.reasoning:
        return "works"  # a reasoning model spent the budget thinking; the server took the request as it was
    return f"ignored: the answer did not follow the schema ({answer.content[:80]!r})"


def _prompt_tokens(result: Result) -> int:
    return result.answer.prompt_tokens if result.answer is not None else 0


def _write_image(path: Path) -> None:
    from PIL import Image

    Image.linear_gradient("L").resize((64, 64)).convert("RGB").save(path)
