"""The web UI's serving: index at / and /ui/, fingerprinted immutable assets, the CSP on every UI answer, and the
API, docs and metrics untouched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from schemas.settings import Settings
from server.app import create_app
from server.webui import CONTENT_SECURITY_POLICY, WEBUI_DIR, WebUI

ASSET = re.compile(r'(?:src|href)="(/ui/assets/[0-9a-f]{12}/[^"]+)"')


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", data_dir=tmp_path, models_dir=tmp_path / "models")
    return TestClient(create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


@pytest.mark.parametrize("path", ["/", "/ui/"])
def test_index_is_html_revalidated_on_every_load_with_the_csp(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "<title>sdqueue</title>" in response.text


def test_csp_allows_only_this_origin() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert directives["img-src"] == "'self' data: blob:"


def test_index_revalidates_with_its_etag(client: TestClient) -> None:
    etag = client.get("/").headers["etag"]
    again = client.get("/ui/", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_ui_without_slash_redirects(client: TestClient) -> None:
    response = client.get("/ui", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/ui/"


def test_index_names_only_fingerprinted_assets_of_this_origin(client: TestClient) -> None:
    html = client.get("/").text
    assets = ASSET.findall(html)
    assert any(a.endswith("/app.css") for a in assets) and any(a.endswith("/js/main.js") for a in assets)
    assert "{{" not in html and "http://" not in html and "https://" not in html
    assert "<script>" not in html and "style=" not in html, "inline script or style breaks the CSP"


def test_current_assets_are_immutable_with_their_media_type(client: TestClient) -> None:
    fingerprint = WebUI.load().fingerprint
    css = client.get(f"/ui/assets/{fingerprint}/app.css")
    assert css.status_code == 200
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert css.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    js = client.get(f"/ui/assets/{fingerprint}/js/main.js")
    assert js.headers["content-type"] == "text/javascript; charset=utf-8"


def test_an_asset_under_an_old_fingerprint_is_served_but_not_cached(client: TestClient) -> None:
    response = client.get("/ui/assets/000000000000/app.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"


@pytest.mark.parametrize("relative", ["../index.html", "js/../../package.json", "nope.css", "js", "%2e%2e/index.html"])
def test_nothing_outside_the_assets_folder_is_served(client: TestClient, relative: str) -> None:
    response = client.get(f"/ui/assets/{WebUI.load().fingerprint}/{relative}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


def test_fingerprint_follows_the_assets_content(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text('<link href="{{assets}}/app.css">')
    (tmp_path / "assets" / "app.css").write_text("a{}")
    first = WebUI.load(tmp_path)
    (tmp_path / "assets" / "app.css").write_text("b{}")
    second = WebUI.load(tmp_path)
    assert first.fingerprint != second.fingerprint
    assert f"/ui/assets/{second.fingerprint}/app.css".encode() in second.index_html


def test_api_docs_and_openapi_keep_working(client: TestClient) -> None:
    assert client.get("/api/health").json() == {"status": "ok"}
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert not any(p == "/" or p.startswith("/ui") for p in spec["paths"]), "the UI stays out of the API schema"
    assert client.get("/metrics").headers["content-type"] != "text/html; charset=utf-8"
    unknown = client.get("/no-such-page")
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


def test_the_webui_folder_ships_with_the_package() -> None:
    """pyproject's package data must carry every file the UI serves, or an installed server has no UI."""
    import tomllib

    config = tomllib.loads((WEBUI_DIR.parent / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "webui" in config["packages"]
    patterns = config["package-data"]["webui"]
    shipped = {p for pattern in patterns for p in WEBUI_DIR.glob(pattern) if p.is_file()}
    served = {WEBUI_DIR / "index.html", *(p for p in (WEBUI_DIR / "assets").rglob("*") if p.is_file())}
    assert served <= shipped, sorted(str(p) for p in served - shipped)


def test_the_ui_is_public_when_auth_is_on(tmp_path: Path) -> None:
    """The page and its assets need no credentials (the API calls it makes do)."""
    settings = Settings(
        redis_url="redis://127.0.0.1:1/0",
        data_dir=tmp_path,
        models_dir=tmp_path / "models",
        auth="jwt,api-key",
        environment="development",
        jwt_secret="x" * 40,
    )
    client = TestClient(create_app(settings), base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    assert client.get("/").status_code == 200
    assert client.get(f"/ui/assets/{WebUI.load().fingerprint}/js/main.js").status_code == 200
    assert client.get("/api/v1/jobs").status_code in (401, 503)
