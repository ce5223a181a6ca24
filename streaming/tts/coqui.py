"""A cloned voice with Coqui TTS (``coqui-tts``, import ``TTS``): a local model folder and a reference sample.

Two kinds of model folder are read; nothing is ever downloaded:

- **A cloning TTS model** in Coqui's layout (``config.json`` naming the model, ``model.pth``): speaks the
  text in the reference speaker's voice.  A VITS-family model with a speaker encoder (YourTTS-style,
  ``speaker_encoder_model_path`` in its config) reports its phoneme durations, which drive the mouth
  directly; any other model (XTTS) gives none, and its phone timings are estimated from its audio by
  alignment with espeak-ng (:mod:`streaming.tts.align`).
- **An OpenVoice voice converter** (the ``converter`` folder of OpenVoice v2: ``config.json`` with
  ``data`` and ``model`` sections, ``checkpoint.pth``): the channel's own voice (espeak-ng, Piper) says
  the text, and the converter gives it the reference speaker's timbre.  The conversion keeps every
  frame in place, so the base voice's phone timings stay exact.  OpenVoice v2 is MIT-licensed,
  commercial use allowed; XTTS v2 weights are under the Coqui Public Model License (non-commercial),
  which is why an XTTS folder is refused unless ``allow_noncommercial`` says the operator knows.

The reference may be any audio or video file PyAV reads (a phone recording of the person, the same
video an avatar pack was made from); it is decoded once.  Synthesis runs on one torch thread.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from streaming.tts.align import carry_phones
from streaming.tts.base import SAMPLE_RATE, Phone, TtsBackend, TtsError, Utterance, normalize, scale_position, to_48k

log = logging.getLogger(__name__)

NONCOMMERCIAL = {"xtts": "XTTS weights are under the Coqui Public Model License (non-commercial use only)",
                 "tortoise": "check the licence of your Tortoise weights", "bark": "check the licence of your Bark weights"}
REFERENCE_SECONDS = (3.0, 60.0)  # shorter says too little about a voice; longer is cut (the models use ~10-30 s)
_LANGUAGE_NAMES = {"zh": ("zh-cn", "zh", "cmn", "zh-CN"), "en": ("en", "en-us", "en-US", "en_US")}
_SKIP = {"<BLNK>", "<PAD>", "<EOS>", "<BOS>", " ", ",", ".", "!", "?", ";", ":", "，", "。", "！", "？", "、", "-", "—"}


def _import_tts() -> None:
    try:
        import TTS  # noqa: F401
    except ImportError as e:
        raise TtsError(f"coqui: {e.name} is not installed (pip install 'livehost[voice]')") from None
    except OSError as e:  # torchaudio's CUDA-built extension on a CPU-only torch
        raise TtsError(f"coqui: torchaudio cannot load its extension ({e}); delete torchaudio/lib/_torchaudio.abi3.so "
                       "(`make setup` does)") from None


def read_reference(path: str | Path, rate: int) -> np.ndarray:
    """The reference speaker's audio as mono float32 at ``rate``: :class:`TtsError` naming the file if unusable."""
    import av

    path = Path(path)
    if not path.is_file():
        raise TtsError(f"voice.reference: {str(path)!r}: no such file")
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise TtsError(f"voice.reference: {path.name!r} has no audio track")
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunks.append(out.to_ndarray().reshape(-1))
                if sum(len(c) for c in chunks) >= REFERENCE_SECONDS[1] * rate:
                    break
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except av.error.FFmpegError as e:
        raise TtsError(f"voice.reference: {path.name!r}: cannot read it as audio ({e})") from None
    audio = np.concatenate(chunks)[: int(REFERENCE_SECONDS[1] * rate)] if chunks else np.zeros(0, np.float32)
    voiced = float(np.mean(np.abs(audio) > 0.01)) * len(audio) / rate if len(audio) else 0.0
    if voiced < REFERENCE_SECONDS[0]:
        raise TtsError(f"voice.reference: {path.name!r} holds {voiced:.1f} s of sound; give at least "
                       f"{REFERENCE_SECONDS[0]:.0f} s of the person speaking")
    return audio.astype(np.float32)


def model_kind(folder: Path) -> str:
    """``openvoice`` or the Coqui model name in ``config.json`` (``vits``, ``xtts``...)."""
    config = folder / "config.json"
    if not folder.is_dir():
        raise TtsError(f"voice.model: {str(folder)!r}: no such folder")
    if not config.is_file():
        raise TtsError(f"voice.model: {str(folder)!r} has no config.json (a Coqui model or an OpenVoice converter folder)")
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise TtsError(f"voice.model: {config}: not a readable JSON config ({e})") from None
    if isinstance(data, dict) and isinstance(data.get("data"), dict) and isinstance(data.get("model"), dict):
        return "openvoice"
    if not isinstance(data, dict) or not isinstance(data.get("model"), str):
        raise TtsError(f"voice.model: {config}: no \"model\" name (expected a Coqui TTS config)")
    return data["model"].lower()


class CoquiTts(TtsBackend):
    """Speaks in the reference speaker's voice; ``base`` is the channel's own voice (the converter's input,
    and the guide for estimated timings)."""

    name = "coqui"

    def __init__(self, model: str | Path, reference: str | Path, base: TtsBackend, *, device: str = "cpu",
                 allow_noncommercial: bool = False, threads: int = 1) -> None:
        _import_tts()
        import torch

        self.folder, self.base, self.device = Path(model), base, device
        self.kind = model_kind(self.folder)
        if self.kind in NONCOMMERCIAL and not allow_noncommercial:
            raise TtsError(f"voice.model: {self.folder.name!r} is a {self.kind} model: {NONCOMMERCIAL[self.kind]}; "
                           "set voice.allow_noncommercial: true only where that licence allows your use")
        if threads:
            torch.set_num_threads(threads)
        self._lock = threading.Lock()
        self._compute = self._speech = 0.0
        self._sentences = 0
        self._tmp = tempfile.TemporaryDirectory(prefix="livehost-voice-")
        try:
            if self.kind == "openvoice":
                self._load_openvoice(reference)
            else:
                self._load_tts(reference)
        except TtsError:
            self._tmp.cleanup()
            raise
        except Exception as e:  # torch and coqui raise anything for a broken folder: name the folder
            self._tmp.cleanup()
            raise TtsError(f"voice.model: {str(self.folder)!r}: cannot load the {self.kind} model: {e!r}") from e
        self.name = f"coqui-{self.kind}"

    # -- loading ---------------------------------------------------------------------------------
    def _load_openvoice(self, reference: str | Path) -> None:
        import torch
        from TTS.vc.configs.openvoice_config import OpenVoiceArgs, OpenVoiceConfig
        from TTS.vc.models.openvoice import OpenVoice

        original = json.loads((self.folder / "config.json").read_text(encoding="utf-8"))
        known = set(OpenVoiceArgs.__dataclass_fields__)
        config = OpenVoiceConfig(model_args=OpenVoiceArgs(**{k: v for k, v in original["model"].items() if k in known}))
        data = original["data"]
        config.audio.input_sample_rate = config.audio.output_sample_rate = int(data["sampling_rate"])
        config.audio.fft_size, config.audio.hop_length = int(data["filter_length"]), int(data["hop_length"])
        config.audio.win_length = int(data["win_length"])
        checkpoint = self.folder / "checkpoint.pth"
        if not checkpoint.is_file():
            raise TtsError(f"voice.model: {str(self.folder)!r} has no checkpoint.pth")
        model = OpenVoice(config)
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("model", state), strict=True)
        self.model = model.to(self.device).eval()
        self.rate = config.audio.output_sample_rate
        ref = torch.from_numpy(read_reference(reference, self.rate)).to(self.device)
        with torch.inference_mode():
            self._target, _ = model.extract_se(ref)

    def _load_tts(self, reference: str | Path) -> None:
        import soundfile
        from TTS.config import load_config
        from TTS.tts.models import setup_model

        config = load_config(str(self.folder / "config.json"))
        checkpoint = next((p for p in (self.folder / "model.pth", self.folder / "model_file.pth") if p.is_file()), None)
        args = config.get("model_args") or {}
        for key in ("speaker_encoder_model_path", "speaker_encoder_config_path"):  # saved as absolute paths elsewhere
            value = args.get(key) if hasattr(args, "get") else None
            if value and not Path(value).is_file() and (self.folder / Path(value).name).is_file():
                args[key] = str(self.folder / Path(value).name)
        model = setup_model(config)
        if self.kind == "xtts":
            model.load_checkpoint(config, checkpoint_dir=str(self.folder), eval=True)
        else:
            if checkpoint is None:
                raise TtsError(f"voice.model: {str(self.folder)!r} has no model.pth")
            model.load_checkpoint(config, checkpoint_path=str(checkpoint), eval=True)
        encoder = args.get("speaker_encoder_model_path") if hasattr(args, "get") else None
        if encoder and hasattr(model, "speaker_manager") and model.speaker_manager is not None:
            model.speaker_manager.init_encoder(encoder, args["speaker_encoder_config_path"], self.device != "cpu")
            model._register_speaker_encoder()
        self.model = model.to(self.device).eval()
        self.config = config
        audio = config.get("audio") or {}
        self.rate = int(audio.get("output_sample_rate") or audio.get("sample_rate") or 22050)
        self.hop = int(audio.get("hop_length") or 256)
        self._reference = Path(self._tmp.name) / "reference.wav"
        soundfile.write(self._reference, read_reference(reference, 16000 if encoder else self.rate),
                        16000 if encoder else self.rate)
        self._d_vector = None
        if encoder:
            import torch

            embedding = model.speaker_manager.compute_embedding_from_clip(str(self._reference))
            self._d_vector = torch.tensor(embedding, dtype=torch.float, device=self.device).unsqueeze(0)
        elif self.kind == "vits":
            raise TtsError(f"voice.model: {str(self.folder)!r}: this VITS model has no speaker encoder, so it cannot "
                           "take a reference voice (use a YourTTS-style model, XTTS, or an OpenVoice converter)")
        names = list(getattr(getattr(model, "language_manager", None), "language_names", None) or [])
        names += list(config.get("languages") or [])
        self.languages = names

    def speaks(self, lang: str) -> bool:
        """Whether the voice can say ``lang`` (a converter says whatever its base voice says)."""
        if self.kind == "openvoice" or not getattr(self, "languages", None):
            return True
        try:
            self._language(lang)
        except TtsError:
            return False
        return True

    def _language(self, lang: str) -> str | None:
        if not self.languages:
            return None
        for name in (lang, *_LANGUAGE_NAMES.get(lang, ())):
            if name in self.languages:
                return name
        raise TtsError(f"coqui ({self.folder.name}): the model speaks {', '.join(self.languages)}, not {lang!r}")

    # -- speaking --------------------------------------------------------------------------------
    def synthesize(self, text: str, lang: str) -> Utterance:
        with self._lock:
            started = time.perf_counter()
            try:
                u = self._convert(text, lang) if self.kind == "openvoice" else self._speak(text, lang)
            except TtsError:
                raise
            except Exception as e:  # a model failing on one sentence: name it, the channel goes on
                raise TtsError(f"coqui ({self.folder.name}): {e!r} for {text[:60]!r}") from e
            self._note_speed(time.perf_counter() - started, u.samples / SAMPLE_RATE)
            return u

    @property
    def realtime_factor(self) -> float | None:
        """Seconds of compute per second of speech so far (None before the first sentence)."""
        return self._compute / self._speech if self._speech else None

    def _note_speed(self, compute: float, speech: float) -> None:
        self._compute, self._speech, self._sentences = self._compute + compute, self._speech + speech, self._sentences + 1
        rtf = self.realtime_factor
        if self._sentences == 3 and rtf is not None and rtf > 0.9:
            log.warning("voice %s on %s takes %.2f s per second of speech: slower than the host talks, so expect "
                        "pauses between sentences (use device: cuda, or more voice.threads)", self.name, self.device, rtf)

    def _convert(self, text: str, lang: str) -> Utterance:
        import torch

        source = self.base.synthesize(text, lang)
        if source.samples == 0:
            return source
        pcm = to_rate(source.pcm, SAMPLE_RATE, self.rate)
        with torch.inference_mode():
            wav = torch.from_numpy(pcm).to(self.device)
            g_src, spec = self.model.extract_se(wav)
            out = self.model.inference(spec, {"g_src": g_src, "g_tgt": self._target})["model_outputs"][0, 0]
        converted = np.clip(out.float().cpu().numpy() * 32767, -32768, 32767).astype(np.int16)
        speech = normalize(to_48k(converted, self.rate))
        scale = len(speech) / source.samples  # the converter keeps frames in place: same timings, stretched by padding
        phones = tuple(Phone(p.symbol, int(p.start * scale), min(len(speech), int(p.end * scale))) for p in source.phones)
        return Utterance(speech, tuple(p for p in phones if p.end > p.start))

    def _speak(self, text: str, lang: str) -> Utterance:
        language = self._language(lang)
        if self._d_vector is not None:  # VITS-family: the model's own durations drive the mouth
            out = self._infer(text, language)
            wav = out["outputs"]["model_outputs"].reshape(-1).float().cpu().numpy()
            pcm = np.clip(wav * 32767, -32768, 32767).astype(np.int16)
            phones = self._model_phones(out, len(pcm))
            speech = normalize(to_48k(pcm, self.rate))
            return Utterance(speech, tuple(Phone(s, scale_position(a, self.rate), min(len(speech), scale_position(b, self.rate)))
                                           for s, a, b in phones))
        out = self.model.synthesize(text, speaker_wav=str(self._reference), language=language)
        wav = np.asarray(out["wav"].cpu().numpy() if hasattr(out["wav"], "cpu") else out["wav"], np.float32).reshape(-1)
        speech = normalize(to_48k(np.clip(wav * 32767, -32768, 32767).astype(np.int16), self.rate))
        guide = self.base.synthesize(text, lang)  # no durations from this model: estimate them from its audio
        return Utterance(speech, carry_phones(guide, speech))

    def _infer(self, text: str, language: str | None) -> dict[str, Any]:
        """One VITS pass with the reference's d-vector (computed once at load, not per sentence)."""
        import torch

        model = self.model
        ids = torch.as_tensor(model.tokenizer.text_to_ids(text, language=language), dtype=torch.long,
                              device=self.device).unsqueeze(0)
        language_id = model._get_language_id(language) if language is not None else None
        aux = {"x_lengths": torch.tensor(ids.shape[1:2], device=self.device), "speaker_ids": None,
               "d_vectors": self._d_vector,
               "language_ids": None if language_id is None else torch.tensor([language_id], device=self.device)}
        with torch.inference_mode():
            outputs = model.inference(ids, aux_input=aux)
        return {"outputs": outputs, "text_inputs": ids}

    def _model_phones(self, out: dict[str, Any], samples: int) -> list[tuple[str, int, int]]:
        """The model's tokens and durations (spectrogram frames) as (symbol, start, end) in its own samples."""
        durations = out["outputs"].get("durations")
        if durations is None:
            raise TtsError(f"coqui ({self.folder.name}): the model gave no durations")
        frames = durations.reshape(-1).cpu().numpy().astype(np.int64)
        ids = out["text_inputs"].reshape(-1).cpu().tolist()
        chars = self.model.tokenizer.characters
        phones: list[tuple[str, int, int]] = []
        pos = 0
        for token, n in zip(ids, frames, strict=False):
            symbol = chars.id_to_char(int(token))
            start, pos = pos, pos + int(n) * self.hop
            if symbol in _SKIP or n <= 0:
                continue
            if phones and symbol in ("ˈ", "ˌ", "ː"):  # marks belong to the phone beside them
                continue
            phones.append((symbol, min(start, samples), min(pos, samples)))
        return [(s, a, b) for s, a, b in phones if b > a]

    def close(self) -> None:
        self._tmp.cleanup()
        self.base.close()


def to_rate(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    """int16 PCM at ``rate`` as float32 in [-1, 1] at ``target`` (linear interpolation)."""
    x = pcm.astype(np.float32) / 32768.0
    if rate == target or len(x) == 0:
        return x
    n = len(x) * target // rate
    return np.interp(np.arange(n) * (rate / target), np.arange(len(x)), x).astype(np.float32)
