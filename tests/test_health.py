"""The operator's HTTP port: /healthz and Prometheus /metrics, through `python -m bot` and the app's wiring."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime

import aiohttp

from bot.app import build_app, make_adapters, serve
from bot.config import Settings
from bot.observability import HealthServer, Metrics
from tests.conftest import FakeClock
from tests.fakes.telegram_api import FakeTelegram


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def get(port: int, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{port}{path}") as response:
            return response.status, response.headers["Content-Type"], await response.text()


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def test_metrics_count_messages_latency_and_reminders_and_healthz_reports_platforms(tmp_path):
    port = free_port()
    clock = FakeClock(datetime(2026, 3, 27, 12, 0, tzinfo=UTC))
    async with FakeTelegram() as fake:
        settings = Settings.from_env(
            {
                "TELEGRAM_BOT_TOKEN": fake.token,
                "TELEGRAM_BASE_URL": fake.base_url,
                "TELEGRAM_BASE_FILE_URL": fake.base_file_url,
                "HIPCOACH_DB": str(tmp_path / "m.db"),
            }
        )
        app = await build_app(settings.db_path, clock=clock, settings=settings)
        adapters = make_adapters(app, settings)
        adapters[0].poll_timeout = 1
        stop = asyncio.Event()
        task = asyncio.create_task(serve(app, adapters, stop, ("127.0.0.1", port)))
        try:
            await fake.wait_for(lambda: adapters[0].connected, what="polling")
            status, kind, body = await get(port, "/healthz")
            assert status == 200 and kind.startswith("application/json")
            assert '"database": "ok"' in body and '"telegram": "connected"' in body

            for text in ("what is fascia", "/remind 07:30 Europe/Berlin"):
                before = len(fake.sent)
                fake.user_message(text)
                await fake.wait_for(lambda before=before: len(fake.sent) > before)
            fire = datetime(2026, 3, 28, 6, 30, tzinfo=UTC)
            clock.now = fire
            await app.reminders.tick(fire)

            status, kind, text = await get(port, "/metrics")
            assert status == 200 and kind.startswith("text/plain; version=0.0.4")
            assert metric(text, 'hipcoach_messages_handled_total{platform="telegram"}') == 2
            assert metric(text, 'hipcoach_answer_seconds_count{platform="telegram"}') == 2
            assert metric(text, 'hipcoach_answer_seconds_bucket{platform="telegram",le="+Inf"}') == 2
            assert metric(text, 'hipcoach_reminders_total{platform="telegram",outcome="sent"}') == 1
            assert metric(text, 'hipcoach_platform_connected{platform="telegram"}') == 1
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
            await app.close()


async def test_healthz_is_503_when_the_database_does_not_answer():
    async def broken() -> bool:
        raise OSError("disk gone")

    server = HealthServer(Metrics(), broken, lambda: {"discord": False}, port=0)
    await server.start()
    try:
        status, _, body = await get(server.port, "/healthz")
        assert status == 503 and '"database": "unreachable"' in body and '"discord": "disconnected"' in body
    finally:
        await server.stop()


async def test_python_m_bot_serves_healthz_on_the_configured_port(tmp_path):
    port = free_port()
    async with FakeTelegram() as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
        env.update(
            TELEGRAM_BOT_TOKEN=fake.token,
            TELEGRAM_BASE_URL=fake.base_url,
            TELEGRAM_BASE_FILE_URL=fake.base_file_url,
            HIPCOACH_DB=str(tmp_path / "p.db"),
            HIPCOACH_HTTP_PORT=str(port),
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", cwd=tmp_path, env=env, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            await fake.wait_for(lambda: fake.commands is not None, timeout=20, what="the bot to start")
            for _ in range(100):
                try:
                    status, _, body = await get(port, "/healthz")
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            assert status == 200 and '"status": "ok"' in body
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()[-2000:]
