"""Terminal text: escape sequences stripped from echoed input, index ages for people."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.terminal import age, printable

BUILT = dt.datetime(2026, 3, 2, 9, 30, 15, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("who met Lavrov in Paris?", "who met Lavrov in Paris?"),
        ("\x1b[1;31mwho\x1b[0m met Lavrov", "who met Lavrov"),  # colours
        ("\x1b]0;new title\x07where", "where"),  # window title (OSC ended by BEL)
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # hyperlink (OSC ended by ST)
        ("talks\x1b[2J\x1b[H", "talks"),  # clear screen, cursor home
        ("a\x00b\x08c\x7fd\x85e\x9b31mf", "abcdef"),  # C0, DEL, C1 and 8-bit CSI
        ("Zürich — «talks»\tend", "Zürich — «talks»\tend"),  # printable Unicode and tabs stay
    ],
)
def test_printable_strips_escapes_and_controls(typed: str, shown: str) -> None:
    assert printable(typed) == shown


@pytest.mark.parametrize(
    ("later", "said"),
    [
        (dt.timedelta(seconds=20), "just now"),
        (dt.timedelta(minutes=1, seconds=5), "1 minute ago"),
        (dt.timedelta(minutes=59), "59 minutes ago"),
        (dt.timedelta(hours=2, minutes=10), "2 hours ago"),
        (dt.timedelta(days=1, hours=3), "1 day ago"),
        (dt.timedelta(days=40), "40 days ago"),
        (-dt.timedelta(minutes=5), "just now"),  # a clock set back never shows a negative age
    ],
)
def test_age_reads_like_a_person_would_say_it(later: dt.timedelta, said: str) -> None:
    assert age(BUILT, BUILT + later) == f"2026-03-02 09:30 UTC, {said}"
