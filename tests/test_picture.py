"""The leaderboard picture: a valid PNG whose content reflects the board."""

from __future__ import annotations

import struct
import zlib

from bot.core.picture import ACCENT, INK, leaderboard_png


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and pixel rows (RGB, filter type 0 as we write it) of our own PNGs."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", png[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + data), kind
        chunks[kind] = data
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + width * 3
    rows = [raw[i * stride + 1 : (i + 1) * stride] for i in range(height)]
    return width, height, rows


def share_of(row: bytes, colour: tuple[int, int, int]) -> float:
    pixels = [tuple(row[i : i + 3]) for i in range(0, len(row), 3)]
    return sum(1 for p in pixels if p == colour) / len(pixels)


def test_board_png_is_valid_has_a_row_per_member_and_bars_follow_completion():
    rows = [("1. Zoë", "3 days 100%", 1.0), ("2. Sam", "1 day 33%", 1 / 3), ("3. 李", "0 days 0%", 0.0)]
    width, height, pixels = decode(leaderboard_png("Hip week · day 3 of 7", rows))
    assert width == 640 and height > 3 * 40
    bars = [share_of(r, ACCENT) for r in pixels]
    full = [s for s in bars if s > 0.9]
    assert full, "the first member's bar spans the width"
    assert any(0.25 < s < 0.4 for s in bars), "a third of the width for a third of the days"
    assert sum(1 for r in pixels if share_of(r, INK) > 0) > 20  # names and numbers are drawn


def test_more_members_make_a_taller_picture():
    one = decode(leaderboard_png("t", [("1. A", "1 day", 0.5)]))[1]
    eleven = decode(leaderboard_png("t", [(f"{i}. A", "1 day", 0.5) for i in range(11)]))[1]
    assert eleven > one * 5
