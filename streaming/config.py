"""The channel config sections streaming owns: the voice and the output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from livehost.core.config import Strict

_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"


class ObsStream(Strict):
    server: str = Field(pattern=r"^rtmps?://[^/\s]+/\S*$", description="the platform's RTMP server URL")
    key_env: str = Field(pattern=_ENV, description="environment variable with the stream key (never logged)")


class ObsConfig(Strict):
    """Hand the program to the streamer's OBS and drive it over obs-websocket v5."""

    websocket: str = Field(default="ws://127.0.0.1:4455", pattern=r"^ws://[^/\s:]+:\d{1,5}/?$",
                           description="obs-websocket address (OBS 28+: Tools > WebSocket Server Settings)")
    password_env: str | None = Field(default="OBS_PASSWORD", pattern=_ENV, description="environment variable with "
                                     "the websocket password (never logged); null when OBS asks for none")
    feed: str = Field(default="udp://127.0.0.1:9000", description="where livehost sends its program (MPEG-TS) for "
                      "OBS's media source to read: udp://HOST:PORT")
    scene: str = Field(default="livehost {channel}", min_length=1, max_length=200,
                       description="the scene livehost creates or updates ({channel}: the channel id); the user's "
                       "own sources in it are left alone")
    holding_scene: str = Field(default="Be right back", min_length=1, max_length=200,
                               description="shown on takeover and while the feed stalls (created empty if missing)")
    source: str = Field(default="livehost feed {channel}", min_length=1, max_length=200,
                        description="the media source livehost owns in the scene")
    stream: ObsStream | None = Field(default=None, description="set OBS's stream service to this server and key and "
                                     "start streaming; without it OBS streams (or not) as the user set it up")
    stall_seconds: float = Field(default=3.0, ge=0.5, le=60, description="the feed counts as stalled after this "
                                 "long without a frame")

    @field_validator("feed")
    @classmethod
    def _feed(cls, v: str) -> str:
        if v.startswith("srt://"):
            raise ValueError(f"{v!r}: SRT is not available (PyAV's FFmpeg is built without libsrt); use udp://HOST:PORT")
        m = re.fullmatch(r"udp://([^/\s:]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})/?", v)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"{v!r} is not a feed address of the form udp://HOST:PORT")
        return v

    def names(self, channel: str) -> tuple[str, str]:
        """The scene and the media source for ``channel``."""
        return self.scene.replace("{channel}", channel), self.source.replace("{channel}", channel)


class OutputConfig(Strict):
    url: str = Field(default="out.flv", description="file path (.flv, .mp4, .mkv) or rtmp:// URL")
    obs: ObsConfig | None = Field(default=None, description="send the program to OBS instead (see ObsConfig); "
                                  "url is then not used")
    video_bitrate_kbps: int = Field(default=2500, ge=200, le=20000)
    audio_bitrate_kbps: int = Field(default=128, ge=32, le=320)
    keyframe_seconds: int = Field(default=2, ge=1, le=10)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "veryfast"
    aac_coder: Literal["twoloop", "fast"] = Field(default="twoloop", description="FFmpeg's AAC coder: twoloop (best "
                                                  "quality) or fast (about half the audio encoding CPU)")
    realtime: bool | None = Field(default=None, description="pace to the wall clock; default: yes")
    c2pa_cert: str | None = Field(default=None, description="MP4 files: the C2PA signing certificate chain (PEM, "
                                  "leaf first); default: a local self-signed one under LIVEHOST_HOME/c2pa")
    c2pa_key: str | None = Field(default=None, description="MP4 files: the private key of c2pa_cert (PEM; Ed25519 or "
                                 "ECDSA P-256)")
    aigc_producer: str = Field(default="livehost", min_length=1, max_length=200,
                               description="GB 45438 ContentProducer in every output's AIGC metadata: your service "
                               "provider's name or filing code")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith(("rtmp://", "rtmps://")):
            if not re.match(r"^rtmps?://[^/\s]+/\S+", v):
                raise ValueError(f"{v!r} is not an RTMP URL of the form rtmp://host[:port]/app/key")
            return v
        if "://" in v:
            raise ValueError(f"{v!r}: unsupported scheme (use a file path or rtmp://)")
        if Path(v).suffix.lower() not in (".flv", ".mp4", ".mkv", ".ts"):
            raise ValueError(f"{v!r}: file must end in .flv, .mp4, .mkv or .ts")
        return v

    @model_validator(mode="after")
    def _c2pa_pair(self) -> OutputConfig:
        if bool(self.c2pa_cert) != bool(self.c2pa_key):
            raise ValueError("c2pa_cert and c2pa_key go together (the certificate chain and its private key)")
        return self

    @model_validator(mode="after")
    def _one_target(self) -> OutputConfig:
        if self.obs is not None and "url" in self.model_fields_set:
            raise ValueError(f"url {self.url!r} and obs: the program goes to one place; drop url to use OBS")
        return self

    @property
    def is_rtmp(self) -> bool:
        return self.obs is None and self.url.startswith(("rtmp://", "rtmps://"))

    @property
    def target(self) -> str:
        """Where the program goes, for people (never a secret: an RTMP URL's stream key is cut)."""
        if self.obs is not None:
            return f"OBS at {self.obs.websocket} (feed {self.obs.feed})"
        if self.is_rtmp:
            return self.url.rsplit("/", 1)[0] + "/…"
        return self.url

    @property
    def is_live(self) -> bool:
        """A stream (RTMP, or the feed OBS reads), paced to the wall clock; not a file."""
        return self.obs is not None or self.is_rtmp


class VoiceConfig(Strict):
    engine: Literal["auto", "espeak", "piper", "coqui"] = Field(
        default="auto", description="auto: Piper for English where installed, espeak-ng otherwise; coqui: a cloned "
        "voice from a local Coqui model folder and a reference sample (needs a consent record granting voice)")
    model: str | None = Field(default=None, description="coqui: the model folder (a Coqui TTS model such as "
                              "YourTTS or XTTS, or OpenVoice v2's converter folder)")
    reference: str | None = Field(default=None, description="coqui: audio or video of the person speaking (3-60 s "
                                  "used); its SHA-256 is matched against consent records granting voice")
    subject: str | None = Field(default=None, description="coqui: whose voice; used to find the consent record when "
                                "the reference is not the recording a record names")
    device: str = Field(default="cpu", description="coqui: cpu or cuda[:N]")
    threads: int = Field(default=1, ge=1, le=64, description="coqui: torch threads for the voice on the CPU (the "
                         "process's torch setting: the photoreal renderer shares it)")
    allow_noncommercial: bool = Field(default=False, description="coqui: allow weights whose licence forbids "
                                      "commercial use (XTTS v2)")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v != "cpu" and not re.fullmatch(r"cuda(:\d+)?", v):
            raise ValueError(f"{v!r}: use cpu, cuda or cuda:N")
        return v

    @model_validator(mode="after")
    def _coqui(self) -> VoiceConfig:
        if self.engine == "coqui" and (not self.model or not self.reference):
            raise ValueError("engine coqui needs model (a local folder) and reference (a sample of the voice)")
        if self.engine != "coqui" and (self.model or self.reference or self.subject):
            raise ValueError(f"model, reference and subject are for engine coqui, not {self.engine!r}")
        return self


class RenderConfig(Strict):
    device: str = Field(default="auto", description="where photoreal hosts render: auto (a GPU when there is one), cpu, cuda[:N]")
    backend: Literal["samples", "neural"] = Field(
        default="samples", description="samples: the pack's mouth bank (the default); neural: a MuseTalk-1.5-compatible "
        "model from neural_model")
    neural_model: str | None = Field(default=None, description="folder with musetalk.json, unet.pth, vae/ and whisper/")
    budget_frames: float = Field(default=2.0, ge=0.5, le=25, description="a frame not rendered within this many frame "
                                 "periods is dropped (the last one is shown again) and counted")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v not in ("auto", "cpu") and not re.fullmatch(r"cuda(:\d+)?", v):
            raise ValueError(f"{v!r}: use auto, cpu, cuda or cuda:N")
        return v

    @model_validator(mode="after")
    def _neural(self) -> RenderConfig:
        if self.backend == "neural" and not self.neural_model:
            raise ValueError("backend = 'neural' needs neural_model (a local folder: nothing is downloaded)")
        return self


# -- chat connectors ---------------------------------------------------------------------------------
_LISTEN = r"^[^\s:]*:\d{1,5}$"


class _Chat(Strict):
    name: str | None = Field(default=None, max_length=40, description="a label for the console (default: the platform)")
    reply_in_chat: bool = Field(default=False, description="post the host's gated answers in chat, addressed to the viewer")

    @property
    def label(self) -> str:
        return self.name or str(getattr(self, "platform", "chat"))


class TwitchChat(_Chat):
    platform: Literal["twitch"]
    transport: Literal["irc", "eventsub"] = Field(default="irc", description="irc: IRC over WebSocket; eventsub: "
                                                 "EventSub over WebSocket with Helix (Twitch's recommendation)")
    channel: str = Field(pattern=r"^#?[A-Za-z0-9_]{2,25}$", description="the channel's login")
    nick: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_]{2,25}$", description="the bot account's login "
                             "(irc; eventsub reads it from the token when absent)")
    token_env: str = Field(pattern=_ENV, description="environment variable with the bot's OAuth token (irc: chat:read, "
                           "chat:edit; eventsub: user:read:chat, user:write:chat, moderator:read:followers)")
    client_id_env: str | None = Field(default=None, pattern=_ENV, description="eventsub: environment variable with "
                                      "the app's client id")
    url: str | None = Field(default=None, pattern=r"^wss?://", description="WebSocket endpoint override")
    api_url: str | None = Field(default=None, pattern=r"^https?://", description="eventsub: Helix base override")

    @model_validator(mode="after")
    def _eventsub(self) -> TwitchChat:
        if self.transport == "eventsub" and not self.client_id_env:
            raise ValueError("transport eventsub needs client_id_env (the app's client id, for Helix)")
        if self.transport == "irc" and not self.nick:
            raise ValueError("transport irc needs nick (the bot account's login)")
        return self


class WebhookChat(_Chat):
    platform: Literal["webhook"]
    secret_env: str = Field(pattern=_ENV, description="environment variable with the HMAC-SHA256 key")
    listen: str = Field(default="127.0.0.1:8781", pattern=_LISTEN)
    path: str = Field(default="/chat/webhook", pattern=r"^/[\w/.-]*$")
    room: str = Field(default="relay", max_length=64)


class DouyinChat(_Chat):
    platform: Literal["douyin"]
    secret_env: str = Field(pattern=_ENV, description="environment variable with the app's push secret")
    listen: str = Field(default="127.0.0.1:8782", pattern=_LISTEN, description="where the callback is served "
                        "(behind a TLS reverse proxy: Douyin pushes to a public HTTPS URL)")
    path: str = Field(default="/douyin/push", pattern=r"^/[\w/.-]*$")


class WebSocketChat(_Chat):
    platform: Literal["websocket"]
    url: str | None = Field(default=None, pattern=r"^wss?://", description="connect to a relay here")
    listen: str | None = Field(default=None, pattern=_LISTEN, description="or let a relay connect here")
    path: str = Field(default="/chat/ws", pattern=r"^/[\w/.-]*$")
    secret_env: str | None = Field(default=None, pattern=_ENV, description="a bearer token both sides know")
    room: str = Field(default="relay", max_length=64)

    @model_validator(mode="after")
    def _one_side(self) -> WebSocketChat:
        if (self.url is None) == (self.listen is None):
            raise ValueError("give url (livehost connects to the relay) or listen (the relay connects), not both")
        return self



class BilibiliChat(_Chat):
    platform: Literal["bilibili"]
    app_id: int = Field(ge=1, description="the 互动玩法 project's id")
    code_env: str = Field(pattern=_ENV, description="environment variable with the streamer's identity code (身份码)")
    key_env: str = Field(pattern=_ENV, description="environment variable with the access key id")
    secret_env: str = Field(pattern=_ENV, description="environment variable with the access key secret")
    url: str | None = Field(default=None, pattern=r"^https?://", description="API base override "
                            "(default https://live-open.biliapi.com)")


class YouTubeOAuth(Strict):
    client_id_env: str = Field(pattern=_ENV)
    client_secret_env: str = Field(pattern=_ENV)
    refresh_token_env: str = Field(pattern=_ENV, description="a refresh token with the youtube.force-ssl scope")


class YouTubeChat(_Chat):
    platform: Literal["youtube"]
    broadcast: str = Field(default="auto", pattern=r"^[\w.-]{1,128}$", description="auto: the channel's active "
                           "broadcast; or a liveChatId")
    oauth: YouTubeOAuth
    url: str | None = Field(default=None, pattern=r"^https?://", description="API base override "
                            "(default https://www.googleapis.com)")
    token_url: str | None = Field(default=None, pattern=r"^https?://", description="OAuth token endpoint override")


ChatConfig = Annotated[TwitchChat | WebhookChat | DouyinChat | WebSocketChat | BilibiliChat | YouTubeChat,
                       Field(discriminator="platform")]
