"""HEAD on every GET route: answered as the GET would be, headers and all, without the body.

Link checkers and crawlers ask HEAD; FastAPI's routes take only the methods they declare. Outermost, so
that the response cache, fairness and every route see an ordinary GET; the body the GET makes is
dropped here (uvicorn would not send it either), its Content-Length kept, as RFC 9110 allows.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest follows; only the last (empty) message is sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
