"""Load and crash test of the real bot: many patients at once while its processes are SIGKILLed and restarted.

    python -m tests.load_kill --mode polling --database sqlite --patients 500 --kills 5 --seconds 3600
    python -m tests.load_kill --mode webhook --database postgres --workers 3 --patients 500 --kills 5 --seconds 1200

The bot runs from a snapshot of bot/, flows/ and content/ taken at start (so the code and content under test
cannot change during the run), with the demo clinic able to receive hand-offs, against a fake Telegram on
127.0.0.1 (telegram.py):

- `--mode polling`: one `python -m bot run`. The fake serves getUpdates and forgets an update only once the bot
  asks for a later offset and that request really arrived (a request cut by a kill confirms nothing), after a
  small network delay (--confirm-delay);
- `--mode webhook`: `--workers` processes `python -m bot webhook`, each on a port of its own, all on one
  database. The fake POSTs each update to the path the bot registered with setWebhook (with its secret header)
  on a worker picked at random, like a load balancer, at most --connections at once, and posts it again after a
  short delay until it is answered 200.

`--database sqlite` keeps a file in the work folder; `--database postgres` starts a throwaway server from the
machine's binaries (tests/pg_server.py), or uses the empty database of `--postgres-url`.

The patients (patients.py) walk whole conversations at once: /start, the safety questions, consent, the intake,
result, options compared, values, knowledge check, leaning (and nudge), SURE, summary, then a clinic or their
own doctor, and the menu; answers at random, with an occasional Back, /help, /menu, /start, a sticker or a text
that is too long. Every fifth (--handoff-every) comes through the demo clinic's referral link, answers like an
example patient whose result allows a hand-off, and sends their summary to the clinic (by username, or sharing
their phone). Each patient predicts every reply with the engine and sends the next update only once they saw
it. Nobody sends an update twice: Telegram never sends again what it considers delivered, so nothing may be lost.

Processes are killed with SIGKILL at random moments (scheduler.py), at least --kills times, each started again
at once on the same database. After the last patient finished, the run waits for the hand-offs to reach the
clinic, stops the bot and compares the database, the fake Telegram's record and what each patient saw
(verdict.py). The counts are printed as a table; the exit code is 1 if any count that must be zero is not.
Bounded: at most --patients patients, --seconds seconds, 127.0.0.1 only.
"""

from tests.load_kill.cli import main
from tests.load_kill.verdict import MUST_BE_ZERO

__all__ = ["MUST_BE_ZERO", "main"]
