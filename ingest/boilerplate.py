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
    r"like( this)?|reply|share|share this:?|click to share.*|loading\.*|follow us.*",
    r"(leave|post) a (comment|reply)( cancel reply)?|cancel reply",
    r"(previous|next|older|newer) (post|article|entry|story)s?:?.*",
    r"related (posts|articles|stories):?",
    r"(posted|filed) (in|under):? .{0,80}",
    r"tags?: .{0,120}",
    r"(share|tweet|pin|email) (on|via|this) .{0,40}",
    r"(subscribe|sign up)( to| for)? (our |the )?(newsletter|updates|blog).{0,60}",
    r"(all rights reserved|copyright|©).{0,100}|.{0,100}(all rights reserved)\.?",
    r"(this (site|website) uses cookies|we use cookies).{0,200}",
    r"read more( »| ›|…|\.\.\.)?|continue reading.{0,80}",
    r"advertisement|sponsored( content)?",
    r"(home|menu|search)( [|»›>/] .{0,80})?",
]
_LINE = re.compile(r"^(?:" + "|".join(_LINE_RULES) + r")$", re.IGNORECASE)

# A line opening the comment section: "30 thoughts on “...”", "12 comments", "Comments (4)".
_COMMENTS = re.compile(
    r"^(?:(\d+|one|two|three) (thoughts?|comments?|responses?|replies|reactions?)( (on|to) .*)?"
    r"|comments?( \(\d+\))?:?|responses?:?|what (people|readers) (are saying|said):?)$",
    re.IGNORECASE,
)


def is_boilerplate(line: str) -> bool:
    """True for a line that is page furniture rather than part of the essay."""
    return bool(_LINE.match(line.strip()))


def opens_comments(line: str) -> bool:
    """True for the heading line that starts a blog's comment section."""
    return bool(_COMMENTS.match(line.strip()))


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
