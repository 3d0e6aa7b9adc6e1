"""Settings of where extract's documents run (`extract.executor`, `extract.ray`).

They never change what is extracted, so they are left out of the settings fingerprint (`exclude=True` where they
are used): a document extracted locally is not extracted again on Ray, and the other way round.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RaySettings(BaseModel):
    """One Ray task per document: what it reserves, how often it is retried, how its input travels."""

    model_config = ConfigDict(extra="forbid")

    address: str = Field(
        "",
        description="the Ray cluster to join, e.g. ray://head:10001 or auto (empty: RAY_ADDRESS if set, else a Ray "
        "instance started on this machine with one CPU per worker; or pass --ray-address)",
    )
    cpus_per_task: float = Field(1.0, gt=0, description="CPUs Ray reserves for one document (also its OCR threads)")
    memory_mb: int = Field(
        1500, ge=0, description="memory Ray reserves for one document, in MB (0: none declared); OCR and a page render"
    )
    max_retries: int = Field(3, ge=0, description="times a document is run again when its worker or node dies")
    send_max_mb: int = Field(
        256,
        ge=0,
        description="a document (with its page images and caption sidecar) up to this size in MB is sent to the "
        "worker as bytes; a larger one is read by the worker from the same path (a mount every node shares)",
    )
