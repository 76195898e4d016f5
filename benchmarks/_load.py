"""Real servers on 127.0.0.1 and a bounded load generator over raw sockets.

Servers: each runs in its own session (process group), its output goes to a
file (never an unread pipe that could fill and stall it), and it is always
stopped by its PID: SIGTERM to the group, then SIGKILL after a bounded wait.

Load: ``concurrency`` threads, each holding one keep-alive connection and
sending a request prepared in advance, byte for byte the same every time.
A thread sends, reads the status line and headers, reads exactly
``Content-Length`` bytes of body, and goes again until the deadline; it
reconnects when the server closes. Every socket call has a timeout, every
loop a deadline and a request cap, so nothing here can hang.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# The tests' own process helpers: a free port, and stopping a process group by PID.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support import free_port, stop_process

__all__ = ["LoadResult", "free_port", "group_cpu_seconds", "request_bytes", "run_load", "server"]

SOCKET_TIMEOUT = 10.0
MAX_REQUESTS_PER_THREAD = 1_000_000


class _Pin:
    """While held, this process runs on the server's CPU; ``release`` moves it to the rest."""

    def __init__(self, server_cpus: set[int] | None, other_cpus: set[int] | None) -> None:
        self.server_cpus = server_cpus
        self.other_cpus = other_cpus

    def release(self) -> None:
        if self.other_cpus:
            os.sched_setaffinity(0, self.other_cpus)


@contextlib.contextmanager
def _pinned() -> Iterator[_Pin]:
    """Start the server on one CPU and keep the load generator off it.

    On two cores the server and the generator would otherwise migrate and
    preempt each other, which shows up as noise in every ratio. A child
    inherits its parent's CPU set at fork, so the benchmark process pins
    itself to the server's CPU, starts the server, and moves to the others.
    The original CPU set is restored when the server is stopped.
    """
    if not hasattr(os, "sched_getaffinity"):
        yield _Pin(None, None)
        return
    original = os.sched_getaffinity(0)
    if len(original) < 2:
        yield _Pin(None, None)
        return
    first = min(original)
    os.sched_setaffinity(0, {first})
    try:
        yield _Pin({first}, original - {first})
    finally:
        os.sched_setaffinity(0, original)


@contextlib.contextmanager
def server(argv: Sequence[str], port: int, *, cwd: Path, timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` (listening on 127.0.0.1:``port``), wait for the port, always stop it."""
    with tempfile.TemporaryFile() as log, _pinned() as cpu:
        proc = subprocess.Popen(
            list(argv),
            cwd=str(cwd),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        cpu.release()
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    tail = log.read()[-2000:].decode(errors="replace")
                    raise RuntimeError(f"server exited early ({proc.returncode}): {tail}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no server on 127.0.0.1:{port} after {timeout}s")
                time.sleep(0.05)
            yield proc
        finally:
            stop_process(proc)


def group_cpu_seconds(pgid: int) -> float | None:
    """CPU time used so far by every thread of process group ``pgid`` (Linux), or None.

    Read from ``/proc/<pid>/task/<tid>/schedstat`` (nanoseconds on CPU), so
    the server's own cost per request can be told apart from the load
    generator's and from the noise of a shared machine.
    """
    proc = Path("/proc")
    if not (proc / "self" / "task").is_dir():
        return None
    total = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat[stat.rindex(")") + 2 :].split()[2]) != pgid:
                continue
            for task in (entry / "task").iterdir():
                total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # the process or thread ended while being read
    return total / 1e9


def request_bytes(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """One complete HTTP/1.1 POST, ready to send."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{name}: {value}" for name, value in headers.items() if name.lower() != "content-length"]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class LoadResult:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def _read_response(sock: socket.socket, buffer: bytearray) -> tuple[int, bool]:
    """Read one response from ``sock``; return (status, server closes)."""
    while b"\r\n\r\n" not in buffer:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed before the response headers")
        buffer += data
    head_end = buffer.index(b"\r\n\r\n") + 4
    head = bytes(buffer[:head_end]).decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    length = 0
    closes = False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "connection" and value.strip().lower() == "close":
            closes = True
    while len(buffer) < head_end + length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed inside the response body")
        buffer += data
    del buffer[: head_end + length]
    return status, closes


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def run_load(port: int, payload: bytes, *, concurrency: int, seconds: float) -> LoadResult:
    """Send ``payload`` over ``concurrency`` connections until ``seconds`` have passed."""
    result = LoadResult()
    lock = threading.Lock()
    start_gate = threading.Barrier(concurrency + 1, timeout=SOCKET_TIMEOUT)
    deadline = [0.0]

    def worker() -> None:
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        errors = 0
        sock: socket.socket | None = None
        buffer = bytearray()
        try:
            start_gate.wait()
            for _ in range(MAX_REQUESTS_PER_THREAD):
                if time.perf_counter() >= deadline[0]:
                    break
                try:
                    if sock is None:
                        sock = _connect(port)
                        buffer.clear()
                    sent = time.perf_counter()
                    sock.sendall(payload)
                    status, closes = _read_response(sock, buffer)
                    latencies.append(time.perf_counter() - sent)
                    statuses[status] = statuses.get(status, 0) + 1
                    if closes:
                        sock.close()
                        sock = None
                except OSError:
                    errors += 1
                    if sock is not None:
                        sock.close()
                    sock = None
        finally:
            if sock is not None:
                sock.close()
            with lock:
                result.latencies += latencies
                result.errors += errors
                for code, count in statuses.items():
                    result.statuses[code] = result.statuses.get(code, 0) + count

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join(timeout=seconds + 2 * SOCKET_TIMEOUT)
    result.seconds = time.perf_counter() - began
    result.requests = len(result.latencies)
    return result
