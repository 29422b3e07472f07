from tests.conftest import BotEnv
from tests.test_telegram_decision_aid import Patient


async def test_start_then_the_safety_questions(bot_env: BotEnv) -> None:
    p = Patient.of(bot_env)
    sent = await p.start()
    assert p.says(sent[0], "welcome") and "stem cell" in sent[0]["text"]
    sent = await p.tap("ok")
    assert p.says(sent[-1], "safety.cauda")
