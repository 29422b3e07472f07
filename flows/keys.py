"""Every text key the code itself uses (content names the rest), with the kind of text it is, and the commands.

The kind decides which Telegram limit applies: a label sits on a button (64 bytes), a notice may be shown as
a pop-up (200 characters), a caption goes under a file or photo (1,024 characters), a message is a message.
"""

from __future__ import annotations

from enum import StrEnum


class KeyKind(StrEnum):
    """What a text is used as."""

    LABEL = "label"
    NOTICE = "notice"
    CAPTION = "caption"
    MESSAGE = "message"


COMMANDS = ("start", "menu", "back", "restart", "language", "privacy", "reminders", "delete", "help")

SYSTEM_KEYS: dict[str, KeyKind] = {
    **dict.fromkeys(
        (
            "common.back",
            "common.continue",
            "common.done",
            "common.skip",
            "common.restart",
            "common.menu",
            "common.resume",
            "common.true",
            "common.false",
            "common.not_sure",
            "summary.pdf_button",
            "summary.large_pdf_button",
            "handoff.send_username",
            "handoff.send_phone",
            "handoff.cancel",
            "handoff.share_phone_button",
            "bot.delete_yes",
            "bot.delete_no",
            "menu.compare",
            "reminders.cancel",
        ),
        KeyKind.LABEL,
    ),
    **dict.fromkeys(("common.tick_on", "common.tick_off"), KeyKind.LABEL),
    **dict.fromkeys(
        (
            "notice.stale",
            "notice.use_buttons",
            "notice.pick_one",
            "notice.first_question",
            "notice.no_way_back",
            "notice.text_too_long",
            "notice.welcome_back",
            "notice.content_changed",
            "bot.delete_cancelled",
        ),
        KeyKind.NOTICE,
    ),
    "summary.pdf_caption": KeyKind.CAPTION,
    **dict.fromkeys(
        (
            "result.why",
            "result.based_on",
            "result.no_rules",
            "result.disclaimer",
            "result.disclosure",
            "menu.intro",
            "menu.for_you",
            "typed.matches",
            "series.progress",
            "knowledge.answer_true",
            "knowledge.answer_false",
            "comparison.may",
            "comparison.risks",
            "comparison.time_cost",
            "comparison.figures",
            "summary.answers",
            "summary.result",
            "summary.topics",
            "summary.questions_heading",
            "summary.questions",
            "summary.sources",
            "summary.pdf_title",
            "figure.time_label",
            "figure.in_total",
            "figure.range",
            "figure.band_note",
            "figure.source",
            "table.option",
            "table.may",
            "table.risks",
            "table.time_cost",
            "summary.about",
            "summary.clinician_heading",
            "summary.clinician_intro",
            "summary.screen",
            "summary.screen_clear",
            "summary.screen_urgent",
            "clinic.disclosure",
            "clinic.relationships",
            "clinic.none",
            "handoff.phone_ask",
            "section.sources",
            "info.help",
            "info.privacy",
            "bot.private_only",
            "bot.unsupported",
            "bot.edited",
            "bot.delete_confirm",
            "bot.deleted",
            "bot.error",
            "bot.language_choose",
            "bot.busy",
            "bot.handoff_delivered",
            "bot.handoff_delayed",
            "bot.handoff_failed",
            "bot.stats_denied",
            "bot.stats_heading",
            "reminders.none",
            "reminders.planned",
            "reminders.item",
            "reminders.cancelled",
            "reminders.late",
            "clinic_message.new",
            "clinic_message.withdrawn",
        ),
        KeyKind.MESSAGE,
    ),
    **{f"command.{name}": KeyKind.MESSAGE for name in COMMANDS},
}
