"""Text models behind one interface (:class:`TextModel`), chosen by configuration.

The offline default needs none of them: the template engine speaks alone.
``make_model`` builds a backend from a config mapping (see
:class:`scripts_gen.config.ModelConfig`), with errors naming the field and value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scripts_gen.llm.base import BackendError, GenerationRequest, Message, TextModel, apply_stop

__all__ = ["BackendError", "GenerationRequest", "Message", "TextModel", "apply_stop", "make_model", "KINDS"]

KINDS = ("transformers", "openai")


def make_model(spec: dict[str, Any], environ: Mapping[str, str] | None = None) -> TextModel:
    """A backend from ``{"kind": "openai"|"transformers", "model": ..., ...}``.

    ``environ`` is where ``api_key_env`` is looked up (the process's settings, read at the edge).
    """
    kind = spec.get("kind")
    model = spec.get("model")
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    if not isinstance(model, str) or not model.strip():
        raise ValueError(f"model: {model!r} must name a model")
    if kind == "openai":
        from scripts_gen.llm.openai_backend import OpenAICompatModel

        base_url = spec.get("base_url")
        if not base_url:
            raise ValueError("base_url: an openai model needs base_url (e.g. http://127.0.0.1:8000/v1)")
        api_key = None
        if spec.get("api_key_env"):
            api_key = (environ or {}).get(spec["api_key_env"])
            if not api_key:
                raise BackendError(f"openai:{model}", f"environment variable {spec['api_key_env']} (api_key_env) is not set")
        return OpenAICompatModel(
            base_url, model, api_key=api_key,
            timeout_seconds=float(spec.get("timeout_seconds", 10.0)), retries=int(spec.get("retries", 2)),
        )
    from scripts_gen.llm.transformers_backend import TransformersModel

    for field in ("base_url", "api_key_env"):
        if spec.get(field):
            raise ValueError(f"{field}: {spec[field]!r} does not apply to a transformers model")
    return TransformersModel(model, device=spec.get("device", "cpu"), threads=spec.get("threads"),
                             dtype=spec.get("dtype"), allow_download=bool(spec.get("allow_download", False)))
