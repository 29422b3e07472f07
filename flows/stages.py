"""The analytics stages a chat can reach, declared once, in the order a patient meets them.

Stage events carry no health answers. The stages that tell how the safety screen went are stored without the
chat id, so they can be counted but never tied to a person.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """A step of the funnel; the value is what the events table stores."""

    STARTED = "started"
    SCREENED = "screened"  # finished the safety questions with no emergency sign
    RED_FLAG = "red_flag"  # stopped at an emergency sign
    URGENT = "urgent"  # advised to see a doctor today, then free to read on
    CONSENTED = "consented"
    COMPLETED = "completed"  # saw their result
    HANDED_OFF = "handed_off"
    OPTED_IN = "opted_in"  # agreed to follow-up check-ins
    FIRST_CHECK_IN = "first_check_in"  # answered the first check-in (two weeks)
    DECIDED = "decided"  # had decided at the first check-in
    SECOND_CHECK_IN = "second_check_in"  # answered the second check-in (three months)
    SAME_CHOICE = "same_choice"  # would make the same choice again
    DELETED = "deleted"
    CONTENT_BUG = "content_bug"  # the flow had no way on for a patient's answers (logged with the state)


FUNNEL = tuple(stage for stage in Stage if stage not in (Stage.DELETED, Stage.CONTENT_BUG))
# Counted without the chat id: whether a chat passed the screen, stopped at it or was sent to a doctor.
ANONYMOUS = frozenset({Stage.SCREENED, Stage.RED_FLAG, Stage.URGENT, Stage.CONTENT_BUG})
