"""Outbound HTTP to URLs that other people control, guarded against SSRF (issue 13 I2).

Merchants give the portal URLs to call (webhooks today; the mandates work adds a
pre-approval hook). Such a URL must not make the portal reach inside its own network,
so every one goes through here, when it is saved (`check_url`) and when it is called
(`post`):

- https only in production (http also elsewhere), no credentials in the URL;
- the host's addresses must all be public: loopback, private, link-local (cloud
  metadata at 169.254.169.254 and fd00:ec2::254 included), CGNAT, multicast, reserved
  and unspecified addresses are refused, IPv4 and IPv6, including IPv4-mapped, 6to4
  and NAT64 forms that embed a refused IPv4 address;
- the check runs on the addresses DNS gives *at delivery*, and the connection is made
  to exactly those checked addresses (the name is never resolved again, so DNS
  rebinding between check and connect cannot slip through); the connected peer is
  checked once more; TLS still verifies the certificate for the host name;
- redirects are never followed, and no proxy from the environment is used.

OUTBOUND_ALLOW_PRIVATE (True only in DevConfig/TestConfig) lets the example shop on
127.0.0.1 receive its webhooks; the names are then not resolved at save time.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

import requests
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from wallet.errors import WalletError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_MAX_URL = 500
# Explicitly refused on top of "not globally routable" (Python's is_global), because
# is_global is True for some of them (multicast) or they deserve naming.
_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.169.254/32",  # cloud metadata (AWS, GCP, Azure, ...)
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.64.0.0/10",  # carrier-grade NAT
        "224.0.0.0/4",  # IPv4 multicast
        "ff00::/8",  # IPv6 multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURLError(WalletError):
    """The URL may not be called: scheme, credentials or a non-public address."""

    code = "UNSAFE_URL"


@dataclass(frozen=True)
class Policy:
    """What an outbound call may reach."""

    require_https: bool
    allow_private: bool


def policy() -> Policy:
    """The app's policy: https in production, private addresses only if configured."""
    config = current_app.config
    return Policy(
        require_https=config["ENV_NAME"] == "production",
        allow_private=bool(config.get("OUTBOUND_ALLOW_PRIVATE")),
    )


def refused_address(ip: IPAddress) -> bool:
    """Whether the portal must not connect to this address."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return refused_address(embedded)
        if ip.teredo is not None:
            return True  # a tunnel to somewhere we cannot check
    if any(ip in network for network in _REFUSED_NETWORKS):
        return True
    return not ip.is_global


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address DNS gives for host (tests replace this to play DNS tricks)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


def _parts(url: str, rules: Policy) -> SplitResult:
    if not isinstance(url, str) or not url or len(url) > _MAX_URL or not url.isascii():
        raise UnsafeURLError(_("Give an https URL of at most 500 characters."))
    if any(ord(c) <= 32 or ord(c) == 127 for c in url) or "\\" in url:
        raise UnsafeURLError(_("The URL contains characters that are not allowed."))
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise UnsafeURLError(_("The URL is not valid.")) from None
    allowed = ("https",) if rules.require_https else ("https", "http")
    if parts.scheme not in allowed:
        raise UnsafeURLError(_("The URL must start with https://."))
    if not parts.hostname or parts.username is not None or "@" in parts.netloc:
        raise UnsafeURLError(_("The URL must name a host and hold no credentials."))
    return parts


def _addresses(parts: SplitResult, rules: Policy) -> list[IPAddress]:
    """The host's addresses, all checked; raises UnsafeURLError for any refused one."""
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            found = _resolve(host, port)
        except (OSError, UnicodeError, ValueError):
            raise UnsafeURLError(
                _("The host %(host)s could not be found.", host=host[:80])
            ) from None
    if not found:
        raise UnsafeURLError(_("The host %(host)s could not be found.", host=host[:80]))
    if not rules.allow_private and any(refused_address(ip) for ip in found):
        raise UnsafeURLError(
            _(
                "The URL points to a private or local network address; use a public "
                "https address."
            )
        )
    return found


def check_url(url: str, rules: Policy | None = None) -> str:
    """Check a URL before it is saved; returns it stripped. UnsafeURLError otherwise.

    With private addresses allowed (development) a name is not resolved: the shop
    may not be running yet. Delivery checks again either way.
    """
    rules = rules or policy()
    url = url.strip()
    parts = _parts(url, rules)
    try:
        ipaddress.ip_address(parts.hostname or "")
        literal = True
    except ValueError:
        literal = False
    if literal or not rules.allow_private:
        _addresses(parts, rules)
    return url


# -- pinned connections ------------------------------------------------------------------


class BlockedAddressError(OSError):
    """The connected peer is not an address the policy allows."""


def was_blocked(exc: BaseException) -> bool:
    """Whether a requests/urllib3 failure came from BlockedAddressError underneath."""
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        if isinstance(item, BlockedAddressError):
            return True
        seen.add(id(item))
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None)]
        todo += list(item.args)
    return False


def _connect(
    addresses: list[IPAddress],
    port: int,
    timeout: Any,
    source_address: Any,
    socket_options: Any,
    rules: Policy,
) -> socket.socket:
    """Connect to the first reachable of the checked addresses; verify the peer."""
    last: OSError = OSError("no address to connect to")
    for ip in addresses:
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect((str(ip), port))
            peer = ipaddress.ip_address(sock.getpeername()[0])
            if not rules.allow_private and refused_address(peer):
                raise BlockedAddressError(f"peer {peer} is not a public address")
            return sock
        except OSError as exc:
            sock.close()
            if isinstance(exc, BlockedAddressError):
                raise
            last = exc
    raise last


def _pinned_classes(
    addresses: list[IPAddress], rules: Policy
) -> tuple[type[HTTPConnectionPool], type[HTTPSConnectionPool]]:
    """Connection pools whose connections only ever go to `addresses`."""

    def new_conn(self: HTTPConnection) -> socket.socket:
        return _connect(
            addresses,
            self.port or 0,
            self.timeout,
            self.source_address,
            self.socket_options,
            rules,
        )

    http_conn = type("PinnedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    https_conn = type(
        "PinnedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn}
    )
    http_pool = type(
        "PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}
    )
    https_pool = type(
        "PinnedHTTPSConnectionPool",
        (HTTPSConnectionPool,),
        {"ConnectionCls": https_conn},
    )
    return http_pool, https_pool


class _PinnedAdapter(HTTPAdapter):
    """A requests adapter whose pools connect only to pre-checked addresses."""

    def __init__(self, addresses: list[IPAddress], rules: Policy) -> None:
        self._pools = _pinned_classes(addresses, rules)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Use the pinned pool classes for both schemes."""
        super().init_poolmanager(*args, **kwargs)
        http_pool, https_pool = self._pools
        self.poolmanager.pool_classes_by_scheme = {
            "http": http_pool,
            "https": https_pool,
        }


def post(
    url: str,
    *,
    data: bytes,
    headers: Mapping[str, str],
    timeout: tuple[float, float],
    rules: Policy | None = None,
    session_factory: Callable[[], requests.Session] = requests.Session,
) -> requests.Response:
    """POST to a merchant's URL through the guard (never following redirects).

    UnsafeURLError before anything is sent when the URL or its addresses are refused;
    requests' own exceptions for network failures.
    """
    rules = rules or policy()
    parts = _parts(url, rules)
    addresses = _addresses(parts, rules)
    with session_factory() as session:
        session.trust_env = False  # no HTTP(S)_PROXY: a proxy would connect for us
        adapter = _PinnedAdapter(addresses, rules)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session.post(
            url,
            data=data,
            headers=dict(headers),
            timeout=timeout,
            allow_redirects=False,
        )
