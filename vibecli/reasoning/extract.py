"""Final-answer extraction from the answer part of a response.

Math: the last `\\boxed{}` (or `\\fbox{}`), nested braces included, else a final-answer line.
Code: the last fenced block. Multiple choice: the chosen letter.
"""

from __future__ import annotations

import re

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_FENCE = re.compile(r"```[ \t]*([\w+-]*)[^\n]*\n(.*?)```", re.DOTALL)
_FINAL_LINE = re.compile(
    r"(?:final answer|the answer is|answer)\s*(?:is)?\s*[:：]?\s*\**\s*[:：]?\s*(.+)",
    re.IGNORECASE,
)
_INLINE_MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|\\\((.+?)\\\)|\$([^$]+?)\$", re.DOTALL)
_BOLD = re.compile(r"\*\*([^*]+?)\*\*")
_CHOICE = re.compile(r"(?:^|[^A-Za-z])\(?([A-J])\)?(?:$|[^A-Za-z])")


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{…}` or `\\fbox{…}` in `text`, braces balanced.

    Also reads the brace-less form `\\boxed 5`. Returns None when there is none, or the
    last one is never closed.
    """
    starts = [(text.rfind(cmd), cmd) for cmd in _BOX_COMMANDS]
    start, cmd = max(starts)
    if start < 0:
        return None
    i = start + len(cmd)
    while i < len(text) and text[i] == " ":
        i += 1
    if i < len(text) and text[i] != "{":
        match = re.match(r"[^\s$]+", text[i:])
        return match.group(0) if match else None
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "{" and (j == 0 or text[j - 1] != "\\"):
            depth += 1
        elif text[j] == "}" and text[j - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def final_answer_line(text: str) -> str | None:
    """The answer stated on the last `Final answer: …` / `The answer is …` line."""
    for line in reversed(text.strip().splitlines()):
        match = _FINAL_LINE.search(line.strip())
        if match:
            answer = match.group(1).strip().strip("*").strip().rstrip(".").strip()
            answer = answer.strip("$").strip()
            if answer:
                return answer
    return None


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
    boxed = last_boxed(answer_text)
    if boxed is not None:
        return boxed
    line = final_answer_line(answer_text)
    if line is not None or answer_format == "boxed":
        return line
    stripped = answer_text.strip()
    return stripped or None


def response_answer(text: str) -> str:
    """The answer a full response commits to, for grading.

    In order: the last `\\boxed{}` after `</think>`, the last `$…$` / `\\(…\\)` / `\\[…\\]`, a
    final-answer line, the last bold span, else the text itself (its last line if it has many).
    """
    if "</think>" in text:
        text = text.rsplit("</think>", 1)[1]
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    line = final_answer_line(text)
    if line is not None:
        return line
    spans = [next(g for g in m.groups() if g is not None) for m in _INLINE_MATH.finditer(text)]
    if spans:
        return spans[-1].strip()
    bold = _BOLD.findall(text)
    if bold:
        return str(bold[-1]).strip()
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
