"""Command line: `python -m bot` (chat, or the platforms whose tokens are set), `ask "TEXT"`, `ask --jsonl`,
`check` (configuration, content and database), `backup FILE` (online copy of the database), `migrate` (apply
pending schema migrations once) and `webhook set|delete|info` (the Telegram webhook every process serves).
HIPCOACH_DB is a SQLite file or a postgresql:// URL; the database password is never printed."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import signal
import stat
import sys
import tempfile
import uuid
from pathlib import Path

from bot.app import build_app, configure_logging, make_adapters, make_terminal, serve
from bot.config import Settings, load_dotenv
from bot.core.coach import main_topic, worst_safety
from bot.core.content import ContentError
from bot.core.messages import Incoming
from bot.ops import DatabaseUnavailable

CLI_PLATFORM = "cli"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hipcoach", description="Hip Coach: a chat coach for hip mobility.")
    sub = parser.add_subparsers(dest="cmd")
    ask = sub.add_parser("ask", help="answer one message, or JSON lines from stdin with --jsonl")
    ask.add_argument("text", nargs="?", help="the message, as a fresh user would send it")
    ask.add_argument("--jsonl", action="store_true", help='read {"text": ..., "user": ...} lines from stdin')
    sub.add_parser("check", help="validate settings, content files and the database without touching the network")
    backup = sub.add_parser("backup", help="consistent copy of the database, safe while the bot runs")
    backup.add_argument("file", help="where to write the copy")
    sub.add_parser("migrate", help="apply pending database migrations once (safe from several processes at once)")
    hook = sub.add_parser("webhook", help="register the Telegram webhook once for every process, or remove it")
    hook.add_argument("action", choices=("set", "delete", "info"), help="set, delete or show the webhook")
    return parser


def _check(settings: Settings) -> int:
    from bot.ops import check

    report = check(None, settings.content_dir)  # None: the environment, read by Settings
    for note in report.notes:
        print(f"ok       {note}")
    for problem in report.problems:
        print(f"PROBLEM  {problem}")
    print("All good." if report.ok else f"{len(report.problems)} problem(s) found.")
    return 0 if report.ok else 1


def _backup(settings: Settings, target: str) -> int:
    import sqlite3

    from bot.ops import BackupError, backup, backup_postgres
    from bot.storage.dialect import sqlite_path

    try:
        if settings.db_backend == "postgresql":
            print(backup_postgres(settings.db_path, Path(target)))
        else:
            print(backup(Path(sqlite_path(settings.db_path)), Path(target)))
    except (OSError, sqlite3.Error, BackupError) as exc:
        print(f"Backup failed: {exc}", file=sys.stderr)
        return 1
    return 0


def _migrate(settings: Settings) -> int:
    from bot.ops import database_label, migrate

    done = asyncio.run(migrate(settings.db_path))
    print(f"{database_label(settings.db_path)}: {done.message}")
    return 1 if done.before > done.latest else 0


def _webhook(settings: Settings, action: str) -> int:
    from bot.ops import WebhookError, webhook

    try:
        print(asyncio.run(webhook(action, settings)))
    except WebhookError as exc:
        print(f"Webhook {action} failed: {exc}", file=sys.stderr)
        return 1
    return 0


async def _open_app(db: str, settings: Settings):
    """build_app, with an unreachable database as one clear line (DatabaseUnavailable) instead of a traceback."""
    from bot.ops import open_errors, unavailable

    try:
        return await build_app(db, settings=settings)
    except open_errors(db) as exc:
        raise unavailable(exc, db) from None


def _temporary_db(settings: Settings) -> tuple[str, tempfile.TemporaryDirectory | None]:
    if settings.db_given:
        return settings.db_path, None
    tmp = tempfile.TemporaryDirectory(prefix="hipcoach-")
    return str(Path(tmp.name) / "ask.db"), tmp


def _incoming(user_id: str, chat_id: str, text: str) -> Incoming:
    """The one command-line -> core translation: a local person, never throttled."""
    return Incoming(CLI_PLATFORM, user_id, chat_id, text=text, local=True)


async def _ask_one(settings: Settings, text: str) -> int:
    db, tmp = _temporary_db(settings)
    app = await _open_app(db, settings)
    try:
        replies = await app.coach.handle(_incoming(f"ask-{uuid.uuid4().hex[:12]}", "cli", text))
        print("\n\n".join(r.text for r in replies))
    finally:
        await app.close()
        if tmp:
            tmp.cleanup()
    return 0


def _read_jsonl_line(raw: bytes, number: int, run: str) -> tuple[str, str] | str:
    """(user id, text) from one input line, or the reason it cannot be read."""
    try:
        item = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return "not valid UTF-8"
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly nested JSON
        return f"not valid JSON ({type(exc).__name__})"
    if not isinstance(item, dict):
        return "expected a JSON object"
    text = item.get("text")
    text = "" if text is None else text if isinstance(text, str) else json.dumps(text)
    user = item.get("user")
    return (f"u-{user}" if user is not None else f"fresh-{run}-{number}"), text


async def _ask_jsonl(settings: Settings, stdin, stdout) -> int:
    """One JSON line out per non-blank line in, in order; a bad line gets an "error" line, not a crash."""
    db, tmp = _temporary_db(settings)
    app = await _open_app(db, settings)
    run = uuid.uuid4().hex[:8]
    try:
        for number, raw in enumerate(stdin, 1):
            if not raw.strip():
                continue
            read = _read_jsonl_line(raw, number, run)
            if isinstance(read, str):
                out = {
                    "text": f"Could not read line {number}: {read}",
                    "topic": None,
                    "safety": "none",
                    "error": "bad_input",
                }
            else:
                user_id, text = read
                replies = await app.coach.handle(_incoming(user_id, user_id, text))
                out = {
                    "text": "\n\n".join(r.text for r in replies),
                    "topic": main_topic(replies),
                    "safety": worst_safety(replies),
                }
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
            stdout.flush()
    finally:
        await app.close()
        if tmp:
            tmp.cleanup()
    return 0


async def _run(settings: Settings) -> int:
    """Every platform whose token is set, in one process; the terminal chat when none is."""
    app = await _open_app(settings.db_path, settings)
    stop = asyncio.Event()
    try:
        platforms = make_adapters(app, settings)
    except ValueError as exc:  # settings that cannot work together (e.g. webhooks on PostgreSQL without a secret)
        await app.close()
        print(f"Hip Coach cannot start: {exc}. See .env.example.", file=sys.stderr)
        return 2
    http = None
    if platforms:
        # The content, index and libraries loaded at start live as long as the process: keep the cyclic
        # garbage collector from walking them again on every collection of a long-running server.
        gc.collect()
        gc.freeze()
        _install_signal_handlers(stop)
        http = (settings.http_host, settings.http_port) if settings.http_port else None
    else:
        platforms = [make_terminal(app, on_quit=stop.set)]  # Ctrl+C ends the chat at once, as it always did
    try:
        await serve(app, platforms, stop, http)
    finally:
        await app.close()
    return 0


NO_TOKEN_NO_TERMINAL = (
    "Hip Coach cannot start: neither TELEGRAM_BOT_TOKEN nor DISCORD_BOT_TOKEN is set, and there is no "
    "terminal to chat in (standard input is /dev/null or closed, as in a container or a service). "
    "Set a token in the environment or .env (docs/deploy.md shows how to get one), or run "
    "`python -m bot` in a terminal for the chat."
)


def chat_possible(fd: int = 0) -> bool:
    """Can a terminal chat read anything here? A terminal, a pipe or a file: yes. /dev/null (a container
    started without -i, a systemd service) or a closed stdin: no, the chat would end before it began."""
    try:
        if os.isatty(fd):
            return True
        return not stat.S_ISCHR(os.fstat(fd).st_mode)  # a character device that is no terminal: /dev/null
    except (OSError, ValueError):
        return False


def _install_signal_handlers(stop: asyncio.Event) -> None:
    """First SIGINT/SIGTERM: stop taking updates and finish what is in flight. Second: exit at once."""
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if stop.is_set():
            os._exit(130)
        print("Stopping: finishing what is in flight (press Ctrl+C again to quit at once).", file=sys.stderr)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    readable = Settings.lenient()  # enough to log, find content and database, and check; validated below
    configure_logging(readable)
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "check":
            return _check(readable)
        if args.cmd == "backup":
            return _backup(readable, args.file)
        if args.cmd == "migrate":
            return _migrate(readable)
        if args.cmd == "webhook":
            return _webhook(readable, args.action)
        if args.cmd == "ask":
            if args.jsonl:
                return asyncio.run(_ask_jsonl(readable, sys.stdin.buffer, sys.stdout))
            if args.text is None:
                print('usage: python -m bot ask "TEXT"   or   python -m bot ask --jsonl < lines.jsonl', file=sys.stderr)
                return 2
            return asyncio.run(_ask_one(readable, args.text))
        try:
            settings = Settings.from_env()
        except ValueError as exc:
            print(f"Hip Coach cannot start: a setting is not valid ({exc}). See .env.example.", file=sys.stderr)
            return 2
        if not (settings.telegram_token or settings.discord_token) and not chat_possible():
            # Serving nobody: fail fast (exit 2) instead of a chat that ends at once and a restart loop.
            print(NO_TOKEN_NO_TERMINAL, file=sys.stderr)
            return 2
        return asyncio.run(_run(settings))
    except ContentError as exc:
        print(f"Hip Coach cannot start: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailable as exc:
        print(f"Hip Coach cannot open its database: {exc}. Check HIPCOACH_DB; see docs/scale-out.md.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into something that stopped reading (e.g. `| head`)
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
