"""Which network addresses catalog feeds may be fetched from.

A feed URL is typed by an operator (``livehost catalog import``, the
console, a channel config), so without a limit the server would fetch, for
whoever may import a catalog, what only the server can reach: its own
loopback services, the LAN, a cloud's metadata service.  :class:`NetPolicy`
allows globally routable addresses and refuses every other one: loopback,
private (RFC 1918, IPv6 ULA ``fc00::/7``), link-local (``169.254.0.0/16``
with the metadata service at ``169.254.169.254``, ``fe80::/10``), shared
CGNAT space (``100.64.0.0/10``), unspecified, multicast, reserved and
documentation ranges, and IPv6 forms that carry such an IPv4 address
(``::ffff:127.0.0.1``, 6to4, NAT64), unless the allow-list names the
address's network or the host name (``LIVEHOST_FEED_ALLOW``).

The policy judges addresses after DNS resolution; :mod:`products.feeds.remote`
applies it to every connection a feed download makes, redirects included.
Standard library only: importing it does not load the HTTP client.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The setting that widens the policy, named in refusals.
ALLOW_SETTING = "LIVEHOST_FEED_ALLOW"

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")
_METADATA = ipaddress.ip_address("169.254.169.254")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))
_ULA = ipaddress.ip_network("fc00::/7")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _host_key(host: str) -> str:
    return host.strip().lower().rstrip(".")


def parse_allow_entry(entry: str) -> IPNetwork | str:
    """One allow-list entry: an address or CIDR network (``10.0.0.0/8``, ``fd00::/8``), else a host name.

    Raises :class:`ValueError` for a malformed network or a word that is not a host name.
    """
    text = entry.strip()
    try:
        return ipaddress.ip_network(text.strip("[]"), strict=False)
    except ValueError:
        if "/" in text or not _HOST_NAME.fullmatch(text.lower()):
            raise ValueError(f"{text!r} is neither an address, a network like 10.0.0.0/8 nor a host name") from None
    return _host_key(text)


def _is_literal(host: str, ip: IPAddress) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")) == ip
    except ValueError:
        return False


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_kind(ip: IPAddress) -> str | None:
    """None for a globally routable address, else what it is ("a loopback address", ...)."""
    inner = _embedded_ipv4(ip)
    if inner is not None:
        kind = address_kind(inner)
        return None if kind is None else f"{kind} (as {inner})"
    if ip.is_loopback:
        return "a loopback address"
    if ip == _METADATA:
        return "the cloud metadata address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_unspecified:
        return "the unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "a shared (CGNAT) address"
    if any(ip in net for net in (*_RFC1918, _ULA)):
        return "a private address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local:
        return "a site-local address"
    if not ip.is_global or ip.is_reserved or ip.is_private:
        return "a reserved, non-public address"
    return None


@dataclass(frozen=True)
class NetPolicy:
    """Globally routable addresses, plus the ``networks`` and ``hosts`` an operator allowed.

    ``NetPolicy()`` is the strict default.  A host name in ``hosts`` allows
    whatever address that name resolves to (its URLs and redirects to it).
    """

    networks: tuple[IPNetwork, ...] = ()
    hosts: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def allowing(cls, entries: str | Iterable[str]) -> NetPolicy:
        """A policy that also allows ``entries``: addresses, CIDR networks and host names, or one
        comma-separated string of them.  Raises :class:`ValueError` for a malformed entry."""
        if isinstance(entries, str):
            entries = entries.replace(",", " ").split()
        parsed = [parse_allow_entry(e) for e in entries if e.strip()]
        return cls(tuple(p for p in parsed if not isinstance(p, str)),
                   frozenset(p for p in parsed if isinstance(p, str)))

    def refusal(self, host: str, address: str) -> str | None:
        """None when connecting to ``address`` (which ``host`` names or resolved to) is allowed, else why not.

        The reason names the host, the address and the setting that would allow it.
        """
        if _host_key(host) in self.hosts:
            return None
        try:
            ip = ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            return f"{host} resolved to {address!r}, which is not an IP address"
        mapped = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped else None
        if any((mapped or ip) in net for net in self.networks):
            return None
        kind = address_kind(ip)
        if kind is None:
            return None
        where = f"{host} is {kind}" if _is_literal(host, ip) else f"{host} resolves to {ip}, {kind}"
        return (f"{where}; feeds are fetched from public addresses only "
                f"(set {ALLOW_SETTING}={mapped or ip} or a network such as 10.0.0.0/8 to allow a feed on your LAN)")


#: The default policy: public addresses only.
PUBLIC_ONLY = NetPolicy()
