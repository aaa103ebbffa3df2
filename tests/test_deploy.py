"""From the README to a live bot: the deployment files agree with each other, with the code and with
docs/deploy.md, and the container image starts the bot with only environment variables.

The static checks always run. The Docker tests build the image and run it; they are skipped, saying
why, where `docker info` fails (no Docker daemon) or the base image cannot be had. HIPCOACH_TEST_PYTHON_IMAGE
names another Python 3.11 base image to build on (a local mirror of python:3.11-slim).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import aiohttp
import discord
import pytest
import yaml

from bot.config import Settings
from bot.observability import HealthServer, Metrics
from tests.fakes.telegram_api import FakeTelegram
from tests.test_health import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SETTING = re.compile(r"\b(?:HIPCOACH|TELEGRAM|DISCORD)_[A-Z][A-Z0-9_]*\b")


def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    out = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def image_env(text: str) -> dict[str, str]:
    env = {}
    for word, rest in instructions(text):
        if word == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(rest)))
    return env


def healthcheck_command(text: str) -> list[str]:
    (rest,) = [rest for word, rest in instructions(text) if word == "HEALTHCHECK"]
    return json.loads(rest[rest.index("CMD") + 3 :].strip())


def compose_service() -> dict:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    (service,) = compose["services"].values()
    return compose, service


def unit() -> dict[str, str]:
    keys = {}
    for line in (ROOT / "deploy" / "hipcoach.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


# -- the Dockerfile, compose.yaml, .dockerignore and the systemd unit ---------------------------------


def test_dockerfile_healthcheck_asks_healthz_on_the_port_the_image_sets():
    env = image_env(dockerfile())
    port = env["HIPCOACH_HTTP_PORT"]
    assert port.isdigit() and env["HIPCOACH_HTTP_HOST"] == "0.0.0.0"
    command = healthcheck_command(dockerfile())
    assert command[:2] == ["python", "-c"], "no curl in the image: python's urllib does the request"
    assert "/healthz" in command[2] and "127.0.0.1" in command[2]
    assert f"'HIPCOACH_HTTP_PORT', '{port}'" in command[2] or f":{port}/healthz" in command[2]
    assert f"EXPOSE {port}" in dockerfile()


async def test_dockerfile_healthcheck_command_passes_on_200_and_fails_on_503():
    """The HEALTHCHECK's own command, run here against a real /healthz (on a free port, through the same
    HIPCOACH_HTTP_PORT variable the image sets)."""
    command = healthcheck_command(dockerfile())

    async def run_check(port: int) -> int:
        env = {**os.environ, "HIPCOACH_HTTP_PORT": str(port)}
        proc = await asyncio.create_subprocess_exec(sys.executable, *command[1:], env=env)
        return await asyncio.wait_for(proc.wait(), 30)

    async def answers() -> bool:
        return True

    async def broken() -> bool:
        raise OSError("disk gone")

    for database, expected in ((answers, 0), (broken, 1)):
        server = HealthServer(Metrics(), database, lambda: {"telegram": True}, port=0)
        await server.start()
        try:
            assert await run_check(server.port) == expected
        finally:
            await server.stop()
    assert await run_check(free_port()) != 0  # nothing listening: unhealthy


def test_image_runs_the_bot_as_a_user_with_the_database_in_the_volume():
    steps = instructions(dockerfile())
    env = image_env(dockerfile())
    assert env["HIPCOACH_DB"].startswith("/data/")
    assert ("VOLUME", "/data") in steps
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    (cmd,) = [json.loads(rest) for word, rest in steps if word == "CMD"]
    assert cmd == ["python", "-m", "bot"]
    assert any(word == "RUN" and "pip install" in rest for word, rest in steps)
    base = [rest for word, rest in steps if word == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert base == ["PYTHON_IMAGE=python:3.11-slim"]
    # installed into site-packages, the package finds its knowledge base through HIPCOACH_CONTENT
    assert any(word == "COPY" and rest.split()[-1] == env["HIPCOACH_CONTENT"] for word, rest in steps)


def test_dockerignore_keeps_secrets_databases_and_the_virtualenv_out_of_the_image():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {".venv", ".env", "*.db", ".git"} <= ignored
    assert not {"bot", "content", "pyproject.toml", "README.md"} & ignored


def test_compose_mounts_a_named_volume_where_the_database_lives():
    compose, service = compose_service()
    env = {**image_env(dockerfile()), **service.get("environment", {})}
    db_dir = str(Path(env["HIPCOACH_DB"]).parent)
    mounts = [volume.split(":") for volume in service["volumes"]]
    assert [db_dir] == [target for source, target, *_ in mounts if source in compose["volumes"]]
    assert service["env_file"] == ".env" and service["restart"] in ("unless-stopped", "always", "on-failure")
    test = " ".join(service["healthcheck"]["test"])
    assert f"127.0.0.1:{env['HIPCOACH_HTTP_PORT']}/healthz" in test
    # /healthz and /metrics are for this machine only
    assert all(str(port).startswith("127.0.0.1:") for port in service.get("ports", []))


def test_systemd_unit_runs_python_m_bot_as_its_own_user():
    keys = unit()
    argv = shlex.split(keys["ExecStart"])
    assert argv[0].startswith("/") and Path(argv[0]).name.startswith("python")
    assert argv[1:] == ["-m", "bot"]
    assert keys["User"] not in ("root", "") and keys["Restart"] == "on-failure"
    assert keys["EnvironmentFile"].startswith("/") and keys["WorkingDirectory"].startswith("/")
    assert keys["WorkingDirectory"] == f"/var/lib/{keys['StateDirectory']}"  # writable under ProtectSystem
    assert keys["NoNewPrivileges"] == "yes" and keys["ProtectSystem"] == "strict"
    assert keys["RestartPreventExitStatus"] == "2"  # no token: restarting will not help


# -- docs/deploy.md and the README ---------------------------------------------------------------------


def test_every_setting_named_in_the_deploy_files_exists():
    known = set(SETTING.findall((ROOT / ".env.example").read_text()))
    known |= set(SETTING.findall((ROOT / "bot" / "config.py").read_text()))
    for path in (DEPLOY_DOC, ROOT / "Dockerfile", ROOT / "compose.yaml", ROOT / "deploy" / "hipcoach.service"):
        unknown = set(SETTING.findall(path.read_text())) - known
        assert not unknown, f"{path.name} names settings that do not exist: {sorted(unknown)}"
    # and .env.example documents every setting the code reads
    read = set(re.findall(r'get\("((?:HIPCOACH|TELEGRAM|DISCORD)_\w+)"', (ROOT / "bot" / "config.py").read_text()))
    assert read and read <= set(SETTING.findall((ROOT / ".env.example").read_text()))


def test_readme_links_the_deploy_guide_and_keeps_its_two_quick_start_commands():
    readme = (ROOT / "README.md").read_text()
    assert "(docs/deploy.md)" in readme
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"```sh\n(.*?)\n```", quick_start, re.S) == [
        "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/python -m bot",
        "python3 -m venv .venv && .venv/bin/pip install -q -e '.[dev]' && .venv/bin/python -m pytest",
    ]


def permission_table(text: str) -> dict[str, int]:
    """The '| Permission | Value | Why |' table of docs/deploy.md."""
    section = text.split("| Permission | Value |", 1)[1]
    rows = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("|"):
            break
        name, value = (cell.strip() for cell in line.strip("|").split("|")[:2])
        rows[name] = int(value)
    return rows


def test_invite_url_permission_integer_is_the_sum_of_the_permissions_the_guide_names():
    text = DEPLOY_DOC.read_text()
    table = permission_table(text)
    (url,) = set(re.findall(r"https://discord\.com/oauth2/authorize\?\S+", text))
    integer = int(re.search(r"permissions=(\d+)", url).group(1))
    assert "scope=bot+applications.commands" in url
    assert integer == sum(table.values())
    assert f"= **{integer}**" in text  # the arithmetic shown adds up to the same number
    # each named permission has Discord's value for it (discord.py's names), and together they are the integer
    names = {name: "view_channel" if name == "View Channels" else name.lower().replace(" ", "_") for name in table}
    assert {name: getattr(discord.Permissions, attr).flag for name, attr in names.items()} == table
    assert discord.Permissions(integer) == discord.Permissions(**{attr: True for attr in names.values()})


def test_invite_permissions_cover_what_a_challenge_channel_post_needs():
    table = permission_table(DEPLOY_DOC.read_text())
    # a challenge post is an embed with buttons, sent to a channel; an @mention answer is a reply
    assert {"View Channels", "Send Messages", "Embed Links", "Read Message History"} <= set(table)
    assert "Administrator" not in table and "Mention Everyone" not in table


def test_the_guide_describes_what_the_code_does():
    text = DEPLOY_DOC.read_text()
    webhook_server = (ROOT / "bot" / "adapters" / "telegram_webhook.py").read_text()
    assert 'PATH = "/telegram"' in webhook_server and "reverse_proxy /telegram 127.0.0.1:8443" in text
    assert Settings().telegram_webhook_listen == "0.0.0.0:8443"
    discord_adapter = (ROOT / "bot" / "adapters" / "discord.py").read_text()
    assert 'ORGANISER_ROLE = "Challenge Organiser"' in discord_adapter and "**Challenge Organiser**" in text
    assert "manage_guild" in discord_adapter and "**Manage Server**" in text
    assert "python -m bot backup" in text and "python -m bot check" in text


# -- no token and no terminal: fail fast instead of a chat that ends at once --------------------------


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIPCOACH_", "TELEGRAM_", "DISCORD_"))}
    return {**env, "PYTHONPATH": str(ROOT), **extra}


def test_without_a_token_or_a_terminal_the_bot_stops_at_once_saying_why(tmp_path):
    """As in a container started without -i, or a systemd service: standard input is /dev/null."""
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "DISCORD_BOT_TOKEN" in result.stderr
    assert "docs/deploy.md" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and list(tmp_path.iterdir()) == []  # no chat, no database


def test_piped_input_is_still_the_terminal_chat(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        input="/quit\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean_env(),
        timeout=60,
    )
    assert result.returncode == 0 and "Bye!" in result.stdout


def test_chat_possible_knows_a_terminal_a_pipe_and_dev_null():
    from bot.__main__ import chat_possible

    read, write = os.pipe()
    try:
        assert chat_possible(read)
    finally:
        os.close(read), os.close(write)
    with open(os.devnull) as null:
        assert not chat_possible(null.fileno())
    assert not chat_possible(9999)  # closed
    leader, follower = os.openpty()
    try:
        assert chat_possible(follower)
    finally:
        os.close(leader), os.close(follower)


# -- the image itself (Docker) --------------------------------------------------------------------------

IMAGE = "hipcoach:test"


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def image() -> str:
    if shutil.which("docker") is None:
        pytest.skip("docker is not installed")
    info = docker("info", timeout=30)
    if info.returncode != 0:
        pytest.skip(f"`docker info` fails, no Docker daemon here: {info.stderr.strip()[-200:]}")
    base = os.environ.get("HIPCOACH_TEST_PYTHON_IMAGE", "python:3.11-slim")
    if docker("image", "inspect", base).returncode != 0:
        pulled = docker("pull", base, timeout=600)
        if pulled.returncode != 0:
            pytest.skip(
                f"the base image {base} cannot be pulled ({pulled.stderr.strip()[-160:]}); "
                "set HIPCOACH_TEST_PYTHON_IMAGE to a local Python 3.11 image"
            )
    built = docker(
        "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={base}", "-t", IMAGE, str(ROOT), timeout=1500
    )
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return IMAGE


def test_image_without_a_token_exits_at_once_saying_why(image):
    result = docker("run", "--rm", image, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "docs/deploy.md" in result.stderr


async def test_image_serves_telegram_and_healthz_with_only_environment_variables(image):
    """A fake Telegram Bot API on this machine's loopback stands in for Telegram (the container shares the
    host's network); the bot's settings reach it only as environment variables."""
    name = f"hipcoach-test-{uuid.uuid4().hex[:8]}"
    volume = f"{name}-data"
    port = free_port()

    async def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return await asyncio.to_thread(docker, *args, timeout=timeout)

    async with FakeTelegram() as fake:
        started = await run(
            "run", "-d", "--name", name, "--network", "host", "-v", f"{volume}:/data",
            "--health-interval", "1s", "--health-start-period", "0s", "--health-retries", "3",
            "-e", f"TELEGRAM_BOT_TOKEN={fake.token}",
            "-e", f"TELEGRAM_BASE_URL={fake.base_url}",
            "-e", f"TELEGRAM_BASE_FILE_URL={fake.base_file_url}",
            "-e", f"HIPCOACH_HTTP_PORT={port}",
            "-e", "HIPCOACH_HTTP_HOST=127.0.0.1",
            image,
        )  # fmt: skip
        assert started.returncode == 0, started.stderr
        try:
            await fake.wait_for(lambda: fake.commands is not None, timeout=60, what="the bot in the container")
            fake.user_message("/start")
            sent = await fake.wait_sent(1, timeout=30)
            assert sent[0]["text"].strip()
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    body = await response.json()
                    assert response.status == 200, body
            assert body == {"status": "ok", "database": "ok", "platforms": {"telegram": "connected"}}
            for _ in range(60):  # Docker's own HEALTHCHECK, through the command in the Dockerfile
                health = (await run("inspect", "--format", "{{.State.Health.Status}}", name)).stdout.strip()
                if health == "healthy":
                    break
                await asyncio.sleep(0.5)
            assert health == "healthy"
            stopped = await run("stop", "--time", "30", name)
            assert stopped.returncode == 0
            code = (await run("inspect", "--format", "{{.State.ExitCode}}", name)).stdout.strip()
            assert code == "0", (await run("logs", name)).stderr[-3000:]
            # the database is in the volume: a fresh container sees it, migrated and up to date
            check = await run("run", "--rm", "-v", f"{volume}:/data", image, "python", "-m", "bot", "check")
            assert check.returncode == 0, check.stdout
            assert "database: schema" in check.stdout and "up to date" in check.stdout
        finally:
            await run("rm", "-f", name)
            await run("volume", "rm", "-f", volume)
