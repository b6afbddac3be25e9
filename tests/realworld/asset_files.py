"""The static files the cross-origin asset tests serve, made at test time.

A real web font (the DejaVu Sans that matplotlib ships), a 2x2 PNG, an ES module and a short
PCM WAV file (every Chromium build decodes it, so ``<video crossorigin>`` can load it with
Range requests without any proprietary codec).
"""

from __future__ import annotations

import math
import shutil
import struct
import wave
import zlib
from pathlib import Path

import matplotlib

FONT = "font.ttf"
IMAGE = "pixel.png"
MODULE = "answer.js"
MEDIA = "tone.wav"
# The image's top-left pixel, which the page reads back from a canvas.
PIXEL = (200, 30, 60, 255)


def _png(width: int, height: int, rgba: tuple[int, int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgba) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def _wav(path: Path, seconds: float = 3.0, rate: int = 8000) -> None:
    frames = bytearray()
    for i in range(int(seconds * rate)):
        frames += struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(bytes(frames))


def write_assets(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(
        Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf", directory / FONT
    )
    (directory / IMAGE).write_bytes(_png(2, 2, PIXEL))
    (directory / MODULE).write_text(
        "export const answer = 42;\nglobalThis.moduleAnswer = answer;\n"
    )
    _wav(directory / MEDIA)
    return directory
