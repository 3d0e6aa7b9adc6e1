"""Settings of the model endpoint and of the client that talks to it."""

from __future__ import annotations

import urllib.parse
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Price(BaseModel):
    """Price of one model in US dollars per million tokens."""

    model_config = ConfigDict(extra="forbid")

    prompt: float = Field(0.0, ge=0, description="USD per 1M prompt tokens")
    completion: float = Field(0.0, ge=0, description="USD per 1M completion tokens")
    cached: float | None = Field(None, ge=0, description="USD per 1M cached prompt tokens (None: prompt price)")


class EndpointSettings(BaseModel):
    """Where requests go and how hard the client pushes."""

    model_config = ConfigDict(extra="forbid")

    base_url: list[str] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000/v1"],
        description="OpenAI-compatible base URL(s); several spread the load over a fleet",
    )
    model: str = Field("Qwen/Qwen2.5-VL-7B-Instruct", description="model name sent with every request")
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key")
    transport: Literal["sdk", "aiohttp"] = Field(
        "sdk",
        description="how chat requests go out: sdk = the openai SDK over its aiohttp transport; aiohttp = the same "
        "HTTP on a plain aiohttp session (a third of the CPU a request; no SDK import, ~0.6 s less start-up)",
    )
    concurrency: int = Field(64, ge=1, le=4096, description="requests in flight at once")
    requests_per_minute: int | None = Field(None, ge=1, description="request rate cap (None: learn from headers)")
    tokens_per_minute: int | None = Field(None, ge=1, description="token rate cap (None: learn from headers)")
    timeout_s: float = Field(
        180.0,
        gt=0,
        description="seconds to wait for an answer before the request is retried (before any answer: the stage "
        "stops and says so). An answer comes whole, so this bounds a full generation: max_tokens 2048 at ~15 "
        "tokens/s, a 7B vision model on one GPU at full batch, is ~140 s, plus the image prefill and queueing",
    )
    max_retries: int = Field(6, ge=0, description="retries of a retryable failure (429, 5xx, timeout, dropped)")
    backoff_base_s: float = Field(1.0, gt=0, description="first retry delay; doubles each retry, with jitter")
    backoff_max_s: float = Field(60.0, gt=0, description="longest delay between two retries")
    max_reasks: int = Field(1, ge=0, description="re-asks of a cut-off or unparseable answer after local repair")
    structured_output: Literal["auto", "json_schema", "json_object", "prompt"] = Field(
        "auto",
        description="how a schema is sent: auto = what a probe finds the endpoint applies (cached in WORK); "
        "json_schema = response_format json_schema (OpenAI, vLLM, Ollama); json_object = response_format json_object "
        "with a schema (llama-cpp-python); prompt = written into the prompt",
    )
    image_max_pixels: int = Field(1280 * 28 * 28, ge=28 * 28, description="images are downscaled to this budget")
    grace_s: float = Field(30.0, ge=0, description="after Ctrl-C, seconds to let in-flight requests finish")
    temperature: float | None = Field(
        0.7,
        ge=0,
        le=2,
        description="sampling temperature (None: never sent, not even a stage's own; for models that take only their "
        "default, such as OpenAI's o-series and gpt-5)",
    )
    top_p: float | None = Field(0.9, gt=0, le=1, description="nucleus sampling mass (None: never sent, as temperature)")
    max_tokens: int = Field(2048, ge=16, description="completion token cap per request")
    token_limit_field: Literal["max_tokens", "max_completion_tokens"] = Field(
        "max_tokens",
        description="the body field that carries max_tokens: OpenAI's o-series and gpt-5 take only "
        "max_completion_tokens",
    )
    seed: int | None = Field(0, description="sampling seed sent to the endpoint (None: not sent)")
    batch_poll_s: float = Field(30.0, gt=0, description="seconds between status checks of a Batch API job (--batch)")
    prices: dict[str, Price] = Field(default_factory=dict, description="per-model token prices for cost accounting")

    @field_validator("base_url", mode="before")
    @classmethod
    def _one_or_many(cls, v: object) -> object:
        return [v] if isinstance(v, str) else v

    @field_validator("base_url")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        if not urls:
            raise ValueError("give at least one base URL")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL; write it as http://HOST:PORT/v1")
            if "@" in urllib.parse.urlsplit(url).netloc:
                # the URL would be written to the manifest and shown in messages; the key has its own variable
                raise ValueError(
                    "a base URL must not carry user:password@; put the key in the environment variable that "
                    "endpoint.api_key_env names"
                )
        return urls
