"""`make demo`: build a sample atlas, start the stand-in endpoint, run every stage against it, show the shards.

It runs the real command line, exactly as a user would, so the demo also proves the commands work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# samplegen (the demo's input) lives in the checkout, not in the installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from samplegen import write_sample

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"demo: the stand-in endpoint exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"demo: the stand-in endpoint did not answer at {url} within {seconds:.0f}s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--work", type=Path, default=ROOT / "demo-work", help="work directory of the demo")
    ap.add_argument("--fresh", action="store_true", help="delete the work directory first")
    args = ap.parse_args()
    for name in ("NO_PROXY", "no_proxy"):  # the stand-in is on this machine: never through an HTTP(S)_PROXY
        os.environ[name] = ",".join(filter(None, [os.environ.get(name, ""), "127.0.0.1", "localhost"]))
    work: Path = args.work
    if args.fresh and work.exists():
        shutil.rmtree(work)
    inputs = work / "input"
    sample = write_sample(inputs)
    print(f"demo: sample atlas written: {', '.join(p.name for p in sample.pdfs)} in {inputs}")

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    server = subprocess.Popen([str(BIN / "remud-gen"), "stub-server", "--port", str(port)])
    try:
        wait_until_up(url, server)
        cmd = [
            str(BIN / "remud-gen"),
            "run",
            str(inputs),
            "-o",
            str(work),
            "-c",
            str(ROOT / "configs" / "demo.yaml"),
            "--base-url",
            url,
            "--model",
            "stand-in",
        ]
        print("demo: $ " + " ".join(cmd[1:]), flush=True)
        env = dict(os.environ, OPENAI_API_KEY=os.environ.get("OPENAI_API_KEY", "demo-not-a-secret"))
        code = subprocess.call(cmd, env=env)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    if code != 0:
        print(f"demo: the pipeline exited with {code}", file=sys.stderr)
        return code
    shards = sorted((work / "dataset").glob("remud-*-of-*.json"))
    items = sum(len(json.loads(p.read_text(encoding="utf-8"))) for p in shards)
    if not shards or items == 0:
        print("demo: no dataset items were written", file=sys.stderr)
        return 1
    print(f"demo: {items} items in {len(shards)} shard(s):")
    for p in shards:
        print(f"  {p}")
    print(f"demo: review page: {work / 'dataset' / 'report.html'}   manifest: {work / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
