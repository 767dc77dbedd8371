"""The bundled web UI: ``webui/`` served at ``/`` and ``/ui/``, with cache headers and a strict CSP.

``index.html`` is answered with ``Cache-Control: no-cache`` (revalidated with its ETag on every load). It names its
assets under ``/ui/assets/<fingerprint>/...``, where the fingerprint is a hash of every asset file taken when the
app is built: an asset under the current fingerprint is immutable for a year, and relative ES module imports inherit
the fingerprinted folder, so a changed file is never served stale. An asset asked for under another fingerprint (a
page opened before an upgrade) is served with ``no-cache``. Every UI answer carries the Content-Security-Policy: no
inline script or style, nothing from another origin.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Response
from fastapi.responses import FileResponse, RedirectResponse

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


@dataclass(frozen=True)
class WebUI:
    """The UI files of one folder: the rendered index page and the assets' fingerprint."""

    assets_dir: Path
    fingerprint: str
    index_html: bytes
    index_etag: str

    @classmethod
    def load(cls, root: Path = WEBUI_DIR) -> WebUI:
        assets_dir = root / "assets"
        digest = hashlib.sha256()
        for path in sorted(p for p in assets_dir.rglob("*") if p.is_file()):
            digest.update(path.relative_to(assets_dir).as_posix().encode() + b"\0" + path.read_bytes())
        fingerprint = digest.hexdigest()[:12]
        template = (root / "index.html").read_text(encoding="utf-8")
        index_html = template.replace(ASSETS_PLACEHOLDER, f"/ui/assets/{fingerprint}").encode()
        etag = '"' + hashlib.sha256(index_html).hexdigest()[:16] + '"'
        return cls(assets_dir, fingerprint, index_html, etag)

    def asset_path(self, relative: str) -> Path:
        """The file under the assets folder; NotFound for anything else (no traversal, known types only)."""
        path = (self.assets_dir / relative).resolve()
        if not path.is_relative_to(self.assets_dir.resolve()) or path.suffix not in MEDIA_TYPES or not path.is_file():
            raise NotFound(f"no UI asset {relative!r}")
        return path


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
    async def asset(fingerprint: str, relative: str) -> FileResponse:
        path = webui.asset_path(relative)
        cache = IMMUTABLE if fingerprint == webui.fingerprint else NO_CACHE
        headers = {**SECURITY_HEADERS, "Cache-Control": cache}
        return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)

    return router


def mount_webui(app: FastAPI, root: Path = WEBUI_DIR) -> None:
    """Serve the UI when its folder is there (a source tree or an installed package); else leave ``/`` a 404."""
    if (root / "index.html").is_file():
        app.include_router(build_router(WebUI.load(root)))
