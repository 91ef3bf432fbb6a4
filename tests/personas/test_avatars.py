"""Persona avatars: an emoji, or an uploaded image re-made as a 256-pixel PNG; hostile files
(SVG with a script, HTML named .png, huge dimensions, decompression bombs) are refused."""

from __future__ import annotations

import io
import struct
import zlib

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from calango.extensions import db
from calango.models import Persona


def _png(width: int, height: int, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width``×``height`` (its CRC fixed, so it parses)."""
    data = bytearray(_png(2, 2))
    ihdr = 8 + 8  # signature, then length and type of the IHDR chunk
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[12 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def _post(client: FlaskClient, csrf: str, upload: bytes | None, filename: str, **fields: str):
    data = {"csrf_token": csrf, "name": "Pintor", "prompt": "You paint with words.", **fields}
    if upload is not None:
        data["avatar_file"] = (io.BytesIO(upload), filename)
    return client.post("/personas/new", data=data, content_type="multipart/form-data")


def _stored(app: Flask) -> Persona | None:
    with app.app_context():
        persona = db.session.scalar(select(Persona).where(Persona.name == "Pintor"))
        if persona is not None:
            _ = persona.avatar_image  # load the deferred column before detaching
            db.session.expunge(persona)
        return persona


def test_an_uploaded_image_is_remade_as_a_256_png_and_served_safely(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    original = _png(1200, 800)
    response = _post(client, csrf, original, "photo.png")
    assert response.status_code == 302
    persona = _stored(app)
    assert persona is not None and persona.has_avatar_image
    assert persona.avatar_image != original

    page = client.get("/personas/").get_data(as_text=True)
    assert f"/personas/{persona.id}/avatar.png?v=" in page

    served = client.get(f"/personas/{persona.id}/avatar.png")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in served.headers["Content-Security-Policy"]
    image = Image.open(io.BytesIO(served.data))
    assert (image.format, image.size) == ("PNG", (256, 256))


def test_a_jpeg_becomes_a_png_too(app: Flask, client: FlaskClient, csrf: str) -> None:
    out = io.BytesIO()
    Image.new("RGB", (300, 300), (0, 90, 200)).save(out, format="JPEG")
    assert _post(client, csrf, out.getvalue(), "me.jpg").status_code == 302
    persona = _stored(app)
    assert persona is not None
    assert Image.open(io.BytesIO(persona.avatar_image or b"")).format == "PNG"


def _refused(app: Flask, client: FlaskClient, csrf: str, upload: bytes, filename: str) -> str:
    response = _post(client, csrf, upload, filename)
    assert response.status_code == 200, "the form comes back with the error"
    assert _stored(app) is None, "nothing is saved"
    return response.get_data(as_text=True)


def test_an_svg_with_a_script_is_refused(app: Flask, client: FlaskClient, csrf: str) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    page = _refused(app, client, csrf, svg, "face.svg")
    assert "not an image Calango can use" in page
    assert "<script>alert(1)" not in page


def test_html_named_png_is_refused(app: Flask, client: FlaskClient, csrf: str) -> None:
    html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    page = _refused(app, client, csrf, html, "avatar.png")
    assert "not an image Calango can use" in page


def test_a_png_header_followed_by_html_is_refused(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    polyglot = b"\x89PNG\r\n\x1a\n" + b"<html><script>alert(1)</script></html>"
    assert "not an image Calango can use" in _refused(app, client, csrf, polyglot, "x.png")


def test_huge_dimensions_are_refused_before_decoding(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    page = _refused(app, client, csrf, _png_claiming(60_000, 60_000), "huge.png")
    assert "million pixels" in page


def test_a_decompression_bomb_is_refused(app: Flask, client: FlaskClient, csrf: str) -> None:
    # 8000×8000 pixels of one colour compress to a few hundred kilobytes.
    out = io.BytesIO()
    Image.new("1", (8000, 8000)).save(out, format="PNG", optimize=True)
    bomb = out.getvalue()
    assert len(bomb) < 200_000
    assert "million pixels" in _refused(app, client, csrf, bomb, "bomb.png")


def test_an_oversized_file_is_refused(app: Flask, client: FlaskClient, csrf: str) -> None:
    page = _refused(app, client, csrf, b"\x89PNG" + b"\0" * (5 * 1024 * 1024 + 10), "big.png")
    assert "larger than 5 MB" in page


def test_an_emoji_avatar_shows_in_the_list_and_the_persona_menu(
    app: Flask, client: FlaskClient, csrf: str
) -> None:
    assert _post(client, csrf, None, "", avatar_emoji="🦎").status_code == 302
    assert "🦎" in client.get("/personas/").get_data(as_text=True)
    assert "🦎 Pintor" in client.get("/chats/").get_data(as_text=True)


def test_words_are_not_an_emoji(app: Flask, client: FlaskClient, csrf: str) -> None:
    response = _post(client, csrf, None, "", avatar_emoji="abc")
    assert "Use an emoji" in response.get_data(as_text=True)
    assert _stored(app) is None


def test_removing_the_image(app: Flask, client: FlaskClient, csrf: str) -> None:
    _post(client, csrf, _png(64, 64), "a.png")
    persona = _stored(app)
    assert persona is not None
    response = client.post(
        f"/personas/{persona.id}/edit",
        data={"csrf_token": csrf, "name": "Pintor", "prompt": "p", "remove_image": "y"},
    )
    assert response.status_code == 302
    assert client.get(f"/personas/{persona.id}/avatar.png").status_code == 404
    assert not (_stored(app) or persona).has_avatar_image


def test_no_avatar_is_a_404(app: Flask, client: FlaskClient, csrf: str) -> None:
    _post(client, csrf, None, "")
    persona = _stored(app)
    assert persona is not None
    assert client.get(f"/personas/{persona.id}/avatar.png").status_code == 404
    assert client.get("/personas/999999/avatar.png").status_code == 404
