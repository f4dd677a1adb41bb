"""A small closed-loop HTTP/1.1 load generator on asyncio streams.

Each client holds one keep-alive connection and sends its next request as soon as the previous answer
has arrived (closed loop), so N clients mean N requests in flight. Requests are plain bytes built
once per call; responses are parsed just enough (status, Content-Length or chunked) to keep the client
cheap: its own CPU time is measured and reported with every run, so it can be checked that the client
is not the bottleneck (and `bench.wrk.client_check` compares it with wrk).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    expect: tuple[int, ...] = (200,)
    label: str = ""

    @staticmethod
    def json(method: str, path: str, payload: Any, headers: dict[str, str], **kwargs: Any) -> Request:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return Request(method, path, {**headers, "Content-Type": "application/json"}, body, **kwargs)


@dataclass
class Response:
    status: int
    body: bytes
    latency_s: float


class Connection:
    """One keep-alive HTTP/1.1 connection; reconnects when the server closes it."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    def encode(self, request: Request) -> bytes:
        lines = [f"{request.method} {request.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        lines += [f"{name}: {value}" for name, value in request.headers.items()]
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            lines.append(f"Content-Length: {len(request.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + request.body

    async def send(self, request: Request, wire: bytes | None = None) -> Response:
        started = time.perf_counter()
        reader, writer = await self._connect()
        writer.write(wire if wire is not None else self.encode(request))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in header_lines:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await self._read_chunked(reader)
        elif status in (204, 304) or request.method == "HEAD":
            body = b""
        else:  # no length: the body runs to the end of the connection
            body = await reader.read()
            self.close()
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, body, time.perf_counter() - started)

    @staticmethod
    async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)


@dataclass
class LoadResult:
    """What one measured run produced."""

    clients: int
    seconds: float
    latencies_s: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # unexpected statuses and transport errors
    client_cpu_s: float = 0.0
    all_requests: int = 0  # the warm-up's included (CPU accounting covers the whole run)
    by_label: dict[str, list[float]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return len(self.latencies_s)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def throughput(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def percentile_ms(self, q: float) -> float:
        return percentile(self.latencies_s, q) * 1000

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "clients": self.clients,
            "seconds": round(self.seconds, 2),
            "requests": self.count,
            "throughput_rps": round(self.throughput, 1),
            "p50_ms": round(self.percentile_ms(50), 2),
            "p99_ms": round(self.percentile_ms(99), 2),
            "max_ms": round(max(self.latencies_s, default=0) * 1000, 2),
            "errors": self.error_count,
            "error_kinds": dict(self.errors.most_common(5)),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            # CPU the load generator itself used, in cores (1.0 = one core busy for the whole run).
            "client_cpu_cores": round(self.client_cpu_s / self.seconds, 3) if self.seconds > 0 else 0.0,
        }
        if len(self.by_label) > 1:
            out["by_label"] = {
                label: {
                    "requests": len(values),
                    "p50_ms": round(percentile(values, 50) * 1000, 2),
                    "p99_ms": round(percentile(values, 99) * 1000, 2),
                }
                for label, values in sorted(self.by_label.items())
            }
        return out


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


RequestFactory = Callable[[int], Request]  # client index -> the next request for that client


async def _client(
    index: int,
    host: str,
    port: int,
    factory: RequestFactory,
    stop_at: list[float],
    measure_from: float,
    result: LoadResult,
    max_requests: int | None,
    sent: list[int],
) -> None:
    connection = Connection(host, port)
    try:
        while time.perf_counter() < stop_at[0]:
            if max_requests is not None:
                if sent[0] >= max_requests:
                    return
                sent[0] += 1
            request = factory(index)
            try:
                response = await connection.send(request)
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as error:
                connection.close()
                if time.perf_counter() >= measure_from:
                    result.errors[f"transport: {type(error).__name__}"] += 1
                await asyncio.sleep(0.01)
                continue
            result.all_requests += 1
            if time.perf_counter() - response.latency_s < measure_from:
                continue  # started during the warm-up
            result.latencies_s.append(response.latency_s)
            result.statuses[response.status] += 1
            result.by_label.setdefault(request.label, []).append(response.latency_s)
            if response.status not in request.expect:
                detail = response.body[:120].decode("utf-8", "replace")
                result.errors[f"{request.label or request.path.split('?')[0]} {response.status}: {detail}"] += 1
    finally:
        connection.close()


async def _run(
    host: str,
    port: int,
    factory: RequestFactory,
    clients: int,
    seconds: float,
    warmup_s: float,
    max_requests: int | None,
) -> LoadResult:
    result = LoadResult(clients=clients, seconds=0.0)
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop_at = [measure_from + seconds if max_requests is None else float("inf")]
    cpu_before = time.process_time()
    sent = [0]
    tasks = [
        asyncio.create_task(_client(i, host, port, factory, stop_at, measure_from, result, max_requests, sent))
        for i in range(clients)
    ]
    await asyncio.gather(*tasks)
    end = time.perf_counter()
    result.seconds = end - max(measure_from, start)
    result.client_cpu_s = time.process_time() - cpu_before
    return result


def run_load(
    base_url: str,
    factory: RequestFactory,
    *,
    clients: int,
    seconds: float = 0.0,
    warmup_s: float = 0.0,
    max_requests: int | None = None,
) -> LoadResult:
    """Closed-loop load: `clients` connections for `seconds` (after `warmup_s`), or `max_requests` in all."""
    host, port = _host_port(base_url)
    return asyncio.run(_run(host, port, factory, clients, seconds, warmup_s, max_requests))


def _host_port(base_url: str) -> tuple[str, int]:
    hostport = base_url.split("://", 1)[-1].rstrip("/")
    host, port = hostport.rsplit(":", 1)
    return host, int(port)


async def _burst(host: str, port: int, requests: Sequence[Request]) -> list[Response | BaseException]:
    """Send every request at the same moment, each on its own already-open connection."""
    connections = [Connection(host, port) for _ in requests]
    try:
        await asyncio.gather(*(c._connect() for c in connections))
        wires = [c.encode(r) for c, r in zip(connections, requests, strict=True)]
        sends: list[Awaitable[Response]] = [c.send(r, w) for c, r, w in zip(connections, requests, wires, strict=True)]
        return list(await asyncio.gather(*sends, return_exceptions=True))
    finally:
        for connection in connections:
            connection.close()


class Racer:
    """Rounds of simultaneous requests on connections opened beforehand (the contention test)."""

    def __init__(self, base_url: str) -> None:
        self.host, self.port = _host_port(base_url)

    def race(self, requests: Sequence[Request]) -> list[Response | BaseException]:
        return asyncio.run(_burst(self.host, self.port, requests))


def send_one(base_url: str, request: Request) -> Response:
    """One request on a fresh connection (setup steps)."""

    async def once() -> Response:
        host, port = _host_port(base_url)
        connection = Connection(host, port)
        try:
            return await connection.send(request)
        finally:
            connection.close()

    return asyncio.run(once())
