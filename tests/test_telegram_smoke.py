from tests.conftest import BotEnv


async def test_start_then_consent(bot_env: BotEnv) -> None:
    user = bot_env.user()
    sent = await user.send("/start")
    assert "stem cell" in sent[0]["text"]
    sent = await user.tap("Continue")
    assert "Before we ask about your health" in sent[-1]["text"]
