"""Content negotiation (Accept with q-values, a `format=` override) and HTTP caching helpers."""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response

from api.plumbing.errors import HTTPProblem


def parse_accept(header: str | None) -> list[tuple[str, float]]:
    """Media ranges with their q-values, most preferred first (specific before wildcard on ties)."""
    if not header:
        return [("*/*", 1.0)]
    ranges = []
    for index, part in enumerate(header.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        quality = 1.0
        for parameter in fields[1:]:
            if parameter.lower().startswith("q="):
                try:
                    quality = min(1.0, max(0.0, float(parameter[2:])))
                except ValueError:
                    quality = 0.0
                if quality != quality:  # NaN
                    quality = 0.0
        ranges.append((media, quality, media.count("*"), index))
    if not ranges:  # only separators (`Accept: ,`): as if no Accept was sent
        return [("*/*", 1.0)]
    ranges.sort(key=lambda r: (-r[1], r[2], r[3]))
    return [(media, quality) for media, quality, _, _ in ranges]


def choose(
    request: Request, offered: list[str], *, override: str | None = None, aliases: dict[str, str] | None = None
) -> str:
    """The offered media type the client prefers (the first offered on `*/*`); 406 if none."""
    if override:
        wanted = (aliases or {}).get(override.lower(), override.lower())
        if wanted in offered:
            return wanted
        raise HTTPProblem(
            406,
            "Not acceptable",
            f"format={override!r} is not available here; use one of "
            f"{sorted(set((aliases or {}).keys()) | set(offered))}",
        )
    ranges = parse_accept(", ".join(request.headers.getlist("accept")) or None)
    refused = {media for media, quality in ranges if quality <= 0}  # "type;q=0" means: not this one
    allowed = [o for o in offered if o not in refused]
    for media, quality in ranges:
        if quality <= 0:
            continue
        if media in ("*/*", "*") and allowed:
            return allowed[0]
        if media.endswith("/*"):
            match = next((o for o in allowed if o.startswith(media[:-1])), None)
            if match:
                return match
        elif media in allowed:
            return media
    raise HTTPProblem(
        406,
        "Not acceptable",
        f"none of the requested media types ({request.headers.get('accept')}) "
        f"is available; this resource is offered as {', '.join(offered)}",
    )


def etag_for(version: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    return f'W/"{version}-{digest}"'


def not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {tag.strip() for tag in header.split(",")}
    return "*" in tags or etag in tags or etag.removeprefix("W/") in tags


def cached_response(
    request: Request,
    body: bytes,
    media_type: str,
    version: str,
    *,
    max_age: int = 300,
    headers: dict[str, str] | None = None,
) -> Response:
    """A GET response with ETag and Cache-Control tied to the dataset version; 304 when unchanged."""
    etag = etag_for(version, str(request.url.path), str(request.url.query), media_type)
    common = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}", "Vary": "Accept", **(headers or {})}
    if not_modified(request, etag):
        return Response(status_code=304, headers=common)
    return Response(body, media_type=media_type, headers=common)
