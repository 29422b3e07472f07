"""Settings from the environment (and an optional `.env`); a wrong value names its variable."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the environment variable and the fix."""


class Settings(BaseSettings):
    """Every setting of the bot; each is read from the environment variable of the same name in capitals."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_path: Path = Path("data/bot.sqlite3")
    database_url: SecretStr | None = None  # postgresql://user:password@host:5432/db; without it, SQLite
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"  # FULL: commits survive a power cut too
    content_dir: Path = Path("content")
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int = Field(default=8080, ge=1, le=65535)
    retention_days: int = Field(default=180, ge=1)
    follow_up_after: Annotated[tuple[timedelta, ...], NoDecode] = (timedelta(days=14), timedelta(days=90))
    bot_processes: int = Field(default=1, ge=1, le=64)  # processes sending for this bot: each keeps to 1/N of
    # Telegram's rate limits (`webhook --workers N` sets it for its own workers)

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip() == "":
            return None
        if value is not None and ":" not in value.get_secret_value():
            raise ValueError("does not look like a bot token (it has the form 123456:ABC-...)")
        return value

    @field_validator("telegram_api_url", "webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        url = value.get_secret_value().strip()
        if not url.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a PostgreSQL URL like postgresql://user:password@host:5432/db")
        return SecretStr(url)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.split(",") if part.strip()]
            if not all(part.lstrip("-").isdigit() for part in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 12345,67890")
            return frozenset(int(part) for part in parts)
        return value

    @field_validator("follow_up_after", mode="before")
    @classmethod
    def _delays(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        delays = []
        for part in (p.strip() for p in value.split(",") if p.strip()):
            number, unit = part[:-1], part[-1:]
            if not number.isdigit() or unit not in UNITS or int(number) == 0:
                raise ValueError("must be delays like 14d,90d (units s, m, h, d), each above 0")
            delays.append(timedelta(seconds=int(number) * UNITS[unit]))
        if not delays:
            raise ValueError("must name at least one delay, like 14d")
        return tuple(delays)

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        secret = value.get_secret_value()
        if not (1 <= len(secret) <= 256 and all(c.isascii() and (c.isalnum() or c in "_-") for c in secret)):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    def secrets(self) -> list[str]:
        """Every secret value, to keep out of logs: the token, the webhook secret, the database password."""
        found = [v.get_secret_value() for v in (self.telegram_bot_token, self.webhook_secret) if v is not None]
        if self.database_url is not None:
            password = urlsplit(self.database_url.get_secret_value()).password
            found += [self.database_url.get_secret_value(), *([password] if password else [])]
        return found

    def token(self) -> str:
        """The bot token; ConfigError (naming TELEGRAM_BOT_TOKEN) when it is not set."""
        if self.telegram_bot_token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set. Create a bot with @BotFather in Telegram (/newbot), then\n"
                "  export TELEGRAM_BOT_TOKEN=123456:ABC...   (or put it in a .env file)\n"
                "To try the conversation without Telegram, run: python -m bot console"
            )
        return self.telegram_bot_token.get_secret_value()


def load_settings() -> Settings:
    """Read the settings; a ConfigError names each wrong variable."""
    try:
        return Settings()
    except ValidationError as error:
        lines = []
        for detail in error.errors():
            name = str(detail["loc"][0]).upper() if detail["loc"] else "settings"
            lines.append(f"{name}: {detail['msg']}")
        raise ConfigError("Invalid setting:\n  " + "\n  ".join(lines)) from None
