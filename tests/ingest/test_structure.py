"""Document structure: title, headings, FAQ questions, boilerplate, comments, paragraph styles."""
from __future__ import annotations


import pytest

from core.documents import boilerplate
from core.documents import read_text
from core.settings import DEFAULT_CORPUS
from ingest.structure import heading_like, parse, title_from_filename

SEEDS = sorted(DEFAULT_CORPUS.glob("*.txt"))
HIDDEN = "emotional-intimacy-the-hidden-connection.txt"
WHY = "emotional-intimacy-and-why-it-is-important.txt"


def _norm(s: str) -> str:
    return " ".join(s.split())


def _paras(text: str, structure) -> list[str]:
    return [text[p.start:p.end] for p in structure.paragraphs]


def _seed(name: str):
    text = read_text(DEFAULT_CORPUS / name)
    return text, parse(text, name)


def test_there_are_seeds():
    assert len(SEEDS) == 5


# --- the seeds --------------------------------------------------------------------------

@pytest.mark.parametrize("name, title, title_from", [
    (WHY, "Emotional intimacy and why it is important", "text"),
    (HIDDEN, "Emotional Intimacy: Understanding the Hidden Connection That Strengthens Relationships?", "text"),
    ("human-intimacy-beyond-the-physical.txt", "Human intimacy beyond the physical", "filename"),
    ("physical-intimacy-with-the-wrong-person.txt", "Physical intimacy with the wrong person", "filename"),
    ("unseen-costs-of-intimacy-with-the-wrong-partner.txt",
     "The Unseen Costs of Intimacy with the Wrong Partner: Emotional, Social, and Health Implications", "text"),
])
def test_seed_titles(name, title, title_from):
    text, s = _seed(name)
    assert _norm(s.title) == title
    assert s.title_from == title_from
    if title_from == "text":  # the title line is not also a paragraph
        assert all(_norm(p) != title for p in _paras(text, s))


@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name)
def test_seed_spans_are_exact_ordered_and_trimmed(path):
    text = read_text(path)
    s = parse(text, path.name)
    assert s.paragraphs
    last = 0
    for n, p in enumerate(s.paragraphs, start=1):
        assert p.number == n
        assert last <= p.start < p.end <= len(text)
        chunk = text[p.start:p.end]
        assert chunk == chunk.strip() and chunk
        last = p.end
    for span, _ in s.dropped:
        assert text[span.start:span.end] == span.text
    for span in s.headings + s.questions:
        assert span.text in _norm(text[span.start:span.end])
        assert not any(p.start < span.end and span.start < p.end for p in s.paragraphs)


def test_seed_headings_and_faq_questions_become_context():
    text, s = _seed(HIDDEN)
    headings = [h.text for h in s.headings]
    assert headings[0] == "What Emotional Intimacy Really Means"
    assert headings[-2:] == ["Conclusion", "FAQs"]
    assert [q.text for q in s.questions] == [
        "What is emotional intimacy in a relationship?",
        "How can I build emotional intimacy with my partner?",
        "What causes emotional intimacy to weaken?",
        "Why is emotional intimacy important?",
        "Can emotional intimacy be rebuilt?",
    ]
    paras = _paras(text, s)
    for h in headings + [q.text for q in s.questions]:
        assert all(h not in p for p in paras), h
    answer = next(p for p in s.paragraphs if text[p.start:p.end].startswith("Emotional intimacy is the deep"))
    assert (answer.section, answer.question, answer.kind) == (
        "FAQs", "What is emotional intimacy in a relationship?", "body")
    rebuilt = next(p for p in s.paragraphs if text[p.start:p.end].startswith("Yes. With consistent effort"))
    assert rebuilt.question == "Can emotional intimacy be rebuilt?"
    assert not text[answer.start:answer.end].startswith(("1.", " "))
    first = s.paragraphs[0]
    assert (first.section, first.question) == ("", "")
    conclusion = [p for p in s.paragraphs if p.section == "Conclusion"]
    assert len(conclusion) == 1 and conclusion[0].question == ""


def test_seed_boilerplate_and_category_label_are_dropped():
    text, s = _seed(HIDDEN)
    dropped = {span.text: why for span, why in s.dropped}
    assert dropped == {"Health": "category label", "Back to top button": "boilerplate"}
    assert all("Back to top" not in p for p in _paras(text, s))
    assert _paras(text, s)[0].startswith("Emotional intimacy is one of the most important")


def test_seed_comment_section_is_kept_and_marked():
    text, s = _seed(WHY)
    comments = [p for p in s.paragraphs if p.kind == "comment"]
    body = [p for p in s.paragraphs if p.kind == "body"]
    assert len(comments) == 3
    assert all(p.section == "Comments" and p.question == "" for p in comments)
    assert s.paragraphs[-3:] == comments  # the comment section is at the end
    first = text[comments[0].start:comments[0].end]
    assert first.startswith("I think on this topic often.")  # the "1." marker is not part of it
    assert text[comments[1].start:comments[1].end].startswith("Yes, definitely")
    assert all("Liked by" not in text[p.start:p.end] for p in s.paragraphs)
    assert all("thoughts on" not in text[p.start:p.end] for p in s.paragraphs)
    assert text[body[-1].start:body[-1].end].startswith("To establish")
    assert [why for _, why in s.dropped].count("boilerplate") == 2
    # a rhetorical question in the body is a paragraph, not an FAQ question
    assert text[body[0].start:body[0].end].startswith("How often in our lifetime")
    assert s.questions == []


@pytest.mark.parametrize("name", [
    "human-intimacy-beyond-the-physical.txt",
    "physical-intimacy-with-the-wrong-person.txt",
    "unseen-costs-of-intimacy-with-the-wrong-partner.txt",
])
def test_single_newline_seeds_have_one_paragraph_per_line(name):
    text, s = _seed(name)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if s.title_from == "text":
        lines = lines[1:]
    assert [_norm(p) for p in _paras(text, s)] == [_norm(line) for line in lines]
    assert s.headings == [] and s.questions == []
    assert all(p.kind == "body" and p.section == "" for p in s.paragraphs)


# --- titles -----------------------------------------------------------------------------

BODY = "Trust grows slowly between two people who listen to each other, and it needs time."


def test_heading_like_first_line_is_the_title():
    text = f"Why We Hide Our Feelings\n\n{BODY}\n"
    s = parse(text, "03-some-file.txt")
    assert (s.title, s.title_from) == ("Why We Hide Our Feelings", "text")
    assert _paras(text, s) == [BODY]


def test_sentence_first_line_gives_a_title_from_the_file_name():
    text = f"{BODY}\n\nAnother paragraph follows here, also a sentence.\n"
    s = parse(text, "03_my-first_essay.txt")
    assert (s.title, s.title_from) == ("My first essay", "filename")
    assert _paras(text, s)[0] == BODY


def test_a_lone_line_is_content_not_a_title():
    text = "Just a short note about love\n"
    s = parse(text, "note.md")
    assert s.title == "Note"
    assert _paras(text, s) == ["Just a short note about love"]


@pytest.mark.parametrize("filename, title", [
    ("emotional-intimacy-and-why.txt", "Emotional intimacy and why"),
    ("2021_05_trust_issues.md", "Trust issues"),
    ("notes.txt", "Notes"),
    ("", "Untitled"),
])
def test_title_from_filename(filename, title):
    assert title_from_filename(filename) == title


def test_category_label_above_the_title_is_dropped():
    text = f"Relationships\n\nWhy Emotional Closeness Matters More Than Ever\n\n{BODY}\n"
    s = parse(text, "x.txt")
    assert s.title == "Why Emotional Closeness Matters More Than Ever"
    assert [(span.text, why) for span, why in s.dropped] == [("Relationships", "category label")]
    assert _paras(text, s) == [BODY]


def test_short_markdown_title_is_not_taken_for_a_category_label():
    text = f"# Love\n\n## Why It Matters\n\n{BODY}\n"
    s = parse(text, "x.md")
    assert s.title == "Love"
    assert s.dropped == []
    assert [p.section for p in s.paragraphs] == ["Why It Matters"]


# --- headings ---------------------------------------------------------------------------

def test_markdown_headings():
    text = (
        "# The Quiet Work of Closeness\n\n"
        f"{BODY}\n\n"
        "## What partners can do\n\n"
        "Partners can ask open questions and wait for the answer.\n\n"
        "### listening without fixing\n"
        "Listening without fixing is a skill, and it can be learned.\n"
    )
    s = parse(text, "x.md")
    assert s.title == "The Quiet Work of Closeness"
    assert [h.text for h in s.headings] == ["What partners can do", "listening without fixing"]
    assert [(text[p.start:p.end], p.section) for p in s.paragraphs] == [
        (BODY, ""),
        ("Partners can ask open questions and wait for the answer.", "What partners can do"),
        ("Listening without fixing is a skill, and it can be learned.", "listening without fixing"),
    ]
    assert all("#" not in text[p.start:p.end] for p in s.paragraphs)


def test_plain_text_headings_with_either_paragraph_style():
    blank = (
        "Living Closer to the People We Love\n\n"
        "Signs Of Strong Intimacy\n\n"
        "You can speak without fear. You feel heard when you talk.\n\n"
        "Common Causes of Distance\n\n"
        "Stress and busy schedules push partners apart over time.\n"
    )
    single = blank.replace("\n\n", "\n")
    for text in (blank, single):
        s = parse(text, "x.txt")
        assert s.title == "Living Closer to the People We Love"
        assert [h.text for h in s.headings] == ["Signs Of Strong Intimacy", "Common Causes of Distance"]
        assert [(text[p.start:p.end], p.section) for p in s.paragraphs] == [
            ("You can speak without fear. You feel heard when you talk.", "Signs Of Strong Intimacy"),
            ("Stress and busy schedules push partners apart over time.", "Common Causes of Distance"),
        ]


@pytest.mark.parametrize("line, expected", [
    ("What Emotional Intimacy Really Means", True),
    ("How to Build Emotional Intimacy Naturally", True),
    ("## anything at all", True),
    ("Conclusion", True),
    ("FAQs", True),
    ("It is the space where feelings can be expressed openly and comfortably.", False),
    ("We often make friends in university or at work", False),
    ("- a list item", False),
    ("1. What is emotional intimacy in a relationship?", False),
    ("", False),
])
def test_heading_like(line, expected):
    assert heading_like(line) is expected


# --- FAQ questions ----------------------------------------------------------------------

def _faq_check(text: str, faq_heading: str):
    s = parse(text, "faq.txt")
    assert [h.text for h in s.headings] == [faq_heading]
    assert [q.text for q in s.questions] == [
        "What is emotional intimacy?", "How can I build emotional intimacy with my partner?"]
    got = [(text[p.start:p.end], p.section, p.question) for p in s.paragraphs]
    assert got == [
        (BODY, "", ""),
        ("It is the closeness that lets partners share feelings safely.", faq_heading,
         "What is emotional intimacy?"),
        ("Talk honestly, listen actively and spend quality time together.", faq_heading,
         "How can I build emotional intimacy with my partner?"),
    ]


def test_faq_numbered_questions():
    _faq_check(
        f"Intimacy Guide\n\n{BODY}\n\nFAQs\n\n"
        "  1. What is emotional intimacy?\n"
        "    It is the closeness that lets partners share feelings safely.\n"
        "  2. How can I build emotional intimacy with my partner?\n"
        "    Talk honestly, listen actively and spend quality time together.\n",
        "FAQs",
    )


def test_faq_q_and_a_markers():
    _faq_check(
        f"Intimacy Guide\n\n{BODY}\n\nFAQ\n\n"
        "Q: What is emotional intimacy?\nA: It is the closeness that lets partners share feelings safely.\n\n"
        "Q: How can I build emotional intimacy with my partner?\n"
        "A: Talk honestly, listen actively and spend quality time together.\n",
        "FAQ",
    )


def test_short_q_marked_question_is_a_question_not_a_heading():
    text = (f"Intimacy Guide\n\n{BODY}\n\n"
            "Q: How Do I Start?\nA: Start small, with one honest sentence a day.\n")
    s = parse(text, "faq.txt")
    assert s.headings == []
    assert [q.text for q in s.questions] == ["How Do I Start?"]
    assert [(text[p.start:p.end], p.question) for p in s.paragraphs][-1] == (
        "Start small, with one honest sentence a day.", "How Do I Start?")


def test_faq_bare_questions_under_an_faq_heading():
    _faq_check(
        f"Intimacy Guide\n\n{BODY}\n\nFrequently Asked Questions\n\n"
        "What is emotional intimacy?\nIt is the closeness that lets partners share feelings safely.\n\n"
        "How can I build emotional intimacy with my partner?\n"
        "Talk honestly, listen actively and spend quality time together.\n",
        "Frequently Asked Questions",
    )


def test_question_paragraph_outside_an_faq_is_body_text():
    question = "Have you ever known someone for decades and still felt that nobody knows you?"
    text = f"Intimacy Guide\n\n{question}\n\n{BODY}\n"
    s = parse(text, "x.txt")
    assert s.questions == []
    assert _paras(text, s) == [question, BODY]


# --- boilerplate ------------------------------------------------------------------------

FURNITURE = [
    "Back to top button", "Back to top", "Skip to content", "Skip to main content",
    "Liked by 1 person", "Liked by 12 people", "Like this:", "Like", "Like Loading...",
    "Loading...", "Share this:", "Share", "Click to share on Twitter (Opens in new window)",
    "Share on Facebook", "Leave a Reply Cancel reply", "Leave a comment", "Reply", "Related",
    "Related Posts", "You may also like", "Previous Post", "Next Post",
    "Next post: Why trust matters", "Posted in Relationships", "Posted on March 3, 2021",
    "Filed under: Love, Health", "Tags: love, trust, intimacy", "Subscribe to our newsletter",
    "© 2023 Love Media. All rights reserved.", "Copyright 2021 Some Blog", "All Rights Reserved",
    "This site uses cookies. By continuing to browse you agree to their use.", "Read more »",
    "Continue reading →", "Advertisement", "Report this ad", "Home » Relationships » Intimacy",
    "March 3, 2021 at 4:12 pm", "Facebook", "Pinterest", "Email", "Print", "Rate this:",
]

REAL_SENTENCES = [
    "Like many people, I hide my feelings.",
    "Share your feelings with your partner.",
    "Share this moment with someone you trust.",
    "Reply to messages with kindness, even when you are tired.",
    "Home is where we feel safe.",
    "Search for a partner who listens.",
    "Related to this is the fear of rejection.",
    "Loading the dishwasher together can be a small act of care.",
    "Next story I want to tell is about my grandmother.",
    "Posted in a letter, her apology arrived too late.",
    "Copyright laws aside, the poem says it best.",
    "Continue reading your partner’s face for small signs.",
    "Read more books about love.",
    "Advertisement culture sells us a fantasy of romance.",
    "Email your partner a kind note today.",
    "Tags are labels we give ourselves: shy, needy, cold.",
]


@pytest.mark.parametrize("line", FURNITURE)
def test_page_furniture_is_boilerplate(line):
    assert boilerplate.is_boilerplate(line)
    assert boilerplate.is_boilerplate(f"   {line}  ")


@pytest.mark.parametrize("line", REAL_SENTENCES)
def test_real_sentences_are_not_boilerplate(line):
    assert not boilerplate.is_boilerplate(line)
    assert not boilerplate.opens_comments(line)


@pytest.mark.parametrize("line", [
    "30 thoughts on “Emotional intimacy and why it is important”",
    "30 thoughts on “Emotional intimacy and why it is important",
    "One response to “Why love matters”",
    "2 replies to \"Trust\"", "12 Comments", "Comments", "Comments (4)", "Responses",
    "What readers are saying",
])
def test_comment_section_headings(line):
    assert boilerplate.opens_comments(line)


@pytest.mark.parametrize("line", [
    "Three thoughts on intimacy stayed with me after the workshop.",
    "Two responses to vulnerability are common: withdrawal and openness.",
    "One thought on love: it takes time.",
    "Comments from friends can hurt.",
    "response:", "Comments:", "comments", "replies:",  # a word ending in a colon before code, say
])
def test_sentences_do_not_open_the_comment_section(line):
    assert not boilerplate.opens_comments(line)


@pytest.mark.parametrize("label, nxt, expected", [
    ("Health", "Emotional Intimacy: Understanding the Hidden Connection", True),
    ("Life & Style", "Why Emotional Closeness Matters More Than Ever", True),
    ("Health", "Emotional intimacy is one of the most important foundations of a relationship.", False),
    ("Why We Hide Our Feelings", "What Closeness Really Means For Couples", False),
    ("Health.", "Emotional Intimacy: Understanding the Hidden Connection", False),
    ("Health", None, False),
])
def test_category_label_rule(label, nxt, expected):
    assert boilerplate.is_category_label(label, nxt, heading_like) is expected


def test_furniture_is_dropped_from_a_page_and_sentences_are_kept():
    lines = ["Skip to content", "Home » Relationships » Intimacy", "The Weight of Silence",
             "Posted on March 3, 2021"]
    for furniture, sentence in zip(FURNITURE, REAL_SENTENCES):
        lines += [sentence, furniture]
    text = "\n\n".join(lines) + "\n"
    s = parse(text, "page.txt")
    assert s.title == "The Weight of Silence"
    kept = " ".join(_paras(text, s))
    for sentence in REAL_SENTENCES:
        assert sentence in kept
    dropped = [span.text for span, why in s.dropped]
    for furniture in FURNITURE[: len(REAL_SENTENCES)]:
        assert furniture in dropped
    assert all(p.kind == "body" for p in s.paragraphs)


# --- comments ---------------------------------------------------------------------------

def test_comment_section_of_a_blog_page():
    text = (
        "Learning To Open Up\n\n"
        f"{BODY}\n\n"
        "Three thoughts on intimacy stayed with me after the workshop. They still do.\n\n"
        "The last paragraph of the essay is here.\n\n"
        "Share this:\n\nLike this:\n\nLike Loading...\n\n"
        "3 thoughts on “Learning To Open Up”\n\n"
        "  1. This spoke to me. I have hidden my feelings for years.\n\n"
        "    Liked by 2 people\n\n"
        "    Reply\n\n"
        "  2. Thank you for writing this.\n"
        "  3. I shared it with my husband and we talked all evening.\n\n"
        "Leave a Reply Cancel reply\n"
    )
    s = parse(text, "blog.txt")
    got = [(text[p.start:p.end], p.kind, p.section) for p in s.paragraphs]
    assert got == [
        (BODY, "body", ""),
        ("Three thoughts on intimacy stayed with me after the workshop. They still do.", "body", ""),
        ("The last paragraph of the essay is here.", "body", ""),
        ("This spoke to me. I have hidden my feelings for years.", "comment", "Comments"),
        ("Thank you for writing this.", "comment", "Comments"),
        ("I shared it with my husband and we talked all evening.", "comment", "Comments"),
    ]
    assert ("3 thoughts on “Learning To Open Up”", "comment section heading") in [
        (span.text, why) for span, why in s.dropped]


def test_heading_like_lines_in_comments_are_comments_not_sections():
    text = f"Title Here Now\n\n{BODY}\n\nComments\n\nGreat Post Jane\n\nI loved this one.\n"
    s = parse(text, "x.txt")
    assert s.headings == []
    assert [(text[p.start:p.end], p.kind) for p in s.paragraphs] == [
        (BODY, "body"), ("Great Post Jane", "comment"), ("I loved this one.", "comment")]


# --- paragraph styles, line endings, front matter ----------------------------------------

PARAS = [
    "Emotional closeness grows when both people feel safe. It takes time.",
    "Small gestures matter more than grand ones, and they add up over the years.",
    "When we hide our fears, our partner cannot meet us where we are.",
]


def test_blank_line_and_single_newline_paragraphs_agree():
    for sep in ("\n\n", "\n", "\n\n\n"):
        text = "A Title For This\n" + sep + sep.join(PARAS) + "\n"
        s = parse(text, "x.txt")
        assert s.title == "A Title For This"
        assert _paras(text, s) == PARAS, repr(sep)


def test_hard_wrapped_lines_are_joined_into_one_paragraph():
    wrapped = (
        "Emotional closeness grows when both people feel safe enough to say what\n"
        "they really think, and it takes time, patience and many small moments\n"
        "of honesty. Nobody builds it in a single evening.\n"
        "\n"
        "Small gestures matter more than grand ones, because they show that we\n"
        "notice each other every day.\n"
    )
    s = parse("On Closeness\n\n" + wrapped, "x.txt")
    text = "On Closeness\n\n" + wrapped
    paras = _paras(text, s)
    assert len(paras) == 2
    assert _norm(paras[0]) == _norm(wrapped.split("\n\n")[0])
    assert _norm(paras[1]) == _norm(wrapped.split("\n\n")[1])
    # hard-wrapped lines separated by single newlines only: still joined, paragraph by sentence end
    single = wrapped.replace("\n\n", "\n")
    s2 = parse("On Closeness\n" + single, "x.txt")
    assert [_norm(p) for p in _paras("On Closeness\n" + single, s2)] == [_norm(p) for p in paras]


def test_crlf_line_endings_keep_offsets_exact():
    lf = (
        "---\ntitle: Ignored\n---\n"
        "# A Title For This\n\n" + "\n\n".join(PARAS) + "\n\n## Later Part\n"
        "Wrapped lines of a paragraph that goes on\nacross two lines of text.\n"
    )
    crlf = lf.replace("\n", "\r\n")
    a, b = parse(lf, "x.md"), parse(crlf, "x.md")
    assert a.title == b.title == "A Title For This"
    assert [_norm(p) for p in _paras(lf, a)] == [_norm(p) for p in _paras(crlf, b)]
    assert [(p.section, p.number) for p in a.paragraphs] == [(p.section, p.number) for p in b.paragraphs]
    for p in b.paragraphs:
        chunk = crlf[p.start:p.end]
        assert chunk == chunk.strip()
        assert not chunk.endswith("\r")
    assert _paras(crlf, b)[:3] == PARAS


def test_front_matter_is_skipped():
    text = "---\ntitle: Closeness\ndate: 2021-05-01\ntags: [love, trust]\n---\n\n# Closeness\n\n" + PARAS[0] + "\n"
    s = parse(text, "x.md")
    assert s.title == "Closeness"
    assert _paras(text, s) == [PARAS[0]]
    assert all("title:" not in text[p.start:p.end] and "---" not in text[p.start:p.end]
               for p in s.paragraphs)


def test_a_rule_line_that_is_not_front_matter_is_not_swallowed():
    text = "A Title For This\n\n" + PARAS[0] + "\n\n---\n\n" + PARAS[1] + "\n"
    s = parse(text, "x.md")
    assert PARAS[0] in _paras(text, s) and PARAS[1] in _paras(text, s)


def test_list_items_are_separate_paragraphs_without_their_markers():
    lead = "There are many small ways to connect with a partner:"
    text = f"Ways To Connect Again\n\n{lead}\n\n- Ask open questions.\n- Listen without fixing.\n* Say thank you.\n"
    s = parse(text, "x.txt")
    assert s.title == "Ways To Connect Again"
    assert _paras(text, s) == [lead, "Ask open questions.", "Listen without fixing.", "Say thank you."]
