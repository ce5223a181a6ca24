"""The OpenAI-compatible backend against a local server speaking the streaming protocol."""

from __future__ import annotations

import asyncio

import pytest

from scripts_gen.llm import BackendError, GenerationRequest, Message, make_model
from scripts_gen.llm.openai_backend import OpenAICompatModel
from tests.openai_server import ChatServer, Turn

REQ = GenerationRequest(messages=(Message("system", "be brief"), Message("user", "多少钱")), max_tokens=40,
                        temperature=0.0, seed=7)


@pytest.fixture
async def server():
    servers = []

    async def start(answer=None, **kw) -> ChatServer:
        s = ChatServer(answer, **kw)
        await s.start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        await s.stop()


def model(url, **kw):
    kw.setdefault("backoff", 0.01)
    return OpenAICompatModel(url, "qwen-test", **kw)


async def test_streams_pieces_and_sends_the_request(server):
    s = await server(lambda body: Turn("这款杯子59元，点链接下单。", pieces=5))
    async with model(s.url) as m:
        pieces = [p async for p in m.stream(REQ)]
    assert len(pieces) == 5 and "".join(pieces) == "这款杯子59元，点链接下单。"
    body = s.requests[0]
    assert body["model"] == "qwen-test" and body["stream"] is True
    assert body["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "多少钱"}]
    assert (body["max_tokens"], body["temperature"], body["seed"]) == (40, 0.0, 7)


async def test_complete_cuts_at_a_stop_string_and_closes_the_stream(server):
    s = await server(lambda body: Turn("第一句。\n第二句。", pieces=8, gap=0.05))
    async with model(s.url) as m:
        text = await m.complete(GenerationRequest(messages=REQ.messages, stop=("\n",)))
    assert text == "第一句。"
    assert s.requests[0]["stop"] == ["\n"]


async def test_api_key_sent_as_bearer_and_never_shown(server, monkeypatch):
    s = await server(lambda body: Turn("ok"), api_key="sk-secret-123")
    m = make_model({"kind": "openai", "model": "m", "base_url": s.url, "api_key_env": "LH_TEST_KEY", "retries": 0},
                   {"LH_TEST_KEY": "sk-secret-123"})
    async with m:
        assert await m.complete(REQ) == "ok"
        assert "sk-secret" not in repr(m)
    async with model(s.url, api_key="sk-wrong-456") as m:
        with pytest.raises(BackendError) as err:
            await m.complete(REQ)
    assert "401" in str(err.value) and "invalid api key" in str(err.value) and "sk-wrong" not in str(err.value)


def test_missing_key_variable_is_named():
    with pytest.raises(BackendError, match="LH_NO_SUCH_KEY"):
        make_model({"kind": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "LH_NO_SUCH_KEY"},
                   {"OTHER": "x"})


async def test_503_and_429_are_retried_with_retry_after(server):
    turns = iter([Turn(status=503, error_body='{"error": {"message": "overloaded"}}'),
                  Turn(status=429, headers={"Retry-After": "0.05"}), Turn("好的")])
    s = await server(lambda body: next(turns))
    async with model(s.url, retries=2) as m:
        assert await m.complete(REQ) == "好的"
        assert m.stats["retries"] == 2
    assert len(s.requests) == 3


async def test_400_is_not_retried_and_the_reason_is_shown(server):
    s = await server(lambda body: Turn(status=400, error_body='{"error": {"message": "max_tokens too large"}}'))
    async with model(s.url, retries=3) as m:
        with pytest.raises(BackendError, match="HTTP 400.*max_tokens too large"):
            await m.complete(REQ)
    assert len(s.requests) == 1


async def test_retries_run_out(server):
    s = await server(lambda body: Turn(status=502))
    async with model(s.url, retries=2) as m:
        with pytest.raises(BackendError, match="HTTP 502"):
            await m.complete(REQ)
    assert len(s.requests) == 3


async def test_no_retry_once_text_has_streamed(server):
    s = await server(lambda body: Turn("半句话然后", pieces=5, done=False))
    async with model(s.url, retries=3) as m:
        got = []
        with pytest.raises(BackendError, match="without \\[DONE\\]"):
            async for piece in m.stream(REQ):
                got.append(piece)
    assert "".join(got) == "半句话然后" and len(s.requests) == 1


async def test_silence_before_first_token_and_between_tokens_times_out(server):
    s = await server(lambda body: Turn("abc", delay=5))
    async with model(s.url, first_token_timeout=0.3, retries=0) as m:
        with pytest.raises(BackendError, match="before the first token"):
            await m.complete(REQ)
    s2 = await server(lambda body: Turn("abcdef", pieces=3, stall_after=1))
    async with model(s2.url, idle_timeout=0.3, retries=0) as m:
        got = []
        with pytest.raises(BackendError, match="between tokens"):
            async for piece in m.stream(REQ):
                got.append(piece)
    assert got == ["ab"]


async def test_whole_request_limit(server):
    s = await server(lambda body: Turn("a" * 40, pieces=40, gap=0.05))
    async with model(s.url, timeout_seconds=0.5, idle_timeout=5, retries=0) as m:
        with pytest.raises(BackendError, match="within 0.5 s"):
            await m.complete(REQ)


async def test_error_event_in_the_stream(server):
    s = await server(lambda body: Turn(error_event="context length exceeded"))
    async with model(s.url) as m:
        with pytest.raises(BackendError, match="server error: context length exceeded"):
            await m.complete(REQ)


async def test_non_streaming_answer_is_accepted(server):
    s = await server(lambda body: Turn("一次性回答", plain_json=True))
    async with model(s.url) as m:
        assert await m.complete(REQ) == "一次性回答"


async def test_unreachable_server(server):
    async with model("http://127.0.0.1:9/v1", retries=1) as m:
        with pytest.raises(BackendError, match="cannot reach"):
            await m.complete(REQ)


async def test_cancelling_the_consumer_closes_the_connection(server):
    s = await server(lambda body: Turn("x" * 50, pieces=50, gap=0.05))
    async with model(s.url) as m:
        task = asyncio.create_task(m.complete(REQ))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(40):
            if s.cancelled:
                break
            await asyncio.sleep(0.05)
    assert s.cancelled == 1  # the server saw the client go away mid-answer


def test_factory_names_bad_fields():
    with pytest.raises(ValueError, match="kind: 'gpt'"):
        make_model({"kind": "gpt", "model": "x"})
    with pytest.raises(ValueError, match="base_url"):
        make_model({"kind": "openai", "model": "x"})
    with pytest.raises(ValueError, match="model: ''"):
        make_model({"kind": "openai", "model": "", "base_url": "http://h/v1"})
    with pytest.raises(ValueError, match="base_url: 'http://h/v1' does not apply"):
        make_model({"kind": "transformers", "model": "x", "base_url": "http://h/v1"})
    m = make_model({"kind": "openai", "model": "deepseek-chat", "base_url": "http://h/v1", "retries": 0})
    assert isinstance(m, OpenAICompatModel) and m.name == "openai:deepseek-chat" and m.retries == 0
