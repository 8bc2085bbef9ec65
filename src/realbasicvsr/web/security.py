"""What every request to the web server must pass: a local server is reachable by every page in the browser.

- The Host header must name this server (127.0.0.1, localhost, [::1] or ``--host``, with its port): a page
  served by another name that resolves to 127.0.0.1 (DNS rebinding) is answered 421.
- A request with an ``Origin`` other than this server's is refused (403): no cross-site requests.
- ``/api/`` needs the server's token: in the ``X-Token`` header for requests that change state (other
  sites can't send custom headers without a CORS preflight, which is never granted), or as ``?token=`` for
  reads that can't carry headers (EventSource, downloads, images). With a user-given ``--token`` the page
  itself needs ``?token=`` too, since it embeds the token.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from typing import Awaitable, Callable
from urllib.parse import parse_qs

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]
SAFE_METHODS = frozenset({"GET", "HEAD"})
# Sent with every response: no framing, no sniffing, no referrer (it would carry ?token=), same-origin only.
SECURITY_HEADERS = [
    (b"content-security-policy",
     b"default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The Host header values that name this server (lower case, port included unless it is 80)."""
    names = {"127.0.0.1", "localhost", "[::1]", host.lower()}
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    values = {f"{n}:{port}" for n in names}
    return frozenset(values | names if port == 80 else values)


class RequestGuard:
    """ASGI middleware applying the checks above before any route runs, and adding SECURITY_HEADERS."""

    def __init__(self, app: ASGIApp, *, host: str, port: int, token: str, page_needs_token: bool) -> None:
        self.app = app
        self.hosts = allowed_hosts(host, port)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)
        self.token = token
        self.page_needs_token = page_needs_token

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _send_json(send, *refusal)
            return

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refusal(self, scope: dict) -> tuple[int, str] | None:
        """(status, message) when the request must be refused, else None."""
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if headers.get("host", "").lower() not in self.hosts:
            return 421, "this server answers only to its own address (unexpected Host header)"
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.origins:
            return 403, "cross-origin request refused"
        path, method = scope["path"], scope["method"]
        if method not in SAFE_METHODS:
            given = headers.get("x-token", "")
        elif path.startswith("/api/") or (path == "/" and self.page_needs_token):
            given = headers.get("x-token") or _query_token(scope)
        else:
            return None
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return 403, "missing or wrong token: reload the page (or open the address the server printed)"
        return None


def _query_token(scope: dict) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])
    return values[0]


async def _send_json(send: Callable, status: int, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
