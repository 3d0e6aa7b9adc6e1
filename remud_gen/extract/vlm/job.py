"""What an extract worker is handed to reach the vision endpoint (kept free of the client's imports)."""

from __future__ import annotations

from dataclasses import dataclass

from remud_gen.extract.settings import ExtractSettings
from remud_gen.extract.vlm.geometry import BoxFormat, default_format
from remud_gen.llm.access import ModelAccess
from remud_gen.llm.settings import EndpointSettings


@dataclass(frozen=True)
class VlmJob:
    """The endpoint and key for one worker process (picklable).

    Attributes:
        model: the endpoint, with `concurrency` already this worker's share, and its key (in memory only).
    """

    model: ModelAccess

    @property
    def endpoint(self) -> EndpointSettings:
        return self.model.endpoint


def box_format(settings: ExtractSettings, endpoint: EndpointSettings) -> BoxFormat:
    """The configured box format, or the model's usual one for "auto"."""
    fmt = settings.vlm.box_format
    return default_format(endpoint.model) if fmt == "auto" else fmt
