"""The fake Bot API over HTTP refuses what Telegram refuses, and takes a request cut short by a dying client for
what it is: no call at all (the load-and-kill verdict counts refusals, so a kill must never look like one)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest

from tests.fake_bot_server import FakeBotServer

TOKEN = "1:fake"


@pytest.fixture
def server() -> Iterator[FakeBotServer]:
    with FakeBotServer(TOKEN) as running:
        yield running


def send_message(server: FakeBotServer, **params: str) -> dict[str, object]:
    answer = httpx.post(f"{server.url}/bot{TOKEN}/sendMessage", data=params, timeout=5)
    return dict(answer.json())


def test_a_request_whose_body_never_arrives_is_no_call(server: FakeBotServer) -> None:
    body = urlencode({"chat_id": "42", "text": "Your options side by side"}).encode()
    head = (
        f"POST /bot{TOKEN}/sendMessage HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    for sent in (head, head + body[:9]):  # killed after the headers, or part-way through the body
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as client:
            client.sendall(sent)
            client.shutdown(socket.SHUT_WR)  # as the kernel does for a killed process
            assert client.recv(1) == b""  # the server hung up without an answer
    assert [(r.method, r.status, r.cut) for r in server.requests] == [("sendMessage", 0, True)] * 2
    assert server.api.rejected == [] and server.calls() == []  # neither refused nor sent


def test_an_empty_message_is_refused_as_telegram_does(server: FakeBotServer) -> None:
    for text in ("", "  \n", "<b> </b>"):
        answer = send_message(server, chat_id="42", text=text, parse_mode="HTML")
        assert answer == {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}
    assert send_message(server, chat_id="42", text="<b>Hello</b>", parse_mode="HTML")["ok"] is True
    assert [r.description for r in server.api.rejected] == ["Bad Request: message text is empty"] * 3
