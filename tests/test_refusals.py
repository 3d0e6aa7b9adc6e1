"""Which failures are a server refusing a feature of the request (never retried; the stage stops) and which are not.

The messages are the servers' own, word for word.
"""

from __future__ import annotations

import json

import pytest

from remud_gen.llm.exchange_errors import APIStatusError, describe
from remud_gen.llm.refusal import refusal

LLAMA_CPP_JSON_SCHEMA = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), 'msg': \"Input "
    "should be 'text' or 'json_object'\", 'input': 'json_schema', 'ctx': {'expected': \"'text' or 'json_object'\"}}"
    '\n\n  File "llama_cpp/server/app.py", line 376, in create_chat_completion\n    POST /v1/chat/completions'
)


def error(status: int, message: str) -> APIStatusError:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": None}}
    return APIStatusError.from_answer(status, {}, json.dumps(body).encode())


@pytest.mark.parametrize(
    ("status", "message", "fix"),
    [
        (500, LLAMA_CPP_JSON_SCHEMA, "endpoint.structured_output"),  # llama-cpp-python 0.3.36
        (
            400,
            "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
            "endpoint.structured_output",
        ),
        (
            400,
            "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.",
            "endpoint.token_limit_field: max_completion_tokens",
        ),
        (
            400,
            "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is "
            "supported.",
            "endpoint.temperature and endpoint.top_p to null",
        ),
        (400, "At most 0 image(s) may be provided in one request.", "takes no images"),  # vLLM, a text model
        (400, "Invalid content type. image_url is only supported by certain models.", "takes no images"),  # OpenAI
        # not refusals: the item's own fault, or a passing one
        (
            400,
            "This model's maximum context length is 2048 tokens. However, you requested 3041 tokens (3031 in the "
            "messages, 10 in the completion). Please reduce the length of the messages or completion.",
            None,
        ),
        (
            400,
            "'max_tokens' or 'max_completion_tokens' is too large: 2048. This model's maximum context length is "
            "2048 tokens and your request has 100 input tokens (2048 > 2048 - 100).",
            None,
        ),
        (500, 'can only concatenate str (not "list") to str', None),
        (500, "The server had an error while processing your request.", None),
        (429, "Rate limit reached: the response_format json_schema is not supported at this rate", None),
        (401, "Incorrect API key provided.", None),
    ],
)
def test_refusals_are_known_by_what_the_server_says(status: int, message: str, fix: str | None) -> None:
    found = refusal(error(status, message))
    assert (found is None) == (fix is None), found
    if fix is not None:
        assert found is not None and fix in found


def test_the_failure_record_keeps_every_line_of_the_servers_message() -> None:
    kind, message = describe(error(500, LLAMA_CPP_JSON_SCHEMA))
    assert kind == "http_500" and "Input should be 'text' or 'json_object'" in message
