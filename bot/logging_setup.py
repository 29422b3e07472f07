"""Logging that never shows the bot token, and keeps HTTP client chatter (which contains URLs) quiet."""

from __future__ import annotations

import logging


class RedactSecrets(logging.Filter):
    """Replaces every secret in a log record's final message with '[redacted]'."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        text = message
        for secret in self.secrets:
            text = text.replace(secret, "[redacted]")
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "[redacted]")
            record.exc_info = None
        if text != message:
            record.msg, record.args = text, None
        return True


def setup_logging(level: str, secrets: list[str]) -> None:
    """Log to stderr at `level`; redact `secrets` everywhere; keep libraries that log private data quiet."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # These would log request URLs (with the token), SQL parameters (answers) or state names (reaching
    # "urgent_cauda" is health information): warnings only, whatever LOG_LEVEL says.
    for noisy in ("httpx", "httpcore", "aiosqlite", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # These log whole updates and messages at DEBUG: never below INFO.
    for chatty in ("telegram", "apscheduler", "uvicorn"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
