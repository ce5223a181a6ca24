"""A local causal language model through Hugging Face ``transformers``.

Offline by default: the model is a directory on disk, or a model id already
in the local Hugging Face cache; nothing is downloaded unless
``allow_download`` is set.  torch and transformers are imported only when a
model is first loaded, so the template-only host never pays for them.

Generation runs on one dedicated worker thread per model (a model is not
re-entrant, and on a small machine a second generation would only slow the
first).  Tokens are decoded incrementally and handed to the event loop as
they come; closing the stream sets a flag that a stopping criterion checks
after every token, so an abandoned answer stops within one token.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts_gen.llm.base import BackendError, GenerationRequest, Message, TextModel

_END = object()


def default_threads() -> int:
    """One compute thread on a 2-core box (it shares the CPU with encoding and TTS), else half the cores up to 8."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if cores <= 2 else min(8, cores // 2)


class TransformersModel(TextModel):
    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        threads: int | None = None,
        dtype: str | None = None,
        allow_download: bool = False,
        trust_remote_code: bool = False,
    ) -> None:
        self.model_ref = model
        self.name = f"transformers:{Path(model).name or model}"
        self.device_name = device
        self.threads = threads or default_threads()
        self.dtype_name = dtype
        self.allow_download = allow_download
        self.trust_remote_code = trust_remote_code
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llm-{Path(model).name}")
        self._load_lock = asyncio.Lock()
        self._model: Any = None
        self._tokenizer: Any = None
        self._torch: Any = None
        self.load_seconds: float | None = None
        self.generated_tokens = 0  # all answers, for tests and stats

    # -- loading ---------------------------------------------------------------

    async def load(self) -> None:
        """Load the model (once); later calls return at once."""
        async with self._load_lock:
            if self._model is None:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(self._executor, self._load_sync)

    def _load_sync(self) -> None:
        if self._model is not None:  # an earlier load, abandoned by its caller, finished meanwhile
            return
        started = time.perf_counter()
        try:
            import torch
            import transformers
        except ImportError as exc:
            raise BackendError(self.name, f"needs torch and transformers ({exc.name} is not installed): "
                                          "pip install 'livehost[llm]'") from None
        torch.set_num_threads(self.threads)
        transformers.logging.disable_progress_bar()  # the service's log is not a terminal
        path = Path(self.model_ref).expanduser()
        ref = str(path) if path.exists() else self.model_ref
        if path.exists() and not (path / "config.json").is_file():
            raise BackendError(self.name, f"model: {self.model_ref!r} is a path but has no config.json")
        if not path.exists() and (self.model_ref.startswith((".", "/", "~")) or self.model_ref.count("/") > 1):
            raise BackendError(self.name, f"model: {self.model_ref!r}: no such directory")
        kwargs: dict[str, Any] = {"local_files_only": not self.allow_download,
                                  "trust_remote_code": self.trust_remote_code}
        try:
            tokenizer = transformers.AutoTokenizer.from_pretrained(ref, **kwargs)
            model_kwargs = dict(kwargs)
            if self.dtype_name:
                model_kwargs["dtype"] = getattr(torch, self.dtype_name)
            model = transformers.AutoModelForCausalLM.from_pretrained(ref, **model_kwargs)
        except OSError as exc:
            hint = "" if self.allow_download else " (downloads are off: give a local path, or set allow_download)"
            raise BackendError(self.name, f"model: cannot load {self.model_ref!r}{hint}: {str(exc).splitlines()[0]}") from None
        except ValueError as exc:
            raise BackendError(self.name, f"model: cannot load {self.model_ref!r}: {str(exc).splitlines()[0]}") from None
        device = self.device_name
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise BackendError(self.name, f"device: {self.device_name!r} but no CUDA device is available")
        # PreTrainedModel.to is @functools.wraps(nn.Module.to): typeshed's _Wrapped does not bind self, so mypy
        # takes the device for the model
        model.to(device)  # type: ignore[arg-type]
        model.eval()
        if tokenizer.pad_token_id is None and tokenizer.eos_token_id is not None:
            tokenizer.pad_token = tokenizer.eos_token
        self._torch, self._tokenizer, self._model, self._device = torch, tokenizer, model, device
        self.load_seconds = time.perf_counter() - started

    # -- prompting -------------------------------------------------------------

    def prompt_ids(self, messages: tuple[Message, ...]) -> list[int]:
        """Token ids of the prompt: the model's chat template, or a plain transcript when it has none."""
        tok = self._tokenizer
        chat = [{"role": m.role, "content": m.content} for m in messages]
        if getattr(tok, "chat_template", None):
            ids = tok.apply_chat_template(chat, add_generation_prompt=True, tokenize=True)
            if isinstance(ids, dict) or hasattr(ids, "keys"):
                ids = ids["input_ids"]
            return list(ids)
        text = "".join(f"{m.role}: {m.content}\n" for m in messages) + "assistant:"
        return list(tok(text, add_special_tokens=True)["input_ids"])

    # -- generation ------------------------------------------------------------

    async def stream(self, request: GenerationRequest) -> AsyncIterator[str]:
        await self.load()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue(maxsize=request.max_tokens + 2)  # at most one piece per token
        cancel = threading.Event()

        def emit(item: object) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        job = loop.run_in_executor(self._executor, self._generate_sync, request, emit, cancel)
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
            await job
        finally:
            cancel.set()
            if not job.done():
                job.add_done_callback(_swallow)

    def _generate_sync(self, request: GenerationRequest, emit, cancel: threading.Event) -> None:
        try:
            torch = self._torch
            from transformers import StoppingCriteria, StoppingCriteriaList

            class _Cancelled(StoppingCriteria):
                def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001
                    return torch.full((input_ids.shape[0],), cancel.is_set(), dtype=torch.bool,
                                      device=input_ids.device)

            if torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)  # per OS thread: this is the one that computes
            ids = self.prompt_ids(request.messages)
            input_ids = torch.tensor([ids], device=self._device)
            streamer = _Decoder(self._tokenizer, emit, cancel, self._count)
            kwargs: dict[str, Any] = {
                "max_new_tokens": request.max_tokens,
                "streamer": streamer,
                "stopping_criteria": StoppingCriteriaList([_Cancelled()]),
                "attention_mask": torch.ones_like(input_ids),
                "pad_token_id": self._tokenizer.pad_token_id,
            }
            if request.temperature > 0:
                kwargs.update(do_sample=True, temperature=request.temperature, top_p=request.top_p)
                if request.seed is not None:
                    torch.manual_seed(request.seed)
            else:
                kwargs.update(do_sample=False)
            with torch.inference_mode():
                self._model.generate(input_ids, **kwargs)  # calls streamer.end() when done
            emit(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            emit(exc if isinstance(exc, BackendError) else BackendError(self.name, f"generation failed: {exc!r}"))

    def _count(self, n: int) -> None:
        self.generated_tokens += n

    async def idle(self) -> None:
        """Wait until the worker thread has finished what it was given (a cancelled answer stops within a token)."""
        await asyncio.get_running_loop().run_in_executor(self._executor, lambda: None)

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._model = None


class _Decoder:
    """A ``transformers`` streamer: decodes new tokens incrementally, holding back half-decoded characters."""

    def __init__(self, tokenizer: Any, emit, cancel: threading.Event, counted) -> None:
        self.tokenizer = tokenizer
        self.counted = counted
        self.emit = emit
        self.cancel = cancel
        self.tokens: list[int] = []
        self.sent = 0  # characters of the decoded text already emitted
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:  # generate() first hands over the prompt
            self.prompt_seen = True
            return
        new = [int(t) for t in value.reshape(-1).tolist()]
        self.tokens.extend(new)
        self.counted(len(new))
        text = self.tokenizer.decode(self.tokens, skip_special_tokens=True)
        if text.endswith("\ufffd"):
            return  # a multi-byte character split across tokens: wait for the rest
        if len(text) > self.sent and not self.cancel.is_set():
            self.emit(text[self.sent:])
            self.sent = len(text)

    def end(self) -> None:
        """Whatever was held back (a final partial character is dropped)."""
        text = self.tokenizer.decode(self.tokens, skip_special_tokens=True).rstrip("\ufffd")
        if len(text) > self.sent and not self.cancel.is_set():
            self.emit(text[self.sent:])
            self.sent = len(text)


def _swallow(fut: asyncio.Future) -> None:
    if not fut.cancelled():
        fut.exception()
