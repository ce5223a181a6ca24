"""Every Redis key livehost uses, in one place.

Channels publish and follow commands under ``livehost:channel:<id>`` and
``livehost:control:<id>``; what was said and what the gate refused under
``livehost:audit:<id>`` and ``livehost:gate:<id>``; catalogs under
``livehost:catalog:<scope>``; the console's login sessions under
``livehost:console``; consent records under ``livehost:consent``.  See the README's "Under the hood" for what each holds.
"""

from __future__ import annotations

PREFIX = "livehost"

# -- fleet-wide ------------------------------------------------------------------------------
CHANNELS = f"{PREFIX}:channels"  # sorted set: channel id -> last publish time
TENANTS = f"{PREFIX}:channel-tenants"  # hash: channel -> tenant, kept after the channel is gone (audit access)
ACTIONS = f"{PREFIX}:actions"  # stream: every control action with its user
SCHEDULER_JOBS = f"{PREFIX}:scheduler:jobs"  # APScheduler's Redis job store
SCHEDULER_RUN_TIMES = f"{PREFIX}:scheduler:run_times"
NODES = f"{PREFIX}:nodes"  # JSON: the cluster's nodes with their load (livehost serve --cluster; expiring)
MOVES = f"{PREFIX}:moves"  # stream: channels an operator asked to move to another cluster node
CONSENT_EVENTS = f"{PREFIX}:consent:events"  # stream: consent granted, revoked, used, refused


def consent(record_id: str) -> str:
    """A consent record's JSON (its file under the home is the original)."""
    return f"{PREFIX}:consent:{record_id}"


# -- one channel -------------------------------------------------------------------------------
def placement(channel: str) -> str:
    """JSON: the node, process and state of a channel served on a cluster (refreshed every second, expiring)."""
    return f"{PREFIX}:placement:{channel}"


def checkpoint(channel: str) -> str:
    """JSON: where the channel's talk goes on after the last sentence spoken (livehost.app.checkpoint)."""
    return f"{PREFIX}:checkpoint:{channel}"


def lease(channel: str) -> str:
    """Hash: who may push the channel now (holder, fencing token, since), expiring unless renewed."""
    return f"{PREFIX}:lease:{channel}"


def lease_token(channel: str) -> str:
    """Counter: the channel's last fencing token (each new holder gets a larger one)."""
    return f"{lease(channel)}:token"


def state(channel: str) -> str:
    """Hash: the channel's live numbers, refreshed every second, expiring."""
    return f"{PREFIX}:channel:{channel}"


def frame(channel: str) -> str:
    """The newest picture as a small JPEG."""
    return f"{state(channel)}:frame"


def history(channel: str) -> str:
    """Stream: one sample a second of fps, bitrate, queue and reply latency."""
    return f"{state(channel)}:history"


def channel_catalog(channel: str) -> str:
    """JSON: the catalog as the host states it now."""
    return f"{state(channel)}:catalog"


def comments(channel: str) -> str:
    """JSON: recent comments with their triage decision and reply."""
    return f"{state(channel)}:comments"


def control(channel: str) -> str:
    """Stream: commands for the channel."""
    return f"{PREFIX}:control:{channel}"


def results(channel: str) -> str:
    """Stream: the channel's answer to each command."""
    return f"{control(channel)}:results"


def audit(channel: str) -> str:
    """Stream: every sentence actually spoken (or cut)."""
    return f"{PREFIX}:audit:{channel}"


def gate_log(channel: str) -> str:
    """Stream: sentences the gate refused and model drafts not used."""
    return f"{PREFIX}:gate:{channel}"


def presence(channel: str) -> str:
    """String: ``<unix seconds> <user>`` of the last operator heartbeat for the channel (supervision)."""
    return f"{PREFIX}:presence:{channel}"


def chain(channel: str) -> str:
    """Stream: the channel's hash chain (spoken sentences, gate decisions, control actions, consent, checkpoints)."""
    return f"{PREFIX}:chain:{channel}"


def chain_head(channel: str) -> str:
    """Hash: the chain's last ``seq`` and ``hash`` (what the next link points back to)."""
    return f"{chain(channel)}:head"


def chain_anchor(channel: str) -> str:
    """String: the signed anchor where retention trimmed the chain (JSON), absent when never trimmed."""
    return f"{chain(channel)}:anchor"


# -- catalogs ----------------------------------------------------------------------------------
def catalog(scope: str, *parts: str) -> str:
    """``livehost:catalog:<scope>[:part...]``: current, versions, v:<version>, meta:<version>, rejected:<version>,
    last_import, events, changes (pub/sub), feed:<source hash>, staging:<id>."""
    return ":".join((f"{PREFIX}:catalog:{scope}", *parts))


# -- console -----------------------------------------------------------------------------------
def console_session(digest: str) -> str:
    """Hash: one login session, keyed by the digest of its cookie (the cookie itself is never stored)."""
    return f"{PREFIX}:console:session:{digest}"


def login_failures(kind: str, who: str) -> str:
    """Counter of failed logins for a user name or an address (``kind``: user | ip)."""
    return f"{PREFIX}:console:login-fails:{kind}:{who}"
