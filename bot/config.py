"""Settings come from the environment, or from a .env file beside where the bot runs. This is the only module
that reads environment variables; everything else is handed a `Settings`."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.core.content import DEFAULT_CONTENT_DIR

# What a token looks like, for `python -m bot check` and for redacting tokens from log lines.
# Telegram: 123456789:AA... (from @BotFather); Discord: three dot-separated base64 parts.
TELEGRAM_TOKEN = re.compile(r"\d{5,12}:[A-Za-z0-9_-]{30,}")
DISCORD_TOKEN = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,}")
TOKEN_PATTERNS = (TELEGRAM_TOKEN, DISCORD_TOKEN)


# Switches for the libraries the adapters use, set (unless already set) before a platform is built:
# PTB_TIMEDELTA opts in to RetryAfter.retry_after as a timedelta (PTB 22.2+; its future default).
LIBRARY_SWITCHES = {"PTB_TIMEDELTA": "1"}


def apply_library_switches() -> None:
    for name, value in LIBRARY_SWITCHES.items():
        os.environ.setdefault(name, value)


def child_environment(**overrides: str) -> dict[str, str]:
    """The environment for a helper program we start (pg_dump): ours, with `overrides` set. Secrets for it go
    here, never on its command line, where `ps` shows them to every user."""
    return {**os.environ, **overrides}


def load_dotenv(path: str | Path = ".env") -> None:
    """KEY=value lines; the real environment wins. Values are never logged (tokens live here)."""
    path = Path(path)
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        os.environ.setdefault(key, value)


def _optional_id(value: str, name: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise ValueError(f"{name} must be a numeric Discord id (right-click the server, Copy Server ID)")
    return int(value)


def _number(kind: type, value: str, name: str):
    try:
        number = kind(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, not '{value[:20]}'") from None
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    return number


def _port(value: str, name: str) -> int:
    if not value.isdigit() or int(value) > 65535:
        raise ValueError(f"{name} must be a port number (1-65535), or 0 for none")
    return int(value)


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once from the environment (after .env). .env.example documents each."""

    # HIPCOACH_DB: a SQLite file (a path or sqlite:///path) or a PostgreSQL URL (postgresql://user:pass@host/db)
    # for several processes sharing one database (docs/scale-out.md). The name stays db_path for callers.
    db_path: str = "hipcoach.db"
    db_given: bool = False  # HIPCOACH_DB set: `ask` uses it instead of a throwaway database
    content_dir: Path = DEFAULT_CONTENT_DIR
    log_level: str = "WARNING"  # as given (upper case); an unknown level logs at WARNING, `check` reports it
    log_format: str = "text"  # as given (lower case): text | json
    telegram_token: str = ""
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    telegram_webhook_url: str = ""
    telegram_webhook_listen: str = "0.0.0.0:8443"
    telegram_webhook_secret: str = ""
    telegram_rate_limit: float = 30.0  # messages/s overall; 0 turns the limiter off (own Bot API server)
    flood_burst: int = 8  # messages one person may send in a row before the coach slows them down
    flood_rate: float = 1.0  # messages per second sustained per person; 0 turns flood protection off
    http_host: str = "127.0.0.1"
    http_port: int = 0  # /healthz and /metrics; 0 = no HTTP port
    discord_token: str = ""
    discord_guild_id: int | None = None  # sync slash commands to this server only (instant, for development)
    discord_api_base_url: str = "https://discord.com/api/v10"
    discord_gateway_url: str = "wss://gateway.discord.gg/"
    discord_rate_limit: float = 20.0  # reminder DMs/s (a first DM costs two requests of Discord's 50/s); 0 = unpaced

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting; raises ValueError naming the first one that is not valid."""
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            return (env.get(name) or default).strip()

        return cls(
            db_path=get("HIPCOACH_DB", defaults.db_path),
            db_given=bool(get("HIPCOACH_DB", "")),
            content_dir=Path(get("HIPCOACH_CONTENT", "") or DEFAULT_CONTENT_DIR),
            log_level=get("HIPCOACH_LOG_LEVEL", defaults.log_level).upper(),
            log_format=get("HIPCOACH_LOG_FORMAT", defaults.log_format).lower(),
            telegram_token=get("TELEGRAM_BOT_TOKEN", ""),
            telegram_base_url=get("TELEGRAM_BASE_URL", defaults.telegram_base_url),
            telegram_base_file_url=get("TELEGRAM_BASE_FILE_URL", defaults.telegram_base_file_url),
            telegram_webhook_url=get("TELEGRAM_WEBHOOK_URL", ""),
            telegram_webhook_listen=get("TELEGRAM_WEBHOOK_LISTEN", defaults.telegram_webhook_listen),
            telegram_webhook_secret=get("TELEGRAM_WEBHOOK_SECRET", ""),
            telegram_rate_limit=_number(
                float, get("TELEGRAM_RATE_LIMIT", str(defaults.telegram_rate_limit)), "TELEGRAM_RATE_LIMIT"
            ),
            flood_burst=_number(int, get("HIPCOACH_FLOOD_BURST", str(defaults.flood_burst)), "HIPCOACH_FLOOD_BURST"),
            flood_rate=_number(float, get("HIPCOACH_FLOOD_RATE", str(defaults.flood_rate)), "HIPCOACH_FLOOD_RATE"),
            http_host=get("HIPCOACH_HTTP_HOST", defaults.http_host),
            http_port=_port(get("HIPCOACH_HTTP_PORT", "0"), "HIPCOACH_HTTP_PORT"),
            discord_token=get("DISCORD_BOT_TOKEN", ""),
            discord_guild_id=_optional_id(get("DISCORD_GUILD_ID", ""), "DISCORD_GUILD_ID"),
            discord_api_base_url=get("DISCORD_API_BASE_URL", defaults.discord_api_base_url),
            discord_gateway_url=get("DISCORD_GATEWAY_URL", defaults.discord_gateway_url),
            discord_rate_limit=_number(
                float, get("DISCORD_RATE_LIMIT", str(defaults.discord_rate_limit)), "DISCORD_RATE_LIMIT"
            ),
        )

    @classmethod
    def lenient(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings that can be read, defaults for the rest: enough to log (with tokens redacted), find the
        content and database, and report what is wrong (`python -m bot check`) instead of failing to start."""
        env = os.environ if env is None else env
        try:
            return cls.from_env(env)
        except ValueError:
            return cls.from_env({k: v for k, v in env.items() if k in _PLAIN})

    @property
    def db_backend(self) -> str:
        """sqlite | postgresql, from HIPCOACH_DB."""
        return "postgresql" if self.db_path.startswith(("postgresql://", "postgres://")) else "sqlite"

    @property
    def db_password(self) -> str:
        """The password inside a PostgreSQL URL, if any: a secret like the tokens."""
        if self.db_backend != "postgresql":
            return ""
        return urlsplit(self.db_path).password or ""

    @property
    def secrets(self) -> list[str]:
        """Values that must never reach a log line (the database password both as written and decoded)."""
        values = (
            self.telegram_token,
            self.discord_token,
            self.telegram_webhook_secret,
            self.db_password,
            unquote(self.db_password),
        )
        return list(dict.fromkeys(s for s in values if s))

    def __repr__(self) -> str:  # tokens never end up in a log line or traceback through repr()
        return "Settings(<redacted>)"


# Settings that are plain text (never invalid), read even when a number elsewhere is not valid.
_PLAIN = (
    "HIPCOACH_DB",
    "HIPCOACH_CONTENT",
    "HIPCOACH_LOG_LEVEL",
    "HIPCOACH_LOG_FORMAT",
    "TELEGRAM_BOT_TOKEN",
    "DISCORD_BOT_TOKEN",
)
