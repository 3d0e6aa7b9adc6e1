"""Settings of the stand-in endpoint, validated once when the server is built."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rate = float
FAULT_KINDS: tuple[str, ...] = (
    "429",
    "500",
    "503",
    "drop",
    "slow",
    "malformed",
    "truncate",
    "empty",
    "bad_body",
    "error_200",
)
_MIB = 1024 * 1024
# What real servers do that OpenAI does not, measured against llama-cpp-python 0.3.36's server (SmolLM2-135M GGUF):
# json_schema is a 500 ("Input should be 'text' or 'json_object'"), json_object takes a "schema" and constrains the
# answer to it, and a list of content parts fails with a 500 (the GGUF's own template) or is dropped (--chat_format
# chatml: 15 prompt tokens reached the model instead of 218).
IMITATIONS: dict[str, dict[str, object]] = {
    "openai": {},
    "llama-cpp": {"json_schema": "refuse", "json_object_schema": True, "parts": "fail"},
    "llama-cpp-chatml": {"json_schema": "refuse", "json_object_schema": True, "parts": "drop"},
}


class StubSettings(BaseModel):
    """How the stand-in behaves: where it listens, how fast it answers and which faults it injects.

    Fault rates are probabilities per attempt of one request; at most one fault hits an attempt, so their sum
    must stay within 1. A retry of the same request is a new attempt and can succeed.
    """

    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535, description="0 picks a free port")
    model: str = Field(default="stand-in", min_length=1, description="model id listed and echoed in answers")
    seed: int = Field(default=0, description="mixed into every answer's seed; change it to get other answers")
    latency_s: float = Field(default=0.0, ge=0, description="fixed delay before every chat answer")
    api_key: str | None = Field(default=None, description="when set, requests must send 'Authorization: Bearer KEY'")
    max_body_bytes: int = Field(default=32 * _MIB, gt=0, description="larger chat bodies get 413")
    max_file_bytes: int = Field(default=200 * _MIB, gt=0, description="larger file uploads get 413")
    reasoning: bool = Field(default=False, description="also return message.reasoning_content, like vLLM/DeepSeek-R1")
    strict_model: bool = Field(default=False, description="answer 404 for a model id other than `model`")
    high_bias: float = Field(default=0.85, ge=0, le=1, description="how often 1..5 scores land on 4-5")
    exam_accuracy: float | None = Field(
        default=None, ge=0, le=1, description="answer [[exam id=.. key=..]] questions right this often"
    )
    exam_seed: int = Field(default=0, description="mixed into every exam-mode draw (see exam.py)")
    continue_final_message: bool = Field(
        default=True, description="honour vLLM's continue_final_message (false: 400, as OpenAI)"
    )
    json_schema: Literal["honour", "refuse"] = Field(
        default="honour",
        description="response_format json_schema: apply it, or refuse it with the 500 llama-cpp-python's server sends",
    )
    json_object_schema: bool = Field(
        default=False, description="apply a schema sent inside response_format json_object, as llama-cpp-python does"
    )
    parts: Literal["read", "drop", "fail"] = Field(
        default="read",
        description="message content given as a list of parts: read it; drop it without a word (llama-cpp-python's "
        "chatml template: the model sees nothing of it); or fail with a 500 (its GGUF-template path)",
    )
    box_format: Literal["qwen", "norm1000"] = Field(
        default="qwen", description="box answers (prompts naming bbox_2d): qwen pixels of the resized image, or 0-1000"
    )
    box_min_pixels: int = Field(default=56 * 56, ge=28 * 28, description="qwen box format: smart-resize min_pixels")
    box_max_pixels: int = Field(
        default=28 * 28 * 16384, ge=28 * 28, description="qwen box format: smart-resize max_pixels"
    )

    fault_429: Rate = Field(default=0.0, ge=0, le=1)
    fault_500: Rate = Field(default=0.0, ge=0, le=1)
    fault_503: Rate = Field(default=0.0, ge=0, le=1)
    fault_drop: Rate = Field(default=0.0, ge=0, le=1, description="close the connection without a response")
    fault_slow: Rate = Field(default=0.0, ge=0, le=1, description="answer only after slow_s seconds")
    fault_malformed: Rate = Field(default=0.0, ge=0, le=1, description="broken JSON content when JSON was asked for")
    fault_truncate: Rate = Field(default=0.0, ge=0, le=1, description="cut answer, finish_reason 'length'")
    fault_empty: Rate = Field(default=0.0, ge=0, le=1, description="empty content")
    fault_bad_body: Rate = Field(default=0.0, ge=0, le=1, description="HTTP 200 whose body is cut-off JSON")
    fault_error_200: Rate = Field(
        default=0.0, ge=0, le=1, description="HTTP 200 with an error object and no choices, as some gateways answer"
    )
    max_faults_per_request: int | None = Field(
        default=None, ge=0, description="stop injecting faults into a request after this many faulty attempts"
    )
    slow_s: float = Field(default=5.0, ge=0)
    retry_after_s: float = Field(default=1.0, ge=0, description="delay a 429 asks the client to wait")
    retry_after_header: Literal["seconds", "ms", "both"] = "both"

    ratelimit_requests: int = Field(default=1_000_000, gt=0, description="requests allowed per rolling minute")
    ratelimit_tokens: int = Field(default=1_000_000_000, gt=0, description="tokens allowed per rolling minute")
    batch_delay_s: float = Field(default=0.05, ge=0, description="how long a batch stays 'validating'")

    @classmethod
    def like(cls, server: str, **values: object) -> StubSettings:
        """Settings that imitate a real server's quirks (see `IMITATIONS`), with ``values`` on top."""
        return cls.model_validate({**IMITATIONS[server], **values})

    @model_validator(mode="after")
    def _faults_fit(self) -> Self:
        total = sum(self.fault_rate(kind) for kind in FAULT_KINDS)
        if total > 1 + 1e-9:
            raise ValueError(f"fault rates add up to {total:.3f}; at most one fault hits an attempt, keep it <= 1")
        return self

    def fault_rate(self, kind: str) -> float:
        """The configured rate of one fault kind (see FAULT_KINDS)."""
        return float(getattr(self, f"fault_{kind}"))
