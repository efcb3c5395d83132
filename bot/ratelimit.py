"""How much the bot takes on and how often it speaks: in-flight bounds and sliding-window reply budgets."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ReplyLimits:
    """The bounds that keep the bot responsive and polite when many people (or one abuser) ask at once.

    Attributes:
        max_in_flight: questions being answered at once; more get a polite "busy" refusal at once instead
            of waiting behind the others (which, past Discord's 3 s deadline, would lose their ack).
        answer_threads: questions answered in parallel threads; more would take the GIL from the event
            loop, which must stay free to acknowledge interactions.
        notice_seconds: at most one refusal notice (usage, too long, cooldown, busy) per user, and one per
            channel, in this many seconds; the rest of a burst gets no reply.
        channel_replies: replies to mentions per channel in `channel_seconds`. Discord lets a bot post 5
            messages per 5 s in a channel and makes the rest wait, so a flood would delay everyone's
            answers there; 10 per 10 s keeps that rate and lets no admitted reply wait more than ~5 s.
        channel_seconds: the window of `channel_replies`.
    """

    max_in_flight: int = 100
    answer_threads: int = 2
    notice_seconds: float = 5.0
    channel_replies: int = 10
    channel_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.max_in_flight < 1 or self.answer_threads < 1 or self.channel_replies < 1:
            raise ValueError("max_in_flight, answer_threads and channel_replies must be at least 1")
        if self.notice_seconds < 0 or self.channel_seconds <= 0:
            raise ValueError("notice_seconds must be >= 0 and channel_seconds > 0")


class SlidingWindow:
    """At most `limit` events per `seconds` for each key (a user or channel id).

    Keys whose events have all left the window are forgotten, so a flood of distinct keys costs memory
    only while it lasts.
    """

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.seconds = seconds
        self._clock = clock
        self._events: dict[int, deque[float]] = {}
        self._swept = clock()

    def available(self, key: int) -> bool:
        """Whether one more event for `key` fits in the window now (records nothing)."""
        if self.seconds <= 0:
            return True
        events = self._events.get(key)
        return events is None or len(self._expire(events, self._clock())) < self.limit

    def take(self, key: int) -> None:
        """Record an event for `key` (call `available` first)."""
        if self.seconds <= 0:
            return
        now = self._clock()
        self._sweep(now)
        self._events.setdefault(key, deque()).append(now)

    def allow(self, key: int) -> bool:
        """Record an event for `key` when it fits; False when the window is full."""
        if not self.available(key):
            return False
        self.take(key)
        return True

    def __len__(self) -> int:
        return len(self._events)

    def _expire(self, events: deque[float], now: float) -> deque[float]:
        while events and events[0] <= now - self.seconds:
            events.popleft()
        return events

    def _sweep(self, now: float) -> None:
        if now - self._swept < self.seconds:
            return
        self._swept = now
        for key in [k for k, events in self._events.items() if not self._expire(events, now)]:
            del self._events[key]
