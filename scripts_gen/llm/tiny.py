"""Build a tiny causal language model on this machine, offline, in seconds.

For tests, benchmarks and trying the ``transformers`` backend without
downloading weights: a byte-level BPE tokenizer trained on the given texts,
a small Llama-architecture model (rotary positions, so long prompts work),
a chat template, all saved with ``save_pretrained`` so that the backend loads
it through exactly the code path a real model takes.

With ``answer`` the model is also trained, for a few hundred steps, to reply
with that text after any chat prompt: a stand-in model whose output is known,
so a test can tell a model's words reaching speech from a template's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIALS = ["<|pad|>", "<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]


def build_tiny_model(
    path: str | Path,
    texts: Sequence[str],
    *,
    answer: str | None = None,
    prompts: Sequence[Sequence[tuple[str, str]]] = (),
    vocab_size: int = 600,
    hidden: int = 64,
    layers: int = 2,
    steps: int = 300,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write a model directory at ``path`` and return it.

    ``texts`` train the tokenizer.  ``prompts`` (lists of (role, content)) are
    the chat prompts the model learns to answer with ``answer``; without them
    the texts serve as user messages.
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    started = time.perf_counter()
    say = progress or (lambda _msg: None)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)

    corpus = list(texts) + ([answer] if answer else [])
    corpus += [content for prompt in prompts for _role, content in prompt]
    bpe = Tokenizer(models.BPE(unk_token=None))
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    bpe.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|bos|>", eos_token="<|end|>",
                                        pad_token="<|pad|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    say(f"tokenizer: {len(tokenizer)} tokens")

    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)

    if answer:
        chats = [list(p) for p in prompts] or [[("user", t)] for t in texts[:16]] or [[("user", "hi")]]
        answer_ids = tokenizer(answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        batches = []
        for chat in chats:
            prompt_ids = tokenizer.apply_chat_template([{"role": r, "content": c} for r, c in chat],
                                                       add_generation_prompt=True, tokenize=True)
            if isinstance(prompt_ids, Mapping):  # a BatchEncoding (transformers 5 returns a dict by default)
                prompt_ids = prompt_ids["input_ids"]
            ids = torch.tensor([list(prompt_ids) + answer_ids])
            labels = ids.clone()
            labels[0, : len(prompt_ids)] = -100  # learn the answer, not the prompt
            batches.append((ids, labels))
        optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
        model.train()
        for step in range(steps):
            ids, labels = batches[step % len(batches)]
            loss = model(input_ids=ids, labels=labels).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            if step % 50 == 0 or step == steps - 1:
                say(f"step {step + 1}/{steps}: loss {loss.item():.3f}")
        model.eval()

    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    say(f"saved {path} in {time.perf_counter() - started:.1f} s")
    return path
