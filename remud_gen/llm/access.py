"""What a stage is handed to reach its model: the endpoint and its key, made into a client on demand."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from remud_gen.llm.settings import EndpointSettings

if TYPE_CHECKING:  # the client pulls in the HTTP stack; this module is handed to worker processes and must stay light
    from remud_gen.llm.client import Client
    from remud_gen.llm.journal import Journal


@dataclass(frozen=True)
class ModelAccess:
    """How a stage reaches its model: the endpoint and its key, turned into a `Client` per journal.

    A client is bound to the journal in its stage's folder, which exists only once the stage holds that folder; so a
    stage receives this and asks it for the client, instead of building one from settings itself.

    Args:
        endpoint: the endpoint settings (URLs, model, limits).
        api_key: the key (from the environment; never stored).
        client_class: the client to build (None: `Client`; eval's continues a final assistant message).
    """

    endpoint: EndpointSettings
    api_key: str = field(default="", repr=False)  # never in a log line or a traceback
    client_class: type[Client] | None = None

    def client(self, journal: Journal | None, schema_prompt: str = "") -> Client:
        """A client of this endpoint that records its answers in ``journal``."""
        from remud_gen.llm.client import Client

        return (self.client_class or Client)(self.endpoint, journal, self.api_key, schema_prompt)

    def to(self, endpoint: EndpointSettings) -> ModelAccess:
        """The same access (key, client class) to another endpoint, such as the judge's."""
        return replace(self, endpoint=endpoint)
