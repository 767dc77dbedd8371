"""The bundled web UI: ``webui/`` served at ``/`` and ``/ui/``, with cache headers and a strict CSP.

The files are read once, when the app is built (restart the API to serve edited files). ``index.html`` is answered
with ``Cache-Control: no-cache`` (revalidated with its ETag on every load). It names its assets under
``/ui/assets/<fingerprint>/...``, where the fingerprint is a hash of every asset: an asset under the current
fingerprint is immutable for a year, and relative ES module imports inherit the fingerprinted folder, so a changed
file is never served stale. An asset asked for under another fingerprint (a page opened before an upgrade) is
served with ``no-cache``. Every UI answer carries the Content-Security-Policy: no inline script or style, nothing
from another origin. The UI talks only to the public API; it is public itself (the API calls it makes are not).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Response
from fastapi.responses import RedirectResponse

from schemas.errors import NotFound

WEBUI_DIR = Path(__file__).resolve().parent.parent / "webui"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; img-src 'self' data: blob:; style-src 'self'; connect-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
IMMUTABLE = "public, max-age=31536000, immutable"
NO_CACHE = "no-cache"

MEDIA_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
}
ASSETS_PLACEHOLDER = "{{assets}}"
PRELOADS_PLACEHOLDER = "{{modulepreloads}}"
NOT_MODULES = {"js/theme-boot.js"}  # a classic script, run before the first paint


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str


@dataclass(frozen=True)
class WebUI:
    """The UI of one folder, read once: the rendered index page and the assets (a few dozen KB) in memory."""

    fingerprint: str
    index_html: bytes
    index_etag: str
    assets: dict[str, Asset]

    @classmethod
    def load(cls, root: Path = WEBUI_DIR) -> WebUI:
        assets_dir = root / "assets"
        files = sorted(p for p in assets_dir.rglob("*") if p.is_file() and p.suffix in MEDIA_TYPES)
        assets = {p.relative_to(assets_dir).as_posix(): Asset(p.read_bytes(), MEDIA_TYPES[p.suffix]) for p in files}
        digest = hashlib.sha256()
        for name, asset in assets.items():
            digest.update(name.encode() + b"\0" + asset.body + b"\0")
        fingerprint = digest.hexdigest()[:12]
        base = f"/ui/assets/{fingerprint}"
        # Every module preloaded at once: no waterfall of imports, whatever the import graph.
        preloads = "\n  ".join(
            f'<link rel="modulepreload" href="{base}/{name}">'
            for name in assets
            if name.startswith("js/") and name.endswith(".js") and name not in NOT_MODULES
        )
        template = (root / "index.html").read_text(encoding="utf-8")
        html = template.replace(PRELOADS_PLACEHOLDER, preloads).replace(ASSETS_PLACEHOLDER, base).encode()
        etag = '"' + hashlib.sha256(html).hexdigest()[:16] + '"'
        return cls(fingerprint, html, etag, assets)

    def asset(self, name: str) -> Asset:
        """An asset by its path under ``assets/``; NotFound for anything else."""
        try:
            return self.assets[name]
        except KeyError:
            raise NotFound(f"no UI asset {name!r}") from None


def build_router(webui: WebUI) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def index(if_none_match: str | None) -> Response:
        headers = {**SECURITY_HEADERS, "Cache-Control": NO_CACHE, "ETag": webui.index_etag}
        if if_none_match == webui.index_etag:
            return Response(status_code=304, headers=headers)
        return Response(webui.index_html, media_type="text/html; charset=utf-8", headers=headers)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def root_page(if_none_match: Annotated[str | None, Header()] = None) -> Response:
        return index(if_none_match)

    @router.api_route("/ui/", methods=["GET", "HEAD"])
    async def ui_page(if_none_match: Annotated[str | None, Header()] = None) -> Response:
        return index(if_none_match)

    @router.api_route("/ui", methods=["GET", "HEAD"])
    async def ui_redirect() -> Response:
        return RedirectResponse("/ui/", status_code=308, headers=SECURITY_HEADERS)

    @router.api_route("/ui/assets/{fingerprint}/{relative:path}", methods=["GET", "HEAD"])
    async def asset(fingerprint: str, relative: str) -> Response:
        found = webui.asset(relative)
        cache = IMMUTABLE if fingerprint == webui.fingerprint else NO_CACHE
        headers = {**SECURITY_HEADERS, "Cache-Control": cache}
        return Response(found.body, media_type=found.media_type, headers=headers)

    return router


def mount_webui(app: FastAPI, root: Path = WEBUI_DIR) -> None:
    """Serve the UI when its folder is there (a source tree or an installed package); else leave ``/`` a 404."""
    if (root / "index.html").is_file():
        app.include_router(build_router(WebUI.load(root)))
