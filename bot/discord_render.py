"""Answers as Discord embeds and button views: escaped, highlighted, cited and within Discord's limits."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
import re
from urllib.parse import urlsplit

import discord

from index import Answer, IndexStats, Passage, Source, Timeline

from .limits import MAX_PASSAGES
from .render import (
    NO_ANSWER,
    NO_TIMELINE,
    NOT_ANSWERED,
    dated_sentence,
    entry_sentence,
    filter_line,
    story_line,
)

_log = logging.getLogger(__name__)

# Discord's limits: embed ones are stated in discord/embeds.py; message content is an API limit.
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_NAME_PREFERRED = 100  # a passage heading needs less than the 256 allowed, leaving room for text
FIELD_VALUE_LIMIT = 1024
FIELD_COUNT_LIMIT = 25
EMBED_TOTAL_LIMIT = 6000

# The best passage gets room for a full chunk; the others share what is left of the 6000 total.
BEST_PASSAGE_LIMIT = 2400
# Passages fetched per question: /ask shows k of them, "More" pages through the rest.
FILTER_LIMIT = 300  # the stated filter: publisher names come from users, so keep it short
VIEW_TIMEOUT_SECONDS = 600.0  # interaction tokens last 15 minutes, so disable the buttons well before

ELLIPSIS = "…"
NO_MENTIONS = discord.AllowedMentions.none()

# A sentence ends at . ! ? or … followed by optional closing quotes/brackets, then whitespace.
_SENTENCE_END = re.compile("[.!?\u2026][\"'\u201d\u2019)\\]]*\\s")
_SPACE = re.compile(r"\s")
_MISPLACED_ESCAPE = re.compile(r"^\\(\s+)-", re.MULTILINE)
# In escaped text: an escape pair ("\\[", "\\\\") to keep as it is, or a bracket still to escape.
_ESCAPED_OR_BRACKET = re.compile(r"\\.|[\[\]]", re.DOTALL)
# What Discord (or a reader) takes for a link: a scheme such as "https:", or "www.".
_LOOKS_LIKE_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://|\bwww\.", re.IGNORECASE)


def escape(text: str) -> str:
    """Escape Discord markdown so article text shows literally (links are left clickable)."""
    # escape_markdown puts the backslash of an indented "  - item" before the spaces, where it shows.
    return _MISPLACED_ESCAPE.sub(r"\1\\-", discord.utils.escape_markdown(text))


def trim(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a sentence end, else a word boundary, marked with …."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    room = limit - len(ELLIPSIS) - 1  # one spare for the space before the ellipsis after a sentence
    head = text[: room + 1]
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if sentence_ends and sentence_ends[-1] > room // 2:
        return head[: sentence_ends[-1]].rstrip() + " " + ELLIPSIS
    spaces = [m.start() for m in _SPACE.finditer(head)]
    cut = spaces[-1] if spaces and spaces[-1] > room // 2 else room
    # A hard cut can split an escape such as "\*"; a dangling backslash would escape the ellipsis.
    return head[:cut].rstrip().rstrip("\\") + ELLIPSIS


def trim_start(text: str, limit: int) -> str:
    """Like `trim`, but keeps the end of `text`: "… the end"."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    room = limit - len(ELLIPSIS)
    tail = text[-room:]
    match = _SPACE.search(tail)
    if match is not None and match.start() < room // 2:
        tail = tail[match.end() :]
    return ELLIPSIS + tail.lstrip()


def passage_markdown(passage: Passage, limit: int) -> str:
    """Escaped passage text with the answer sentence in bold, trimmed around it to `limit` characters."""
    shown, highlight = passage.shown
    text = shown.strip()
    if highlight is None:
        return trim(escape(text), limit)
    start, end = highlight
    before, sentence, after = shown[:start], dated_sentence(passage, shown, highlight), shown[end:]
    core = sentence.strip()
    if not core:
        return trim(escape(text), limit)
    # Discord bolds only when ** touches non-space characters, so the sentence's own spaces move outside.
    lead = sentence[: len(sentence) - len(sentence.lstrip())]
    tail = sentence[len(sentence.rstrip()) :]
    before, after = escape((before + lead).lstrip()), escape((tail + after).rstrip())
    bold = escape(core)
    if len(bold) + 4 > limit:
        return "**" + trim(bold, limit - 4) + "**" if limit > 4 + len(ELLIPSIS) else trim(bold, limit)
    room = limit - len(bold) - 4
    # Context before the sentence gets at least half the room, the rest goes to the context after it.
    before = trim_start(before, max(room // 2, room - len(after)))
    after = trim(after, room - len(before))
    return f"{before}**{bold}**{after}"


def link_text(text: str) -> str:
    """`text` escaped once for use inside `[...]`: markdown and every bracket not yet escaped."""
    escaped = escape(text)
    return _ESCAPED_OR_BRACKET.sub(lambda m: m.group() if len(m.group()) == 2 else "\\" + m.group(), escaped)


def web_url(url: str | None) -> str | None:
    """`url` made safe inside `(...)` when it is an http(s) address with a host; None otherwise."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Parentheses, spaces and angle brackets would end or break the markdown link early.
    return url.strip().replace(" ", "%20").replace("(", "%28").replace(")", "%29").replace(">", "%3E")


def source_markdown(source: Source) -> str:
    """One source as `[Title](url) · Publisher · by Author · 30 Mar 2014`; the title links only to a
    web URL, and a title that itself looks like an address is never a link (its text would lie)."""
    url = web_url(source.url)
    if _LOOKS_LIKE_URL.search(source.title):
        # Shown as plain text that Discord will not turn into a link; the real address follows it.
        parts = [escape(_LOOKS_LIKE_URL.sub(lambda m: m.group().replace("/", "/\u200b", 1), source.title))]
        if url:
            parts.append(f"[link]({url})")
    else:
        parts = [f"[{link_text(source.title)}]({url})" if url else escape(source.title)]
    if source.publisher:
        parts.append(escape(source.publisher))
    if source.author:
        parts.append("by " + escape(source.author))
    if source.date:
        parts.append(f"{source.date.day} {source.date:%b %Y}")
    return " · ".join(parts)


def sources_markdown(sources: tuple[Source, ...], limit: int, lead: str = "— ") -> str:
    """One line per source opened by `lead`, as many as fit in `limit` characters, then "— and N more"."""
    lines = [lead + source_markdown(source) for source in sources]
    kept: list[str] = []
    for n, line in enumerate(lines):
        rest = len(lines) - n - 1
        note = f"\n— and {rest} more" if rest else ""
        if len("\n".join([*kept, line])) + len(note) > limit:
            break
        kept.append(line)
    if not kept and sources:  # not even one link fits: the title alone, trimmed (a cut link would break)
        kept.append(trim("— " + escape(sources[0].title), max(0, limit - 16)))
    if len(kept) < len(lines):
        kept.append(f"— and {len(lines) - len(kept)} more")
    return trim("\n".join(kept), limit)


ALSO_IN_LEAD = "— also in, this sentence only: "


def _cited(passage: Passage, limit: int, answered: bool = True) -> str:
    """A passage followed by the sources that carry it, within `limit` characters; without the bold
    sentence (and the sources of that sentence alone) when it does not answer the question."""
    lines = [sources_markdown(passage.sources, limit // 2)] if passage.sources else []
    if passage.also_in and answered:
        lines.append(sources_markdown(passage.also_in, limit // 4, ALSO_IN_LEAD))
    reported = story_line(passage.story)
    if reported:  # publisher names come from the corpus: escaped like every other corpus text
        lines.append(trim("— " + escape(reported), limit // 4))
    sources = "\n".join(lines)
    shown = passage if answered else dataclasses.replace(passage, highlight=None)
    body = passage_markdown(shown, limit - len(sources) - 1)
    return f"{body}\n{sources}" if sources else body


def page_count(answer: Answer, per_page: int) -> int:
    return max(1, math.ceil(len(answer.passages) / per_page))


def answer_embed(answer: Answer, *, page: int = 0, per_page: int = 3) -> discord.Embed:
    """One page of an answer: its first passage in the description, the others as fields."""
    title = trim(escape(answer.question), TITLE_LIMIT)
    searched = filter_line(answer)
    if not answer.found:
        description = NO_ANSWER + (f"\n\n{trim(escape(searched), FILTER_LIMIT)}" if searched else "")
        return discord.Embed(title=title, description=description, colour=discord.Colour.light_grey())
    per_page = max(1, min(per_page, MAX_PASSAGES))
    pages = page_count(answer, per_page)
    page %= pages
    first = page * per_page
    shown = answer.passages[first : first + per_page]
    footer = f"Passages {first + 1}\u2013{first + len(shown)} of {len(answer.passages)}"
    if pages > 1:
        footer += f" · page {page + 1}/{pages}"
    if searched:  # footers show text as typed: no Markdown to escape
        footer += f" · {trim(searched, FILTER_LIMIT)}"
    header = ""
    if not answer.answered:
        header = NOT_ANSWERED + "\n\n"
    elif page == 0 and answer.short_answer:
        header = f"Answer: **{trim(escape(answer.short_answer), 200)}**\n\n"
    names = [_field_name(first + n, passage) for n, passage in enumerate(shown[1:], 2)]

    budget = EMBED_TOTAL_LIMIT - len(title) - len(footer) - len(header) - sum(map(len, names))
    best_limit = min(DESCRIPTION_LIMIT - len(header), BEST_PASSAGE_LIMIT, budget - 200 * len(names))
    description = header + _cited(shown[0], best_limit, answer.answered)
    embed = discord.Embed(title=title, description=description, colour=discord.Colour.blurple())
    embed.set_footer(text=footer)
    budget -= len(description) - len(header)
    for n, (name, passage) in enumerate(zip(names, shown[1:], strict=True)):
        value = _cited(passage, min(FIELD_VALUE_LIMIT, budget // (len(names) - n)), answer.answered)
        budget -= len(value)
        embed.add_field(name=name, value=value or ELLIPSIS, inline=False)
    while len(embed) > EMBED_TOTAL_LIMIT:  # only reachable with absurdly long titles; drop, don't fail
        embed.remove_field(-1)
    return embed


def _field_name(number: int, passage: Passage) -> str:
    name = f"#{number}"
    if passage.sources:
        name += " · " + escape(passage.sources[0].title)
    return trim(name, FIELD_NAME_PREFERRED)


# Each update's sentence is cut to this many characters: a timeline is read for its sequence.
TIMELINE_SENTENCE_LIMIT = 300


def timeline_embed(timeline: Timeline) -> discord.Embed:
    """A story's updates, oldest first: the date in bold, the sentence, the first source and a count of
    the others; as many as fit, then how many more there are."""
    title = trim("Timeline: " + escape(timeline.query), TITLE_LIMIT)
    searched = filter_line(timeline)
    if not timeline.entries:
        description = NO_TIMELINE + (f"\n\n{trim(escape(searched), FILTER_LIMIT)}" if searched else "")
        return discord.Embed(title=title, description=description, colour=discord.Colour.light_grey())
    blocks = []
    for entry in timeline.entries:
        sentence = trim(escape(entry_sentence(entry).strip()), TIMELINE_SENTENCE_LIMIT)
        cited = "— " + source_markdown(entry.sources[0])
        if len(entry.sources) > 1:
            cited += f" and {len(entry.sources) - 1} more"
        blocks.append(f"**{entry.date.isoformat()}** · {sentence}\n{cited}")
    kept: list[str] = []
    for n, block in enumerate(blocks):
        rest = len(blocks) - n - 1
        note = f"\n\n… and {rest} more update{'s' if rest != 1 else ''}" if rest else ""
        if len("\n\n".join([*kept, block])) + len(note) > DESCRIPTION_LIMIT:
            break
        kept.append(block)
    description = "\n\n".join(kept)
    if len(kept) < len(blocks):
        more = len(blocks) - len(kept)
        description += f"\n\n… and {more} more update{'s' if more != 1 else ''}"
    embed = discord.Embed(title=title, description=description, colour=discord.Colour.blurple())
    footer = f"{len(timeline.entries)} update{'s' if len(timeline.entries) != 1 else ''}, oldest first"
    if searched:
        footer += f" · {trim(searched, FILTER_LIMIT)}"
    elif timeline.left_out_undated:
        footer += f" · {timeline.left_out_undated} undated left out"
    embed.set_footer(text=footer)
    return embed


def sources_embed(answer: Answer) -> discord.Embed:
    """Every source of an answer, in passage order."""
    embed = discord.Embed(title=trim("Sources: " + escape(answer.question), TITLE_LIMIT))
    embed.description = sources_markdown(answer.sources, DESCRIPTION_LIMIT) or "No sources."
    return embed


def about_embed(stats: IndexStats) -> discord.Embed:
    """What the bot knows: articles, passages, and when the index was built."""
    built = stats.built_at if stats.built_at.tzinfo else stats.built_at.replace(tzinfo=dt.UTC)
    embed = discord.Embed(
        title="article-qa", description="I answer questions from a folder of news articles."
    )
    embed.add_field(name="Articles", value=f"{stats.articles:,}")
    embed.add_field(name="Passages", value=f"{stats.passages:,}")
    embed.add_field(
        name="Index built",
        value=f"{discord.utils.format_dt(built, 'f')} ({discord.utils.format_dt(built, 'R')}), "
        f"in {stats.build_seconds:.1f} s",
        inline=False,
    )
    embed.add_field(name="Corpus", value=trim(escape(stats.corpus), FIELD_VALUE_LIMIT), inline=False)
    if stats.skipped_files:
        embed.set_footer(text=f"{stats.skipped_files} file(s) of the corpus could not be read.")
    return embed


def message_text(text: str) -> str:
    """Plain message content (a notice or an error line) within Discord's 2000 characters."""
    return trim(text, CONTENT_LIMIT)


class AnswerView(discord.ui.View):
    """The "More" and "Sources" buttons under an answer; only the asker can page it."""

    def __init__(
        self, answer: Answer, *, per_page: int, owner_id: int, timeout: float = VIEW_TIMEOUT_SECONDS
    ) -> None:
        super().__init__(timeout=timeout)
        self.answer = answer
        self.per_page = per_page
        self.owner_id = owner_id
        self.page = 0
        # The sent message, set by the sender, so the buttons can be disabled when the view times out.
        self.message: discord.Message | discord.InteractionMessage | discord.WebhookMessage | None = None
        if page_count(answer, per_page) < 2:
            self.remove_item(self.more)
        if not answer.sources:
            self.remove_item(self.show_sources)

    def embed(self) -> discord.Embed:
        return answer_embed(self.answer, page=self.page, per_page=self.per_page)

    @discord.ui.button(label="More", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]) -> None:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "Only the person who asked can page through this answer; use /ask to ask your own.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        pages = page_count(self.answer, self.per_page)
        self.page = (self.page + 1) % pages
        button.label = "Back to the top" if self.page == pages - 1 else "More"
        await interaction.response.edit_message(embed=self.embed(), view=self, allowed_mentions=NO_MENTIONS)

    @discord.ui.button(label="Sources", style=discord.ButtonStyle.secondary)
    async def show_sources(
        self, interaction: discord.Interaction, button: discord.ui.Button[AnswerView]
    ) -> None:
        await interaction.response.send_message(
            embed=sources_embed(self.answer), ephemeral=True, allowed_mentions=NO_MENTIONS
        )

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self, allowed_mentions=NO_MENTIONS)
            except discord.HTTPException as err:  # message deleted, token expired: nothing left to do
                _log.debug("could not disable the buttons of an expired answer: %s", err)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[AnswerView]
    ) -> None:
        _log.error("button %r failed", getattr(item, "label", item), exc_info=error)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                "Sorry, that button failed; the error has been logged.",
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
