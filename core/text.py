"""Words as every part of the program sees them: one stemmer, and the word lists with what
each is for.

- Keyword relevance (BM25) and its idf-weighted coverage use bm25s' tokenizer with its English
  stop words and the Snowball stemmer: `keyword_terms`, `keyword_token_lists`.
- The answering sentence compares a question's content words with each sentence's: a short list
  of question words (`QUESTION_STOP_WORDS`), so that words such as "other" or "never" still count.
- Theme labels leave out every English function word (`LABEL_STOP_WORDS`) and name nothing by
  a vague word alone (`VAGUE_WORDS`).
"""
from __future__ import annotations

import re
from collections import Counter

import Stemmer

STEMMER = Stemmer.Stemmer("english")  # thread-safe for stemWord; one per process is enough
WORD = re.compile(r"\w+")
LETTERS = re.compile(r"[^\W\d_]+")  # words as typo repair sees them


def stem(word: str) -> str:
    return STEMMER.stemWord(word)


def word_counts(texts) -> Counter:
    """How often each word (lower-case letters only) occurs in the texts: what typo repair knows."""
    return Counter(w for t in texts for w in LETTERS.findall(t.lower()))


def keyword_token_lists(texts: list[str]) -> list[list[str]]:
    """The keyword terms of each text (as `keyword_terms`, for many texts at once)."""
    import bm25s

    if not texts:
        return []
    return bm25s.tokenize(texts, stopwords="en", stemmer=STEMMER, return_ids=False, show_progress=False)


def keyword_terms(text: str) -> list[str]:
    """Stemmed content words, as the keyword index sees them."""
    import bm25s

    return bm25s.tokenize([text], stopwords="en", stemmer=STEMMER, return_ids=False,
                          show_progress=False)[0]


QUESTION_STOP_WORDS = frozenset(
    "a an and are as at be but by can could did do does doing for from had has have how i if in "
    "into is it its me my of on or our so some than that the their them then there these they "
    "this to up was we were what when where which while who why will with would you your".split()
)


def content_words(text: str) -> set[str]:
    """The stemmed words of a question or sentence that carry its meaning."""
    return {stem(w) for w in WORD.findall(text.lower()) if w not in QUESTION_STOP_WORDS and len(w) > 1}


# English function words: never in a label, and a phrase never runs across one.
LABEL_STOP_WORDS = frozenset("""
a about above across after again against all almost also although always am among an and
another any anybody anyone anything are around as at away be became because become becomes been
before behind being below beside besides between beyond both but by can cannot could did do does
doing done down during each either else enough etc even ever every everybody everyone everything
few for from further furthermore had has have having he hence her here hers herself him himself
his how however i if in indeed instead into is it its itself just may maybe me might more
moreover most much must my myself neither never nevertheless no nobody none nor not nothing now
of off often on once one ones only onto or other others otherwise ought our ours ourselves out
over own per perhaps quite rather really same shall she should since so some somebody somehow
someone something sometimes somewhat still such than that the their theirs them themselves then
there thereby therefore these they this those though through throughout thus to together too
toward towards under unless until up upon us very via was we well were what whatever when
whenever where whether which while who whoever whole whom whose why will with within without
would yet you your yours yourself yourselves ain't can't don't doesn't didn't isn't aren't
wasn't weren't won't wouldn't couldn't shouldn't haven't hasn't hadn't it's that's there's
what's let's i'm i've i'd i'll you're you've you'll you'd we're we've they're they've he's she's
""".split())

# Words too vague to name a theme on their own (they may still be part of a phrase).
VAGUE_WORDS = frozenset("""
able according actually allow allows already apart ask asking back best better bring brings came
certain certainly clearly come comes course currently definitely despite different especially
exactly example far find finds first form forms found four gave get gets getting give gives given
go goes going gone got gotten great happen happens hardly important keep keeps kind know known
knows last least less let like likely little long look made main mainly major make makes making
many matter matters mean means near nearly need needs new next ok okay overall part place put
regarding said saw say says second see seem seemed seems seen self several show shows six soon
sure take takes taken thing things think three time times took truly try two use used uses using
usually various want wants way ways went yes help helps helped helping
""".split())
