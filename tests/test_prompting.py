"""Templates (bundled, user overrides, validation) and `--mode auto` routing."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibecli.prompting.routing import route
from vibecli.prompting.templates import TemplateError, load_templates, parse_template
from vibecli.reasoning.solve import select_template

OFFICIAL_MATH_SUFFIX = " Let's think step by step and output the final answer within \\boxed{}."


def test_bundled_templates_load_with_the_official_math_suffix() -> None:
    templates = load_templates()
    assert {"math", "code", "stem", "logic"} <= set(templates)
    assert templates["math"].render("What is 1 + 1?") == "What is 1 + 1?" + OFFICIAL_MATH_SUFFIX
    assert templates["math"].sampling["temperature"] == 1.0
    assert templates["code"].sampling["temperature"] == 0.6
    assert templates["code"].answer_format == "code"


def test_code_template_uses_starter_code_when_given() -> None:
    code = load_templates()["code"]
    assert "Read the inputs from stdin" in code.render("Sum two ints.")
    with_starter = code.render("Sum two ints.", starter_code="class Solution:\n    def f(self): ...")
    assert "class Solution:" in with_starter and "stdin" not in with_starter


def test_user_template_overrides_and_adds(tmp_path: Path) -> None:
    user = tmp_path / "prompts"
    user.mkdir()
    (user / "math.yaml").write_text("name: math\ndescription: mine\ntemplate: 'Q: $problem'\n")
    (user / "proof.yaml").write_text("name: proof\ndescription: proofs\ntemplate: 'Prove: $problem'\n")
    from vibecli.paths import bundled_prompts_dir

    templates = load_templates([bundled_prompts_dir(), user])
    assert templates["math"].render("x") == "Q: x"
    assert templates["proof"].render("x") == "Prove: x"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"name": "a", "description": "d", "template": "$problem", "colour": "red"}, "unknown key 'colour'"),
        ({"name": "a", "description": "d", "template": "$problem $answer"}, "unknown variable '$answer'"),
        ({"name": "a", "description": "d", "template": "no variable"}, "must use $problem"),
        ({"name": "a", "template": "$problem"}, "'description' is required"),
        ({"name": "a", "description": "d", "template": "$problem", "answer_format": "essay"}, "answer_format"),
        ({"name": "a", "description": "d", "template": "$problem", "sampling": {"temp": 1}}, "sampling takes only"),
    ],
)
def test_invalid_templates_are_one_clear_error(raw: dict[str, object], message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("$", r"\$")):
        parse_template(raw, "t.yaml")


def test_invalid_yaml_file_is_set_aside_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    (tmp_path / "proof.yaml").write_text("name: proof\ndescription: d\ntemplate: Prove $problem\ncolour: red\n")
    (tmp_path / "ok.yaml").write_text("name: ok\ndescription: d\ntemplate: $problem\n")
    templates = load_templates([tmp_path])
    assert list(templates) == ["ok"] and set(templates.invalid) == {"bad", "proof"}
    assert [line.split(":")[0] for line in templates.warnings()] == [
        str(tmp_path / "bad.yaml"),
        str(tmp_path / "proof.yaml"),
    ]
    templates.require("ok")
    with pytest.raises(TemplateError, match=r"bad\.yaml: not valid YAML"):
        templates.require("bad")
    with pytest.raises(TemplateError, match=r"proof\.yaml: unknown key 'colour'"):
        templates.require("proof")


@pytest.mark.parametrize(
    ("problem", "mode"),
    [
        ("What is 48 + 37?", "math"),
        ("Find all real x such that x^2 - 5x + 6 = 0.", "math"),
        ("How many positive divisors does 2024 have?", "math"),
        ("Write a Python program that reads n from stdin and prints n!.", "code"),
        ("Given an array of integers nums, return the length of the longest increasing subsequence.", "code"),
        ("```python\ndef f(x): ...\n```\nFix this.", "code"),
        ("A 2 kg block slides with velocity 3 m/s. What is its kinetic energy?", "stem"),
        ("Which gas is produced?\nA. O2\nB. H2\nC. N2\nD. CO2", "stem"),
        ("On an island, knights always tell the truth and knaves always lie. A says B is a knave.", "logic"),
    ],
)
def test_auto_routing(problem: str, mode: str) -> None:
    assert route(problem) == mode


def test_unknown_mode_lists_the_available_ones() -> None:
    from vibecli.errors import UsageError

    with pytest.raises(UsageError, match=r"unknown mode 'poetry'.*math"):
        select_template("poetry", "x", load_templates())
