"""A patient's complete conversation with our bot, as taps chosen by callback data (see content/flow.yaml).

Callback data is `c<step>:<option>` (choose), `t<step>:<option>` (tick), `d<step>` (Done), `s:<section>`
(a topic of the menu); the step number is read from the keyboard the bot sent, never assumed.
If the flow changes, this is the one place to update; a missing button stops the bench with the
chat, the step and the buttons it did have.
"""

from __future__ import annotations

from bench.driver import Action, Finish, Say, Tap


def choose(option: str) -> Tap:
    return Tap(rf"c\d+:{option}")


def tick(option: str) -> Tap:
    return Tap(rf"t\d+:{option}")


DONE = Tap(r"d\d+")
CONTINUE = choose("ok")
GOAL = "walk to the shops"

TO_LEANING: list[Action] = [
    Say("/start"),
    CONTINUE,  # welcome
    choose("flag_no"),  # four safety questions, before consent
    choose("flag_no"),
    choose("flag_no"),
    choose("flag_no"),
    choose("agree"),  # consent
    choose("low_back"),  # region
    tick("walking_pain"),
    DONE,
    choose("over_1_year"),  # duration
    choose("6"),  # pain scale
    choose("had_mri"),
    tick("bulging_disc"),
    DONE,
    choose("moderate"),  # MRI severity
    tick("physio"),  # treatments tried
    DONE,
    choose("good"),  # health
    Say(GOAL),  # typed goal
    CONTINUE,  # the result
    CONTINUE,  # all options side by side
    choose("a_lot"),  # what matters: avoiding an operation matters a lot...
    choose("a_little"),  # ...the other five values, one at a time
    choose("a_little"),
    choose("not_at_all"),
    choose("a_little"),
    choose("not_at_all"),
    choose("true"),  # knowledge check: three statements, each explained
    choose("false"),
    choose("not_sure"),
]
LEANING_OPTION = "exercise"  # no conflict with the values above: no nudge
LEANING = choose(LEANING_OPTION)
FROM_LEANING: list[Action] = [
    LEANING,
    choose("yes"),  # SURE: four yes
    choose("yes"),
    choose("yes"),
    choose("yes"),
    CONTINUE,  # "you seem ready"
    CONTINUE,  # the summary
]
PATIENT: list[Action] = TO_LEANING + FROM_LEANING


def at_menu(callback_data: list[str]) -> bool:
    """The menu lists the topics (`s:<section>` buttons)."""
    return any(data.startswith("s:") for data in callback_data)


# Between the summary and the menu: "take this to your own doctor" (Continue), or first a clinic hand-off offer
# when one is made ("no, thank you"); go on, decline, skip.
TO_MENU = Finish(
    done=at_menu,
    preferences=[r"c\d+:ok", r"c\d+:(no|none|skip|decline|no_thanks|cancel)", r"m"],
)
