"""Security headers on every response: no MIME sniffing, no referrer, never framed, and
for the API's own JSON a content policy that allows nothing at all. The interactive docs
(/docs, /redoc) load their viewer from a CDN with an inline bootstrap script, so they get
only the framing rule; the dashboard may load its own scripts, styles and API, nothing else."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
API_POLICY = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")
DOCS_POLICY = (b"content-security-policy", b"frame-ancestors 'none'")
DASHBOARD_POLICY = (
    b"content-security-policy",
    b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [*COMMON, policy(scope["path"])]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


def policy(path: str) -> tuple[bytes, bytes]:
    if path.startswith(("/docs", "/redoc")):
        return DOCS_POLICY
    if path == "/" or path.startswith("/dashboard/"):
        return DASHBOARD_POLICY
    return API_POLICY
