"""Health and metrics for operators: an optional HTTP port (HIPCOACH_HTTP_PORT) with /healthz and /metrics.

Metrics are kept in memory in Prometheus' text format, written by hand (a few counters and one
histogram do not need a client library). Nothing here knows about Telegram or Discord: adapters are
asked for their `connected` flag, and the core reports turns and deliveries through small callbacks.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import logging
import os
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

log = logging.getLogger(__name__)

# Seconds; a turn usually takes well under a millisecond, a slow database a second or more.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    def __init__(self, buckets: Iterable[float] = LATENCY_BUCKETS) -> None:
        self.bounds = tuple(buckets)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{{labels}{"," if labels else ""}le="{le}"}} {running}')
        out.append(f"{name}_sum{{{labels}}} {self.total:.6f}")
        out.append(f"{name}_count{{{labels}}} {self.n}")
        return out


class Metrics:
    """Messages handled, answer latency and reminder outcomes, per platform."""

    def __init__(self) -> None:
        self.started = time.time()
        self.messages: dict[str, int] = defaultdict(int)
        self.latency: dict[str, Histogram] = defaultdict(Histogram)
        self.deliveries: dict[tuple[str, str], int] = defaultdict(int)
        self.late: dict[str, int] = defaultdict(int)
        self.throttled: dict[str, int] = defaultdict(int)
        self.heap_trims = 0
        self.heap_trim_seconds = 0.0

    def heap_trimmed(self, seconds: float) -> None:
        self.heap_trims += 1
        self.heap_trim_seconds += seconds

    def turn(self, platform: str, seconds: float) -> None:
        self.messages[platform] += 1
        self.latency[platform].observe(seconds)

    def delivery(self, platform: str, outcome: str, late_seconds: float | None = None) -> None:
        self.deliveries[(platform, outcome)] += 1
        if outcome == "sent" and late_seconds and late_seconds >= 60:
            self.late[platform] += 1

    def render(self, platforms: dict[str, bool]) -> str:
        lines = [
            "# HELP hipcoach_messages_handled_total Messages, commands and button presses the coach answered.",
            "# TYPE hipcoach_messages_handled_total counter",
            *(f'hipcoach_messages_handled_total{{platform="{p}"}} {n}' for p, n in sorted(self.messages.items())),
            "# HELP hipcoach_answer_seconds Time from a message reaching the coach to its answer being ready.",
            "# TYPE hipcoach_answer_seconds histogram",
        ]
        for platform, histogram in sorted(self.latency.items()):
            lines += histogram.lines("hipcoach_answer_seconds", f'platform="{platform}"')
        lines += [
            "# HELP hipcoach_reminders_total Scheduled reminders by outcome (sent, failed, blocked, retry).",
            "# TYPE hipcoach_reminders_total counter",
            *(
                f'hipcoach_reminders_total{{platform="{p}",outcome="{o}"}} {n}'
                for (p, o), n in sorted(self.deliveries.items())
            ),
            "# HELP hipcoach_reminders_late_total Reminders sent a minute or more after their time.",
            "# TYPE hipcoach_reminders_late_total counter",
            *(f'hipcoach_reminders_late_total{{platform="{p}"}} {n}' for p, n in sorted(self.late.items())),
            "# HELP hipcoach_throttled_total Messages refused because one person sent too many too fast.",
            "# TYPE hipcoach_throttled_total counter",
            *(f'hipcoach_throttled_total{{platform="{p}"}} {n}' for p, n in sorted(self.throttled.items())),
            "# HELP hipcoach_platform_connected 1 when the platform's connection is up.",
            "# TYPE hipcoach_platform_connected gauge",
            *(f'hipcoach_platform_connected{{platform="{p}"}} {int(up)}' for p, up in sorted(platforms.items())),
            "# HELP hipcoach_heap_trim_seconds Time spent handing freed heap memory back to the OS (once a minute).",
            "# TYPE hipcoach_heap_trim_seconds summary",
            f"hipcoach_heap_trim_seconds_sum {self.heap_trim_seconds:.6f}",
            f"hipcoach_heap_trim_seconds_count {self.heap_trims}",
            "# HELP process_resident_memory_bytes Resident memory of this process.",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {resident_bytes()}",
            "# HELP hipcoach_uptime_seconds Seconds since the process started.",
            "# TYPE hipcoach_uptime_seconds gauge",
            f"hipcoach_uptime_seconds {time.time() - self.started:.0f}",
        ]
        return "\n".join(lines) + "\n"


def resident_bytes() -> int:
    """RSS from /proc (Linux); 0 where there is none."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class HealthServer:
    """GET /healthz (200 when the database answers, 503 otherwise; each platform's state) and GET /metrics."""

    def __init__(
        self,
        metrics: Metrics,
        database_ok: Callable[[], Awaitable[bool]],
        platforms: Callable[[], dict[str, bool]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.metrics, self.database_ok, self.platforms = metrics, database_ok, platforms
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 asked for any
        log.info("event=http_started host=%s port=%d", self.host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, request: web.Request) -> web.Response:
        try:
            db = await asyncio.wait_for(self.database_ok(), 2.0)
        except Exception:
            db = False
        platforms = {name: "connected" if up else "disconnected" for name, up in self.platforms().items()}
        status = "ok" if db and all(self.platforms().values()) else "degraded" if db else "unavailable"
        body = {"status": status, "database": "ok" if db else "unreachable", "platforms": platforms}
        return web.Response(
            text=json.dumps(body), status=200 if db else 503, content_type="application/json", charset="utf-8"
        )

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.render(self.platforms()).encode(),
            headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
        )
