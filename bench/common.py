"""What every benchmark shares: measured processes, the stand-in server, results with targets, the machine.

A measured command always runs in its own process so its CPU time and peak RSS (from `wait4`) are its own; the
stand-in runs in another process so the two never share one GIL on a 2-core machine.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import platform
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REMUD = str(BIN / "remud-gen")
CORPUS = ROOT.parent / "shared" / "corpus"
MIB = 1024 * 1024
PEAK = str(Path(__file__).with_name("peak.py"))
_PEAK_FILES: dict[int, str] = {}  # pid of a spawned command -> where peak.py writes its peak RSS


@dataclass
class Result:
    """One benchmark line: a number, the target it is held to, and whether it met it."""

    bench: str
    metric: str
    value: float | None
    unit: str
    target: str = ""
    passed: bool | None = None  # None: reported only, no target
    note: str = ""


@dataclass
class Proc:
    """What one finished process cost."""

    wall_s: float
    cpu_s: float  # user + sys
    peak_rss_mb: float
    returncode: int
    stdout: str = ""
    stderr: str = ""


@dataclass
class Section:
    """Results of one benchmark, plus the raw measurements kept for results.json."""

    name: str
    results: list[Result] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def add(self, *results: Result) -> None:
        self.results.extend(results)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "results": [asdict(r) for r in self.results], "raw": self.raw}


def local_only() -> None:
    """Keep this process and what it starts off any HTTP(S)_PROXY: every server a benchmark talks to is local."""
    for name in ("NO_PROXY", "no_proxy"):
        os.environ[name] = ",".join(filter(None, [os.environ.get(name, ""), "127.0.0.1", "localhost"]))


def spawn(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.Popen[str]:
    """Start a measured command with its output captured (stdout/stderr go to pipes, read at the end).

    The command runs under `peak.py`, which records its own peak RSS; signal it with `os.killpg(proc.pid, ...)`.
    """
    full_env = {**os.environ, **(env or {})}
    fd, peak_file = tempfile.mkstemp(prefix="remud-bench-", suffix=".rss")
    os.close(fd)
    proc = subprocess.Popen(
        [sys.executable, "-S", PEAK, peak_file, *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full_env,
        cwd=cwd,
        start_new_session=True,  # its own process group: a signal we send reaches this command only
    )
    _PEAK_FILES[proc.pid] = peak_file
    return proc


def reap(proc: subprocess.Popen[str], started: float, timeout_s: float = 1800.0) -> Proc:
    """Wait for ``proc`` and return its own wall time, CPU time and peak RSS (via wait4, so per process)."""
    out, err = _communicate(proc, timeout_s)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_file = Path(_PEAK_FILES.pop(proc.pid))
    peak_kb = int(peak_file.read_text() or usage.ru_maxrss)  # empty only if peak.py itself failed
    peak_file.unlink()
    return Proc(wall, usage.ru_utime + usage.ru_stime, peak_kb / 1024, proc.returncode, out, err)


def _communicate(proc: subprocess.Popen[str], timeout_s: float) -> tuple[str, str]:
    # Read the pipes to EOF without letting Popen reap the child: wait4 must be the one to collect it.
    assert proc.stdout is not None and proc.stderr is not None
    deadline = time.monotonic() + timeout_s
    sel = selectors.DefaultSelector()
    chunks: dict[int, list[bytes]] = {1: [], 2: []}
    sel.register(proc.stdout, selectors.EVENT_READ, 1)
    sel.register(proc.stderr, selectors.EVENT_READ, 2)
    while sel.get_map():
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise TimeoutError(f"{proc.args!r} ran longer than {timeout_s:.0f}s")
        for key, _ in sel.select(timeout=1.0):
            data = os.read(key.fd, 1 << 16)
            if not data:
                sel.unregister(key.fileobj)
                continue
            chunks[key.data].append(data)
    sel.close()
    out, err = (b"".join(chunks[i]).decode("utf-8", "replace") for i in (1, 2))
    return out, err


def run(cmd: list[str], *, env: dict[str, str] | None = None, timeout_s: float = 1800.0) -> Proc:
    """Run ``cmd`` to the end and measure it."""
    started = time.perf_counter()
    return reap(spawn(cmd, env=env), started, timeout_s)


class _Server:
    """A server in its own process that prints its URL on its first line; stopped with SIGTERM."""

    def __init__(self, args: list[str]) -> None:
        self.args = args
        self.proc: subprocess.Popen[str] | None = None
        self.root = ""  # http://127.0.0.1:PORT
        self.tail: collections.deque[str] = collections.deque(maxlen=50)

    def __enter__(self) -> _Server:
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"(http://[0-9.]+:[0-9]+)", line)
        if match is None:
            self.__exit__()
            raise RuntimeError(f"{' '.join(self.args[:3])} did not start: {line.strip()!r}")
        self.root = match.group(1)
        # Keep draining its output so a chatty server never blocks on a full pipe; the tail helps a post-mortem.
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            self.tail.append(line.rstrip())

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_s(self) -> float:
        """CPU seconds (user + sys) the server process has used so far (Linux /proc)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.root + path, timeout=30) as resp:
            data: dict[str, Any] = json.load(resp)
        return data


class Stub(_Server):
    """The stand-in endpoint in a separate process, on a free port.

    Args:
        latency_s: delay before every answer.
        faults: fault rates, e.g. {"429": 0.1}.
        retry_after_s: what a 429 asks the client to wait.
    """

    def __init__(self, latency_s: float = 0.0, faults: dict[str, float] | None = None, retry_after_s: float = 1.0):
        args = [REMUD, "stub-server", "--port", "0", "--latency", str(latency_s)]
        args += ["--retry-after", str(retry_after_s)]
        for name, rate in (faults or {}).items():
            args += ["--fault", f"{name}={rate}"]
        super().__init__(args)

    def __enter__(self) -> Stub:
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def stats(self) -> dict[str, Any]:
        """GET /stats: request counts since start or the last reset."""
        return self.get("/stats")

    def reset(self) -> None:
        """Zero the stand-in's counters."""
        req = urllib.request.Request(self.root + "/stats", method="DELETE")
        with urllib.request.urlopen(req, timeout=10):
            pass

    def chat_requests(self) -> int:
        """Chat completion requests received since the last reset."""
        return int(self.stats()["by_path"].get("/v1/chat/completions", 0))


class Proxy(_Server):
    """`bench/proxy.py` in front of a stand-in: counts the chat response body bytes it forwards."""

    def __init__(self, upstream: Stub) -> None:
        super().__init__([sys.executable, str(Path(__file__).with_name("proxy.py")), "--upstream", upstream.root])

    def __enter__(self) -> Proxy:
        super().__enter__()
        return self

    @property
    def url(self) -> str:
        return self.root + "/v1"

    def tally(self) -> dict[str, Any]:
        """{"responses": n, "body_bytes": total} of successful chat answers forwarded so far."""
        return self.get("/proxy-stats")


def twice_if(measure: Callable[[], dict[str, Any]], close: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
    """Run ``measure``; when its result is near its target or failing it (``close``), run it once more.

    The machine is shared, so one unlucky run must not decide a verdict: callers report the better of the runs
    and say how many there were.
    """
    first = measure()
    return [first, measure()] if close(first) else [first]


def near(value: float, target: float, margin: float = 0.15) -> bool:
    """True when ``value`` is within ``margin`` (relative) of ``target``, on either side."""
    return abs(value - target) <= margin * abs(target)


def machine() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python and the load at start, for the results header."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    with contextlib.suppress(OSError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / MIB:.1f} GiB"
    return {
        "date": time.strftime("%Y-%m-%d %H:%M %Z"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def count_lines(path: Path) -> int:
    """Complete lines in a file (0 when it does not exist)."""
    if not path.exists():
        return 0
    with path.open("rb") as fh:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
