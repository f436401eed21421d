"""Final-answer extraction: what a response (or a worked solution used as gold) commits to.

Math: after `</think>` only, the last answer statement wins. A statement is a group of
`\\boxed{}` (several boxes with only punctuation or a short "and"/"or" between them are one
list answer), or a phrase: "Final Answer: The final answer is $X$. I hope it is correct.",
"the answer is X", "The largest $n$ is 34." Without any, the concluding sentence is read.
Code: the last fenced block. Multiple choice: the chosen letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vibecli.verify.normalize import escaped

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_BOX = re.compile(r"\\(?:boxed|fbox)\b\s*")
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_PHRASE = re.compile(
    r"\bfinal answer\b(?:\s*\*\*)?(?:\s*(?:is|:|：|=))?"
    r"|\b(?:the )?(?:final )?answer (?:is|would be|should be)\b\s*:?"
    r"|(?:^|\n|\*\*)[ \t]*answer\s*(?:\*\*)?\s*[:：]",
    re.IGNORECASE,
)
_INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|(?<!\\)\$([^$]+?)(?<!\\)\$", re.DOTALL)
_BOLD = re.compile(r"\*\*([^*]+?)\*\*")
_CHOICE = re.compile(r"(?:^|[^A-Za-z])\(?([A-J])\)?(?:$|[^A-Za-z])")
_TRAILERS = re.compile(r"<\|im_start\|>|<\|im_end\|>|<\|endoftext\|>")
_HOPE = re.compile(r"\bI hope (?:it|this) is correct\.?", re.IGNORECASE)
_WORD = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}")
_NUMBER = re.compile(r"(?<![\w.^_\\])-?\d+(?:[.,]\d+)*%?")
_NOT_PROSE = frozenset(("and", "or", "pi"))
_MATH_CALL = re.compile(r"(?:sqrt|sin|cos|tan|log|ln|exp|abs|Abs|factorial|binomial)\(")
_COPULA = re.compile(r"\b(?:is|are|equals|was|be)\b|=", re.IGNORECASE)
_NEGATION = re.compile(r"\b(?:not|never|no|cannot|isn't|aren't|wasn't|n't)\b", re.IGNORECASE)
# `\!` is a LaTeX space and `(10^{9})! + 1` a factorial, neither the end of a sentence.
_SENTENCE_END = re.compile(r"(?:(?<!\b[A-J])\.|\?|(?<![\\)}\d\s])!)(?=\s|$)|\n")  # `C. x = 42`: a choice


@dataclass(frozen=True)
class _Statement:
    start: int
    answer: str


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{…}` or `\\fbox{…}` in `text`, braces balanced.

    Also reads the brace-less form `\\boxed 5`. Returns None when there is none, or the
    last one is never closed.
    """
    boxes = _boxes(text)
    if not boxes or not boxes[-1][2]:
        return None
    return boxes[-1][1]


def _boxes(text: str) -> list[tuple[int, str, bool, int]]:
    """Every box as (start, content, closed, end)."""
    found = []
    for match in _BOX.finditer(text):
        i = match.end()
        if i < len(text) and text[i] != "{":
            bare = re.match(r"[^\s$]+", text[i:])
            if bare and match.group().endswith((" ", "\t")):
                found.append((match.start(), bare.group(0), True, i + bare.end()))
            continue
        depth = 0
        for j in range(i, len(text)):
            if text[j] in "{}" and escaped(text, j):
                continue
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                found.append((match.start(), text[i + 1 : j].strip(), True, j + 1))
                break
        else:
            found.append(
                (match.start(), text[i + 1 :].strip().rstrip("$").removesuffix("\\]").strip(), False, len(text))
            )
    return found


def _joinable(between: str) -> bool:
    """Boxes separated by this text form one answer: `, `, ` and `, `\\quad \\text{or} \\quad`."""
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", re.sub(r"\\[A-Za-z]+", " ", between))]
    return not words or (bool({"and", "or"} & set(words)) and len(words) <= 5)


def _box_statements(text: str) -> list[_Statement]:
    groups: list[tuple[int, list[str], int]] = []
    for start, content, _, end in _boxes(text):
        if groups and _joinable(text[groups[-1][2] : start]):
            groups[-1][1].append(content)
            groups[-1] = (groups[-1][0], groups[-1][1], end)
        else:
            groups.append((start, [content], end))
    return [_Statement(start, ", ".join(contents)) for start, contents, _ in groups]


def _phrase_statements(text: str) -> list[_Statement]:
    found = []
    for match in _PHRASE.finditer(text):
        rest = text[match.end() :].lstrip(" \t*:：")
        end = _SENTENCE_END.search(_mask_math(rest))
        sentence = rest[: end.start()] if end else rest
        span = _INLINE_MATH.match(sentence)
        if span and _prose_words(_mask_math(sentence[span.end() :])):
            # "The final answer is $x = 5$, so the total is 10": the statement is the math.
            answer: str | None = _inside(span).strip()
        else:
            answer = sentence_answer(sentence)
        if answer:
            found.append(_Statement(match.start(), answer))
    return found


def _inside(span: re.Match[str]) -> str:
    """The mathematics inside a `$…$`, `$$…$$`, `\\(…\\)` or `\\[…\\]` span."""
    return next(group for group in span.groups() if group is not None)


def _last_math(text: str) -> str | None:
    spans = list(_INLINE_MATH.finditer(text))
    return _inside(spans[-1]).strip() if spans else None


def _strip_math(text: str) -> str:
    text = _INLINE_MATH.sub(_inside, text).strip()
    bold = re.fullmatch(r"\*\*(.+)\*\*", text, re.DOTALL)
    return (bold.group(1) if bold else text).strip()


def _mask_math(text: str) -> str:
    """Math spans blanked out, same length, so positions still line up with `text`."""
    return _INLINE_MATH.sub(lambda m: "\0" * len(m.group()), text)


def _prose_words(masked: str) -> list[str]:
    words = _WORD.findall(re.sub(r"\\text\{[^{}]*\}", " ", masked))
    # `sqrt(2)` is mathematics written in plain text, not prose.
    return [
        word for word in words if word.lower() not in _NOT_PROSE and not _MATH_CALL.match(masked, masked.find(word))
    ]


def sentence_answer(sentence: str) -> str | None:
    """The answer a sentence states: all of it when it is mathematics, else what follows its
    last "is"/"are"/"=", else its last math span, else its only number."""
    sentence = sentence.strip().rstrip(".").strip()
    masked = _mask_math(sentence)
    if not _prose_words(masked):
        return _strip_math(sentence) or None
    if _NEGATION.search(masked):
        return None  # "the answer is not 5" states no answer
    copulas = list(_COPULA.finditer(masked))
    if copulas:
        tail = sentence[copulas[-1].end() :]
        answer = sentence_answer(tail) if tail.strip() else None
        if answer:
            return answer
    numbers = _NUMBER.findall(masked)
    return _last_math(sentence) or (numbers[0] if len(numbers) == 1 else None)


def _answer_part(text: str) -> str:
    """After the thinking, before any chat-template trailer; "I hope it is correct" removed."""
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    elif "<think>" in text:
        return ""  # the thinking never finished: no answer was given
    trailer = _TRAILERS.search(text)
    if trailer:
        text = text[: trailer.start()]
    return _HOPE.sub("", text)


def answer_statement(text: str) -> str | None:
    """The last answer statement in `text` (box group or phrase), or None."""
    statements = _box_statements(text) + _phrase_statements(text)
    return max(statements, key=lambda s: s.start).answer if statements else None


def final_answer_line(text: str) -> str | None:
    """The answer stated by the last `Final answer: …` / `The answer is …` phrase."""
    statements = _phrase_statements(text)
    return statements[-1].answer if statements else None


def last_code_block(text: str) -> str | None:
    """The body of the last fenced code block, the way LiveCodeBench extracts solutions."""
    blocks = _FENCE.findall(text)
    return blocks[-1][1] if blocks else None


def choice_letter(text: str) -> str | None:
    """The multiple-choice letter: boxed, on a final-answer line, or a lone letter."""
    for candidate in (last_boxed(text), final_answer_line(text), text.strip()):
        if candidate:
            cleaned = re.sub(r"\\text\{([^}]*)\}", r"\1", candidate).strip()
            match = _CHOICE.fullmatch(cleaned) or _CHOICE.match(cleaned)
            if match and len(cleaned) <= 4:
                return match.group(1)
    return None


def extract_answer(answer_text: str, answer_format: str) -> str | None:
    """The final answer in `answer_text` for a template's `answer_format`.

    Args:
        answer_text: the part of the response after the thinking.
        answer_format: `boxed`, `code`, `choice` or `text`.
    """
    if answer_format == "code":
        return last_code_block(answer_text)
    if answer_format == "choice":
        return choice_letter(answer_text)
    statement = answer_statement(answer_text)
    if statement is not None or answer_format == "boxed":
        return statement
    stripped = answer_text.strip()
    return stripped or None


def _last_sentence(text: str) -> str:
    text = text.rstrip().rstrip(".")
    ends = [m.end() for m in _SENTENCE_END.finditer(_mask_math(text))]
    ends += [m.end() for m in _INLINE_MATH.finditer(text) if m.group().startswith(("$$", "\\["))]  # display math
    ends.sort()
    return text[ends[-1] if ends else 0 :].strip()


def response_answer(text: str) -> str:
    """The answer a full response, or a worked solution used as gold, commits to.

    In order: the last answer statement after `</think>`; the whole text when it is one short
    line; the concluding sentence; the last `$…$`; the last bold span; the last line.
    """
    text = _answer_part(text)
    statement = answer_statement(text)
    if statement is not None:
        return statement
    stripped = text.strip()
    line = stripped.removesuffix(".")  # one line with a closing period is still one answer
    if "\n" not in line and len(line) <= 200 and not _SENTENCE_END.search(_mask_math(line)):
        stripped = line
        # One short line: the answer itself, unless it is a sentence that states one.
        if len(_prose_words(_mask_math(stripped))) <= 2:
            return _strip_math(stripped)
        return sentence_answer(stripped) or _strip_math(stripped)
    bold = _BOLD.findall(stripped)
    found = sentence_answer(_last_sentence(stripped)) or _last_math(stripped) or (bold[-1].strip() if bold else None)
    if found:
        return str(found)
    lines = [line for line in stripped.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
