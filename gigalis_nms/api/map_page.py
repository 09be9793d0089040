"""The public map page at /map: one HTML page, its script and its style sheet, served from
the package, with no token.

The page draws everything itself from the public API (no CDN, no tile server, no web font).
Its Content-Security-Policy allows only this server ('self') for every kind of resource, so
a browser refuses anything from elsewhere — and the browser test proves nothing else loads.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, Path, Response

from gigalis_nms.errors import NotFound

router = APIRouter(tags=["public"])

# Every fetch directive, plus the navigation ones, limited to this server.
CSP_DIRECTIVES = (
    "default-src",
    "script-src",
    "style-src",
    "img-src",
    "font-src",
    "connect-src",
    "media-src",
    "object-src",
    "frame-src",
    "child-src",
    "worker-src",
    "manifest-src",
    "base-uri",
    "form-action",
    "frame-ancestors",
)
CONTENT_SECURITY_POLICY = "; ".join(f"{directive} 'self'" for directive in CSP_DIRECTIVES)
MEDIA_TYPES = {
    "map.html": "text/html; charset=utf-8",
    "map.js": "text/javascript; charset=utf-8",
    "map.css": "text/css; charset=utf-8",
}
PAGE = "map.html"
MAX_AGE = 300  # seconds: a new release's page is picked up within minutes


@cache
def asset(name: str) -> bytes:
    """A file of the page, read once per process from the installed package."""
    return (files("gigalis_nms.resource_centre") / "static" / name).read_bytes()


def page_response(name: str) -> Response:
    return Response(
        asset(name),
        media_type=MEDIA_TYPES[name],
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": f"public, max-age={MAX_AGE}",
        },
    )


# HEAD is answered as GET without a body; kept out of the OpenAPI document (pages, not API).
@router.api_route("/map", methods=["GET", "HEAD"], include_in_schema=False)
async def get_map() -> Response:
    """The map page."""
    return page_response(PAGE)


@router.api_route("/map/{name}", methods=["GET", "HEAD"], include_in_schema=False)
async def get_map_asset(
    name: Annotated[str, Path(description="map.js or map.css")],
) -> Response:
    """The page's script or style sheet."""
    if name not in MEDIA_TYPES or name == PAGE:
        raise NotFound.of("path.name", f"the map has no file {name!r}")
    return page_response(name)
