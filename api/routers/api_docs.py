"""The API's documentation pages, Swagger UI at /docs and ReDoc at /redoc, with their files served from here.

FastAPI's own pages load Swagger UI, ReDoc, a favicon and Google's fonts from the internet: without it (on
a closed network, or for a reader who blocks third parties) /docs was blank. The files come from the
fastapi-offline package (Swagger UI and ReDoc as their projects publish them) and are served under
/static/apidocs/.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
# ReDoc's bundle still points an <img> at cdn.redoc.ly (its logo): the browser is told to load nothing
# from elsewhere (inline scripts and styles are the pages' own set-up; ReDoc's search runs in a blob worker)
OWN_FILES_ONLY = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-inline'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
    "worker-src 'self' blob:; connect-src 'self'"
}
ASSETS_URL = "/static/apidocs"
TITLE = "CapaCITIES Knowledge Graph API"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def swagger_ui() -> HTMLResponse:
    return _own_files_only(
        get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} (Swagger UI)",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # no deep links: each operation's path would be a link inside its expand button (axe nested-interactive)
            swagger_ui_parameters={"deepLinking": False},
        ),
        "/static/apidocs-swagger.css",
    )


@router.get("/redoc")
async def redoc() -> HTMLResponse:
    return _own_files_only(
        get_redoc_html(
            openapi_url="/openapi.json",
            title=f"{TITLE} (ReDoc)",
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        ),
        "/static/apidocs-redoc.css",
    )


def _own_files_only(page: HTMLResponse, overrides: str) -> HTMLResponse:
    """The page with a language (FastAPI's wrapper names none), our contrast overrides after the bundle's own
    styles, and a policy that lets only our files load."""
    body = bytes(page.body).replace(b"<html>", b'<html lang="en">', 1)
    body = body.replace(b"</head>", f'<link rel="stylesheet" href="{overrides}">\n</head>'.encode(), 1)
    return HTMLResponse(body, status_code=page.status_code, headers={**OWN_FILES_ONLY})
