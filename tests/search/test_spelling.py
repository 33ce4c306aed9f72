"""Typo repair: misspelt words become corpus words; real words the model's word list lacks stay."""
from search.spelling import Speller

CORPUS = {"intimacy": 9, "vulnerability": 4, "their": 30, "subset": 3, "angle": 2, "funny": 1,
          "route": 5, "report": 7, "lookup": 2, "level": 6, "zero": 4, "returns": 8}
DICTIONARY = frozenset({"sub", "net", "zero", "route", "run", "pot", "cook", "over", "write",
                        "their", "level", "returns", "angle", "report"})


def speller() -> Speller:
    return Speller(lambda words: {w: CORPUS[w] for w in words if w in CORPUS}, DICTIONARY)


def test_misspelt_words_become_the_corpus_word_one_edit_away():
    s = speller()
    assert s.correct("Thier intimasy and vulnerabilty") == "Their intimacy and vulnerability"
    assert s.correct("log levle, retruns") == "log level, returns"


def test_a_dictionary_word_with_a_common_prefix_or_ending_is_left_alone():
    s = speller()
    for word in ("subnet", "zeros", "router", "runny", "repot", "cooker", "overwrite"):
        assert s.correct(f"is {word} here") == f"is {word} here", word


def test_acronyms_and_first_letters_are_kept():
    s = speller()
    assert s.correct("VLOOKUP across sheets") == "VLOOKUP across sheets"
    assert s.correct("mangle names") == "mangle names"  # not "angle": the first letter stays
