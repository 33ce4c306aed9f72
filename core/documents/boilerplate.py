"""Web boilerplate of scraped pages: general rules, all in this one file.

Scraped essays carry the furniture of the page they came from: navigation ("Back to top",
"Skip to content"), social widgets ("Liked by 3 people", "Share this:"), comment-form prompts
and a lone category label above the title. These rules describe such lines in general terms,
as they appear on blogs and news sites, not the lines of any one document.
"""
from __future__ import annotations

import re

# Whole lines that are page furniture (matched case-insensitively against the stripped line).
_LINE_RULES = [
    r"(back|return|go) to (the )?top( button)?",
    r"skip to (the )?(main )?(content|navigation)",
    r"liked by \d+ (person|people|others?)",
    r"(like|rate|share)( this)?:?|reply|(like )?loading(\.*|…)|follow us.*",
    r"(leave|post) a (comment|reply)( cancel reply)?|cancel reply",
    r"(previous|next|older|newer) (post|article|entry|story)s?:?",
    r"related( (posts|articles|stories))?:?|you (may|might) also like:?",
    r"(subscribe|sign up)( to| for)? (our |the )?(newsletter|updates|blog).{0,60}",
    r"©.{0,100}|(copyright|\(c\))\s*©?\s*\d{4}.{0,100}|.{0,100}(all rights reserved)\.?",
    r"(this (site|website) uses cookies|we use cookies).{0,200}",
    r"read more( »| ›|…|\.\.\.)?",
    r"advertisement|sponsored( content)?|report this ad",
    r"(home|menu|search)( [|»›>/] .{0,80})?",
    r"facebook|twitter|pinterest|linkedin|whatsapp|reddit|tumblr|telegram|email|print",
    # a date (and time) on its own: when a post or comment was published
    r"(on )?(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}"
    r"(,? (at )?\d{1,2}:\d{2}( ?[ap]\.?m\.?)?)?",
]
_LINE = re.compile(r"^(?:" + "|".join(_LINE_RULES) + r")$", re.IGNORECASE)

# Labels followed by free text ("Posted in Relationships", "Next post: Why trust matters").
# The same words can open a real sentence ("Share this moment with someone you trust."), so
# these count as furniture only when the line does not end like a sentence.
_LABEL_RULES = [
    r"click to share.*",
    r"(previous|next|older|newer) (post|article|entry|story)s?:? .{1,120}",
    r"(posted|published|filed) (in|on|by|under):? .{1,80}",
    r"tag(s|ged)?( with| in)?: .{1,120}",
    r"(share|tweet|pin|email) (on|via|this|to) .{1,40}|share via:?",
    r"continue reading.{0,80}",
]
_LABEL = re.compile(r"^(?:" + "|".join(_LABEL_RULES) + r")$", re.IGNORECASE)
_SENTENCE_END = re.compile(r"[.!]$")

# A heading opening the comment section: "30 thoughts on “...”", "12 comments", "Comments (4)",
# "What readers are saying". Only a heading that means one: a line such as "response:" before
# a code block, or any line ending in a colon, is not.
_COMMENTS = re.compile(
    r"^(?:(\d+|one|two|three) (thoughts?|comments?|responses?|replies|reactions?)( (on|to) .*)?"
    r"|comments?( \(\d+\))?|responses|what (people|readers) (are saying|said))$",
    re.IGNORECASE,
)


def is_boilerplate(line: str) -> bool:
    """True for a line that is page furniture rather than part of the essay."""
    line = line.strip()
    return bool(_LINE.match(line)) or (bool(_LABEL.match(line)) and not _SENTENCE_END.search(line))


def opens_comments(line: str) -> bool:
    """True for the heading line that starts a blog's comment section.

    A heading, not a sentence: "Three thoughts on intimacy stayed with me." is body text.
    """
    line = line.strip()
    return bool(_COMMENTS.match(line)) and not _SENTENCE_END.search(line) and (line[:1].isupper() or line[:1].isdigit())


def is_category_label(line: str, next_line: str | None, heading_like) -> bool:
    """A lone category label ("Health", "Life & Style") printed just above a page's title.

    It is a line of at most three words without sentence punctuation that is directly
    followed by another heading-like line rather than by body text.
    """
    words = line.split()
    return (
        0 < len(words) <= 3
        and not re.search(r"[.?!:;,]$", line.strip())
        and next_line is not None
        and heading_like(next_line)
        and len(next_line.split()) > len(words)
    )
