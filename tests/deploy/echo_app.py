"""A tiny ASGI app that reports what it received, as the upstream behind nginx in tests.

HTTP: answers JSON {method, path, client, scheme, headers, body_len, pad} with a
Content-Length; `?status=N` sets the status, `?pad=N` makes `pad` N bytes long (a large
body).  WebSocket: accepts and sends the same report as its first message.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs


def _report(scope: dict[str, Any], body_len: int = 0, pad: int = 0) -> bytes:
    headers: dict[str, list[str]] = {}
    for key, value in scope["headers"]:
        headers.setdefault(key.decode("latin-1"), []).append(value.decode("latin-1"))
    client = scope.get("client")
    return json.dumps(
        {
            "type": scope["type"],
            "method": scope.get("method"),
            "path": scope["path"],
            "client": client[0] if client else None,
            "scheme": scope.get("scheme"),
            "headers": headers,
            "body_len": body_len,
            "pad": "x" * pad,
        }
    ).encode()


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await send({"type": "websocket.send", "text": _report(scope).decode()})
        await send({"type": "websocket.close", "code": 1000})
        return
    body_len = 0
    more = True
    while more:
        message = await receive()
        body_len += len(message.get("body", b""))
        more = message.get("more_body", False)
    query = parse_qs(scope.get("query_string", b"").decode())
    status = int(query.get("status", ["200"])[0])
    pad = int(query.get("pad", ["0"])[0])
    body = _report(scope, body_len, pad)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
