"""Console users and API tokens, kept in ``$LIVEHOST_HOME/users.json``.

Passwords are stored as scrypt hashes (memory-hard: 16 MiB and ~50 ms per
check); API tokens are shown once and stored as SHA-256 digests.  A user has
one role (``viewer`` < ``operator`` < ``admin``) and optionally a tenant: a
user with a tenant sees only that tenant's channels; one without sees all.

The file is rewritten atomically (temp file + rename) under an exclusive
lock, so ``livehost user add`` can run while a console is serving; the
console rereads it when it changes.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROLES = ("viewer", "operator", "admin")
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
TENANT_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MIN_PASSWORD = 10
TOKEN_PREFIX = "lh_"

# scrypt cost: n=2**14, r=8 -> 16 MiB of memory per hash
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 14, 8, 1


class UserError(ValueError):
    pass


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 << 20)
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                             maxmem=64 << 20, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASH = None


def burn_check(password: str) -> None:
    """As slow as a real check: a login for an unknown user takes as long as one with a wrong password."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_hex(8))
    check_password(password, _DUMMY_HASH)


def _long_enough(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Token:
    digest: str
    label: str
    created: float


@dataclass
class User:
    name: str
    role: str
    tenant: str | None = None
    password: str = ""  # scrypt hash; empty: token-only (API) user
    created: float = 0.0
    tokens: list[Token] = field(default_factory=list)

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)

    def sees(self, tenant: str | None) -> bool:
        return self.tenant is None or self.tenant == tenant

    def public(self) -> dict:
        return {"name": self.name, "role": self.role, "tenant": self.tenant, "tokens": len(self.tokens)}


class UserStore:
    def __init__(self, home: Path) -> None:
        self.path = Path(home) / "users.json"
        self._users: dict[str, User] = {}
        self._mtime: float | None = None

    # -- reading -------------------------------------------------------------------
    def users(self) -> dict[str, User]:
        """All users, reread when the file changed (another process may have added one)."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            self._users, self._mtime = {}, None
            return self._users
        if mtime != self._mtime:
            self._users, self._mtime = self._read(), mtime
        return self._users

    def _read(self) -> dict[str, User]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise UserError(f"{self.path}: cannot read users: {e}") from None
        out = {}
        for row in data.get("users", []):
            tokens = [Token(**t) for t in row.pop("tokens", [])]
            user = User(**row, tokens=tokens)
            out[user.name] = user
        return out

    def get(self, name: str) -> User | None:
        return self.users().get(name)

    def by_token(self, token: str) -> User | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = token_digest(token)
        for user in self.users().values():
            for t in user.tokens:
                if hmac.compare_digest(t.digest, digest):
                    return user
        return None

    def authenticate(self, name: str, password: str) -> User | None:
        user = self.get(name)
        if user is None or not user.password:
            burn_check(password)
            return None
        return user if check_password(password, user.password) else None

    def has_admin(self) -> bool:
        return any(u.role == "admin" for u in self.users().values())

    # -- writing -------------------------------------------------------------------
    @contextmanager
    def _editing(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._mtime = None
            users = dict(self.users())
            yield users
            tmp = self.path.with_suffix(".tmp")
            rows = [asdict(u) for u in sorted(users.values(), key=lambda u: u.name)]
            tmp.write_text(json.dumps({"users": rows}, indent=1), encoding="utf-8")
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
            self._mtime = None

    def add(self, name: str, role: str, tenant: str | None = None, password: str | None = None) -> User:
        if not NAME_RE.match(name or ""):
            raise UserError(f"name: {name!r}: use 1-64 letters, digits and _ . @ -")
        if role not in ROLES:
            raise UserError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        if tenant is not None and not TENANT_RE.match(tenant):
            raise UserError(f"tenant: {tenant!r}: use 1-64 letters, digits, _ and -")
        if password is not None:
            _long_enough(password)
        with self._editing() as users:
            if name in users:
                raise UserError(f"name: user {name!r} already exists")
            user = User(name, role, tenant, hash_password(password) if password else "", time.time())
            users[name] = user
        return user

    def set_password(self, name: str, password: str) -> None:
        _long_enough(password)
        with self._editing() as users:
            self._need(users, name).password = hash_password(password)

    def new_token(self, name: str, label: str = "") -> str:
        """A new API token for ``name``: returned once, stored only as a digest."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._editing() as users:
            self._need(users, name).tokens.append(Token(token_digest(token), label, time.time()))
        return token

    def remove(self, name: str) -> None:
        with self._editing() as users:
            self._need(users, name)
            del users[name]

    @staticmethod
    def _need(users: dict[str, User], name: str) -> User:
        if name not in users:
            raise UserError(f"name: no user {name!r}")
        return users[name]
