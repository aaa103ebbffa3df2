"""A leaderboard as a PNG image, drawn in pure Python (no imaging library for one small picture).

A 5x7 pixel font covers letters (shown in capitals), digits and common punctuation; anything else is
drawn as a small box. The image is RGB, scaled up 2x, encoded with zlib as PNG.
"""

from __future__ import annotations

import struct
import unicodedata
import zlib

# Each glyph: 7 rows of 5 pixels, "#" on.
_GLYPHS = """
A .###. #...# #...# ##### #...# #...# #...#
B ####. #...# #...# ####. #...# #...# ####.
C .###. #...# #.... #.... #.... #...# .###.
D ####. #...# #...# #...# #...# #...# ####.
E ##### #.... #.... ####. #.... #.... #####
F ##### #.... #.... ####. #.... #.... #....
G .###. #...# #.... #.### #...# #...# .####
H #...# #...# #...# ##### #...# #...# #...#
I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
J ..### ...#. ...#. ...#. ...#. #..#. .##..
K #...# #..#. #.#.. ##... #.#.. #..#. #...#
L #.... #.... #.... #.... #.... #.... #####
M #...# ##.## #.#.# #.#.# #...# #...# #...#
N #...# ##..# #.#.# #..## #...# #...# #...#
O .###. #...# #...# #...# #...# #...# .###.
P ####. #...# #...# ####. #.... #.... #....
Q .###. #...# #...# #...# #.#.# #..#. .##.#
R ####. #...# #...# ####. #.#.. #..#. #...#
S .#### #.... #.... .###. ....# ....# ####.
T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
U #...# #...# #...# #...# #...# #...# .###.
V #...# #...# #...# #...# #...# .#.#. ..#..
W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
X #...# #...# .#.#. ..#.. .#.#. #...# #...#
Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
Z ##### ....# ...#. ..#.. .#... #.... #####
0 .###. #...# #..## #.#.# ##..# #...# .###.
1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
2 .###. #...# ....# ...#. ..#.. .#... #####
3 ####. ....# ....# .###. ....# ....# ####.
4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
5 ##### #.... ####. ....# ....# #...# .###.
6 .###. #.... #.... ####. #...# #...# .###.
7 ##### ....# ...#. ..#.. .#... .#... .#...
8 .###. #...# #...# .###. #...# #...# .###.
9 .###. #...# #...# .#### ....# ....# .###.
. ..... ..... ..... ..... ..... .##.. .##..
, ..... ..... ..... ..... .##.. ..#.. .#...
: ..... .##.. .##.. ..... .##.. .##.. .....
- ..... ..... ..... ##### ..... ..... .....
_ ..... ..... ..... ..... ..... ..... #####
% ##..# ##.#. ...#. ..#.. .#... .#.## #..##
# .#.#. ##### .#.#. .#.#. .#.#. ##### .#.#.
' ..#.. ..#.. .#... ..... ..... ..... .....
( ...#. ..#.. .#... .#... .#... ..#.. ...#.
) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
/ ....# ...#. ...#. ..#.. .#... .#... #....
! ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..
? .###. #...# ...#. ..#.. ..#.. ..... ..#..
& .##.. #..#. .##.. .#... #.#.# #..#. .##.#
+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....
"""
_UNKNOWN = ["#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"]
FONT: dict[str, list[str]] = {line[0]: line[2:].split() for line in _GLYPHS.strip().splitlines()}
FONT[" "] = ["....."] * 7

SCALE = 2
ADVANCE = 6  # glyph width plus one pixel of spacing
LINE = 12  # pixels per text line before scaling
BACKGROUND = (250, 248, 243)
INK = (38, 50, 56)
ACCENT = (46, 158, 107)
TRACK = (222, 226, 220)


def _fold(text: str) -> str:
    """Capitals without accents ("Zoë" -> "ZOE"); what the font cannot draw becomes a box."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if ch in FONT else "\0" for ch in plain.upper())


class Canvas:
    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = [bytearray(bytes(BACKGROUND) * width) for _ in range(height)]

    def rect(self, x: int, y: int, w: int, h: int, colour: tuple[int, int, int]) -> None:
        x0, x1 = max(0, x), min(self.width, x + w)
        if x1 <= x0:
            return
        for row in range(max(0, y), min(self.height, y + h)):
            self.pixels[row][x0 * 3 : x1 * 3] = bytes(colour) * (x1 - x0)

    def text(self, x: int, y: int, text: str, colour: tuple[int, int, int] = INK, max_chars: int = 60) -> None:
        for i, ch in enumerate(_fold(text)[:max_chars]):
            glyph = FONT.get(ch, _UNKNOWN)
            for gy, row in enumerate(glyph):
                for gx, on in enumerate(row):
                    if on == "#":
                        self.rect(x + (i * ADVANCE + gx) * SCALE, y + gy * SCALE, SCALE, SCALE, colour)

    def png(self) -> bytes:
        raw = b"".join(b"\x00" + bytes(row) for row in self.pixels)

        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
        )


def leaderboard_png(title: str, rows: list[tuple[str, str, float]]) -> bytes:
    """rows: (left text, e.g. "1. Sam", right text, e.g. "12 days 80%", completion 0..1 for the bar)."""
    width = 640
    margin = 16
    row_height = (LINE * 2 + 6) * SCALE
    height = margin * 2 + (LINE + 6) * SCALE + row_height * max(1, len(rows))
    canvas = Canvas(width, height)
    canvas.text(margin, margin, title, ACCENT, max_chars=(width - 2 * margin) // (ADVANCE * SCALE))
    y = margin + (LINE + 6) * SCALE
    label_chars = 28
    for left, right, share in rows:
        canvas.text(margin, y, left, max_chars=label_chars)
        right_x = width - margin - len(_fold(right)) * ADVANCE * SCALE
        canvas.text(max(right_x, margin + (label_chars + 1) * ADVANCE * SCALE), y, right)
        bar_y, bar_w = y + LINE * SCALE, width - 2 * margin
        canvas.rect(margin, bar_y, bar_w, 4 * SCALE, TRACK)
        canvas.rect(margin, bar_y, int(bar_w * min(1.0, max(0.0, share))), 4 * SCALE, ACCENT)
        y += row_height
    return canvas.png()
