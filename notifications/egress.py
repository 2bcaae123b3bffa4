"""Where notifications may go: public addresses only (SSRF), unless an operator allows more.

A business's endpoint URL is chosen by whoever holds an API key; without this, a key could make
the worker POST to the metadata service, the database or an admin page on our network. The URL is
checked when it is registered, and again where the socket is opened: the name is resolved once,
every address it resolved to must be allowed, and the connection goes to one of those checked
addresses (a name that was public at registration may resolve to 127.0.0.1 at delivery: DNS
rebinding). Operators who deliver to an internal host on purpose list it in
NOTIFICATIONS_ALLOWED_HOSTS (names) or NOTIFICATIONS_ALLOWED_NETWORKS (CIDRs).

Written here rather than taken from requests-hardened (the library made for this): it only has a
loopback switch, no allow-list of networks or names, and checks the first resolved address only.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Global by Python's reckoning, and yet a way back in: prefixes that embed an IPv4 address a
# gateway forwards to (NAT64, 6to4), and the IPv4-compatible form.
EMBEDDING_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "::/96")
)


class AddressNotAllowed(Exception):
    """The target is not a public address (and not allowed by the operator)."""


def _address(value: str | IPAddress) -> IPAddress:
    address = ipaddress.ip_address(value) if isinstance(value, str) else value
    if isinstance(address, ipaddress.IPv6Address):
        address = address.ipv4_mapped or address  # ::ffff:127.0.0.1 is 127.0.0.1
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            address = ipaddress.IPv6Address(str(address).split("%")[0])
    return address


def address_allowed(value: str | IPAddress) -> bool:
    address = _address(value)
    for network in settings.NOTIFICATIONS_ALLOWED_NETWORKS:
        if address in ipaddress.ip_network(network, strict=False):
            return True
    if not address.is_global or address.is_multicast:  # private, loopback, link-local, CGNAT, reserved…
        return False
    return not any(address in network for network in EMBEDDING_NETWORKS)


def host_allowed(host: str) -> bool:
    """A name the operator listed: its addresses are trusted, whatever they are."""
    name = host.lower().rstrip(".")
    return any(name == allowed.lower().rstrip(".") for allowed in settings.NOTIFICATIONS_ALLOWED_HOSTS)


def _literal(host: str) -> IPAddress | None:
    """The address a host written as a number stands for, in any form the resolver accepts
    without DNS (0x7f000001, 2130706433, 0177.0.0.1, 127.1, [::1])."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def resolve(host: str, port: int) -> list[tuple]:
    """getaddrinfo for a connection, refused unless every address is allowed."""
    results = socket.getaddrinfo(host.strip("[]"), port, allowed_gai_family(), socket.SOCK_STREAM)
    if not host_allowed(host):
        for *_, sockaddr in results:
            if not address_allowed(sockaddr[0]):
                raise AddressNotAllowed()
    return results


def url_refusal(url: str) -> str | None:
    """Why a URL may not be registered, or None. A name that does not resolve now is accepted: it
    is checked again at each delivery."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "Enter a valid http(s) URL."
    if parts.scheme not in ("http", "https") or not host:
        return "Enter a valid http(s) URL."
    if settings.NOTIFICATIONS_REQUIRE_HTTPS and parts.scheme != "https":
        return "Must be an https:// URL."
    if host_allowed(host):
        return None
    literal = _literal(host)
    if literal is not None:
        return None if address_allowed(literal) else NOT_PUBLIC
    try:
        resolve(host, port or (443 if parts.scheme == "https" else 80))
    except AddressNotAllowed:
        return NOT_PUBLIC
    except (OSError, UnicodeError):
        return None
    return None


NOT_PUBLIC = (
    "Must point to a public address: loopback, private, link-local, shared (CGNAT), multicast and "
    "reserved addresses are refused."
)


# --- the connection that checks what it connects to -------------------------------------------
class _CheckedConnectionMixin:
    def _new_conn(self):
        # Resolved once, here: the addresses checked are the addresses connected to. The Host
        # header, SNI and certificate check still use the name (self.host is left alone).
        # Errors are raised as urllib3's own _new_conn raises them, so requests reports them alike.
        try:
            addresses = [sockaddr[0] for *_, sockaddr in resolve(self._dns_host, self.port)]
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        error: OSError = OSError("no address")
        for address in addresses:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}") from error


class CheckedHTTPConnection(_CheckedConnectionMixin, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnectionMixin, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def session() -> requests.Session:
    """A requests session for notifications: only http(s), every connection checked, no proxy
    from the environment (a proxy would resolve and connect on its own, past the check)."""
    checked = requests.Session()
    checked.trust_env = False
    checked.adapters.clear()
    adapter = CheckedAdapter()
    checked.mount("http://", adapter)
    checked.mount("https://", adapter)
    return checked
