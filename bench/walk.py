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
    choose("agree"),  # consent
    choose("flag_no"),  # three red-flag questions
    choose("flag_no"),
    choose("flag_no"),
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
    tick("avoid_surgery"),  # values
    DONE,
    Say(GOAL),  # typed goal
    CONTINUE,  # the result
]
LEANING_OPTION = "exercise"
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


# Anything between the summary and the menu (e.g. an optional clinic hand-off offer): go on, decline, skip.
TO_MENU = Finish(
    done=at_menu,
    preferences=[r"c\d+:ok", r"c\d+:(no|none|skip|decline|no_thanks|cancel)", r"m"],
)
