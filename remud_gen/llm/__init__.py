"""The model client shared by every stage that calls a model."""

from remud_gen.llm.client import Client, Result, check_reachable
from remud_gen.llm.journal import Answer, Journal
from remud_gen.llm.request import ChatRequest, Message
from remud_gen.llm.runner import Budget, RunStats, run_requests
from remud_gen.llm.settings import EndpointSettings, Price

__all__ = [
    "Answer",
    "Budget",
    "ChatRequest",
    "Client",
    "EndpointSettings",
    "Journal",
    "Message",
    "Price",
    "Result",
    "RunStats",
    "check_reachable",
    "run_requests",
]
