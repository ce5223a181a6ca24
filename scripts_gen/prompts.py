"""What text models are asked (versioned Jinja2 prompt files) and how their answers are read back.

Prompts live in ``prompts/<name>.v<N>.j2``; catalog facts and viewer text
go in as quoted JSON data, never as instructions.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from scripts_gen.facts import sentences
from scripts_gen.llm.base import Message

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
MAX_ZH_CHARS = 60  # a spoken answer: at most this many characters...
MAX_EN_WORDS = 40  # ...or words


def _quote(value: Any) -> str:
    """Data for a prompt: JSON, with non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False, default=str)


class PromptSet:
    """Versioned prompt files ``<name>.v<N>.j2``; the newest version unless one is pinned.

    A prompt renders to sections that start with ``### system`` / ``### user`` /
    ``### assistant`` lines, which become chat messages.
    """

    def __init__(self, directory: Path = PROMPTS_DIR, versions: dict[str, int] | None = None) -> None:
        self.directory = Path(directory)
        self.env = Environment(loader=FileSystemLoader(str(self.directory)), undefined=StrictUndefined,
                               autoescape=False, trim_blocks=True, lstrip_blocks=True)
        self.env.filters["quote"] = _quote
        self.versions = dict(versions or {})

    def available(self, name: str) -> list[int]:
        found = [re.fullmatch(rf"{re.escape(name)}\.v(\d+)\.j2", p.name) for p in self.directory.glob(f"{name}.v*.j2")]
        return sorted(int(m[1]) for m in found if m)

    def version(self, name: str) -> int:
        have = self.available(name)
        if not have:
            raise FileNotFoundError(f"prompt {name!r}: no {name}.v<N>.j2 in {self.directory}")
        pinned = self.versions.get(name)
        if pinned is not None and pinned not in have:
            raise ValueError(f"prompt {name!r}: version {pinned} not found (have {have})")
        return pinned if pinned is not None else have[-1]

    def render(self, name: str, **variables: Any) -> tuple[tuple[Any, ...], str]:
        """(messages, "name.vN")."""
        version = self.version(name)
        text = self.env.get_template(f"{name}.v{version}.j2").render(**variables)
        messages: list[Message] = []
        role: str | None = None
        lines: list[str] = []
        for line in text.splitlines():
            m = re.fullmatch(r"###\s*(system|user|assistant)\s*", line)
            if m:
                if role is not None:
                    messages.append(Message(role, "\n".join(lines).strip()))
                role, lines = m[1], []
            elif role is not None:
                lines.append(line)
        if role is not None:
            messages.append(Message(role, "\n".join(lines).strip()))
        if not messages:
            raise ValueError(f"prompt {name}.v{version}: no '### system' / '### user' sections")
        return tuple(messages), f"{name}.v{version}"


def spoken_text(text: str, lang: str) -> str:
    """A model's answer as one or two spoken sentences: quotes, markdown and role labels off, length capped."""
    text = text.strip().strip("\"'“”「」")
    text = re.sub(r"^(?:host|assistant|主播|回复|reply)\s*[:：]\s*", "", text, flags=re.I)
    text = re.sub(r"[*_`#>]+", "", text)
    text = " ".join(text.split())
    parts = sentences(text)[:2]
    text = "".join(parts) if lang == "zh" else " ".join(parts)
    if lang == "zh" and len(text) > MAX_ZH_CHARS:
        text = text[:MAX_ZH_CHARS].rsplit("，", 1)[0].rstrip("，,") + "。"
    elif lang == "en" and len(text.split()) > MAX_EN_WORDS:
        text = " ".join(text.split()[:MAX_EN_WORDS]).rstrip(",;") + "."
    return text
