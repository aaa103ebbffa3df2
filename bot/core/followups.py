"""Short replies read in the context of what the coach just said: "2", "that one", "yes", "no", "why?".

After every turn the coach keeps (in the person's conversation state) the buttons it just offered and
what its last answer was about. A short message that only makes sense against that context is read
here; anything else goes on to normal understanding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.messages import Reply

ORDINALS = {
    "first": 1, "1st": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3, "three": 3,
    "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5, "sixth": 6, "6th": 6, "six": 6,
}  # fmt: skip
FILLER = frozenset("the a an option number no choice button please pls plz one i want ill take go with".split())
POINTING = frozenset({"that", "this", "it"})
YES = frozenset("yes yeah yep yup ya yea ye sure ok okay alright please definitely absolutely".split())
YES_PHRASES = ("go on", "lets do it", "let's do it", "sounds good", "why not", "go for it", "do it")
NO = frozenset("no nope nah not now later".split())
NO_PHRASES = ("no thanks", "no thank you", "not now", "not really", "maybe later", "not today")
WHY = ("why", "how come", "why is that", "but why", "why so", "how so", "why that")
# Buttons a plain "yes" / "no" presses, most specific first ("f:" deletes data: only a real press or the
# forget flow's own question may do that).
YES_DATA = (re.compile(r"^s:.*:yes$"), re.compile(r"^o:start$"), re.compile(r"^r:[^:]+:0$"), re.compile(r"^m:"))
NO_DATA = (re.compile(r"^s:.*:no$"), re.compile(r"^o:none$"), re.compile(r"^o:skip$"))
MAX_OFFERED = 12


@dataclass(frozen=True)
class Followup:
    kind: str  # "pick" (a numbered or ordinal choice), "that", "yes", "no", "why", "more"
    number: int = 0


def read_followup(raw: list[str], text: str) -> Followup | None:
    """A reply that means something only against the last answer, or None."""
    if not raw or len(raw) > 5:
        return None
    phrase = " ".join(raw)
    digits = [w for w in raw if w.isascii() and w.isdigit()]
    rest = [w for w in raw if w not in FILLER and not (w.isascii() and w.isdigit())]
    if len(digits) == 1 and not rest and len(digits[0]) <= 3 and not re.search(r"[:.]\d", text):
        return Followup("pick", int(digits[0]))
    ordinals = [ORDINALS[w] for w in raw if w in ORDINALS]
    if len(ordinals) == 1 and all(w in FILLER or w in ORDINALS for w in raw):
        return Followup("pick", ordinals[0])
    if raw[-1] == "last" and all(w in FILLER or w == "last" for w in raw):
        return Followup("pick", -1)
    if set(raw) & POINTING and all(w in FILLER or w in POINTING for w in raw) and "one" in raw:
        return Followup("that")
    if phrase in WHY or phrase.rstrip("?") in WHY:
        return Followup("why")
    if phrase in NO_PHRASES or (set(raw) <= NO | FILLER | {"thanks", "thank", "you"} and raw[0] in NO):
        return Followup("no")
    if phrase in YES_PHRASES or (raw[0] in YES and set(raw) <= YES | FILLER | {"go", "on"}):
        return Followup("yes")
    return None


def offered_in(replies: list[Reply]) -> list[list[str]]:
    """[label, data] of every button in a batch, numbered the way the terminal numbers them."""
    found = [[b.label, b.data] for r in replies for row in r.buttons for b in row]
    return found[:MAX_OFFERED]


def pick(offered: list[list[str]], followup: Followup) -> str | None:
    """The button data a pick, a 'that one', a 'yes' or a 'no' presses, if the offer has one."""
    if followup.kind == "pick":
        n = followup.number
        if n == -1 and offered:
            return offered[-1][1]
        return offered[n - 1][1] if 1 <= n <= len(offered) else None
    if followup.kind == "that":
        return offered[0][1] if len(offered) == 1 else None
    patterns = YES_DATA if followup.kind == "yes" else NO_DATA if followup.kind == "no" else ()
    for pattern in patterns:
        for _, data in offered:
            if pattern.search(data):
                return data
    return None
