"""In-memory Files API (upload, list, retrieve, content, delete) in OpenAI's shapes, enough for the Batch API."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from remud_gen.stub.error_responses import ApiError, bad_request

PURPOSES = frozenset({"assistants", "batch", "fine-tune", "vision", "user_data", "evals"})


@dataclass
class StoredFile:
    """One uploaded or generated file."""

    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def card(self) -> dict[str, Any]:
        """The file as OpenAI's FileObject JSON."""
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }


class FileStore:
    """Files kept in memory for the lifetime of one stand-in."""

    def __init__(self) -> None:
        self.files: dict[str, StoredFile] = {}

    def add(self, filename: str, purpose: str, data: bytes) -> StoredFile:
        """Store `data` under a new file id."""
        stored = StoredFile(f"file-{uuid.uuid4().hex[:24]}", filename, purpose, data, int(time.time()))
        self.files[stored.id] = stored
        return stored

    def get(self, file_id: str) -> StoredFile:
        """The file with `file_id`, or a 404 ApiError."""
        try:
            return self.files[file_id]
        except KeyError:
            raise ApiError(404, f"No such File object: {file_id}", param="id", code="not_found") from None


FILES = web.AppKey("remud_gen_stub_files", FileStore)


def add_file_routes(app: web.Application) -> None:
    """Register /v1/files routes on `app` with a fresh store."""
    app[FILES] = FileStore()
    app.router.add_post("/v1/files", _upload)
    app.router.add_get("/v1/files", _list)
    app.router.add_get("/v1/files/{id}", _retrieve)
    app.router.add_delete("/v1/files/{id}", _delete)
    app.router.add_get("/v1/files/{id}/content", _content)


async def _upload(request: web.Request) -> web.Response:
    if not request.content_type.startswith("multipart/"):
        raise bad_request("Uploads must be multipart/form-data with 'file' and 'purpose' fields.", "file")
    try:
        form = await request.post()
    except (ValueError, HttpProcessingError) as exc:
        raise bad_request(f"Could not read the multipart upload: {' '.join(str(exc).split())}", "file") from exc
    purpose = form.get("purpose")
    upload = form.get("file")
    if not isinstance(purpose, str) or purpose not in PURPOSES:
        raise bad_request(f"purpose must be one of {sorted(PURPOSES)}, got {purpose!r}", "purpose")
    if not isinstance(upload, web.FileField):
        raise bad_request("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    data = upload.file.read()
    if purpose == "batch" and not upload.filename.endswith(".jsonl"):
        raise bad_request("Batch input files must be .jsonl files.", "file")
    return web.json_response(request.app[FILES].add(upload.filename, purpose, data).card())


async def _list(request: web.Request) -> web.Response:
    cards = [f.card() for f in request.app[FILES].files.values()]
    return web.json_response({"object": "list", "data": cards, "has_more": False})


async def _retrieve(request: web.Request) -> web.Response:
    return web.json_response(request.app[FILES].get(request.match_info["id"]).card())


async def _delete(request: web.Request) -> web.Response:
    store = request.app[FILES]
    stored = store.get(request.match_info["id"])
    del store.files[stored.id]
    return web.json_response({"id": stored.id, "object": "file", "deleted": True})


async def _content(request: web.Request) -> web.Response:
    stored = request.app[FILES].get(request.match_info["id"])
    return web.Response(body=stored.data, content_type="application/octet-stream")
