"""The words of the simulated world: event classes by family, caption contexts, captions."""

from __future__ import annotations

import numpy as np

FAMILIES = {
    "animals": ["a dog barks", "birds chirp", "a cat meows", "a rooster crows", "cows moo", "insects buzz"],
    "vehicles": [
        "a car engine idles",
        "a train passes",
        "a motorcycle revs",
        "a plane flies over",
        "a bus brakes",
        "a truck reverses beeping",
    ],
    "water": [
        "rain falls on a roof",
        "a stream flows",
        "waves crash on the shore",
        "water drips into a sink",
        "a toilet flushes",
        "someone splashes in water",
    ],
    "people": [
        "a crowd cheers",
        "a baby cries",
        "people chat in a cafe",
        "a man coughs",
        "children laugh and shout",
        "footsteps walk on gravel",
    ],
    "machines": [
        "a drill whirs",
        "a printer prints pages",
        "a vacuum cleaner hums",
        "a saw cuts wood",
        "a fan spins",
        "a factory machine clanks",
    ],
    "music": [
        "a guitar is strummed",
        "a piano plays a melody",
        "drums are beaten",
        "a violin plays",
        "church bells ring",
        "a flute plays softly",
    ],
    "weather": [
        "thunder rumbles",
        "wind blows through trees",
        "hail hits a window",
        "leaves rustle in the wind",
        "a storm howls",
        "light rain patters",
    ],
    "household": [
        "a door slams",
        "dishes clatter",
        "keys jingle",
        "a clock ticks",
        "a kettle whistles",
        "a drawer is opened and closed",
    ],
}
CONTEXTS = [
    "",
    "in the distance",
    "while traffic passes",
    "close to the microphone",
    "in a large room",
    "outdoors",
    "with people talking nearby",
    "repeatedly",
    "for a while",
    "and then stops",
    "loudly",
    "quietly",
]


def caption(rng: np.random.Generator, phrase: str) -> str:
    """A caption for one clip of the class ``phrase``: the phrase with a random context."""
    context = CONTEXTS[int(rng.integers(len(CONTEXTS)))]
    text = f"{phrase} {context}".strip()
    return text[0].upper() + text[1:] + "."
