"""The password policy: long enough, not the username, not a common password. Pure rules,
no Flask: the forms, the command line and the views all call `password_problems`."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from workflows.i18n import N_

MIN_LENGTH = 10
MAX_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")

TOO_SHORT = N_("The password must have at least %(min)d characters.")
TOO_LONG = N_("The password may have at most %(max)d characters.")
IS_USERNAME = N_("The password must not be the username or little more than it.")
IS_COMMON = N_("This password is one of the most common ones; choose another.")
ONE_CHARACTER = N_("The password must not be one character repeated.")


class PasswordProblem(str):
    """A message (marked with N_) and its parameters, translated where it is shown."""

    params: dict[str, int]

    def __new__(cls, message: str, **params: int) -> PasswordProblem:
        problem = super().__new__(cls, message)
        problem.params = params
        return problem

    def english(self) -> str:
        return str(self) % self.params if self.params else str(self)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _folded(text: str) -> str:
    return "".join(text.split()).casefold()


def password_problems(password: str, username: str = "", *, min_length: int = MIN_LENGTH) -> list[PasswordProblem]:
    """What is wrong with `password` for the account `username` (empty when it is acceptable)."""
    problems: list[PasswordProblem] = []
    if len(password) < min_length:
        problems.append(PasswordProblem(TOO_SHORT, min=min_length))
    if len(password) > MAX_LENGTH:
        problems.append(PasswordProblem(TOO_LONG, max=MAX_LENGTH))
    folded = _folded(password)
    name = _folded(username)
    if name:
        # The username (or it backwards) with a few digits or signs around it is the username.
        rest = folded.replace(name, "").replace(name[::-1], "")
        if rest != folded and sum(ch.isalpha() for ch in rest) < 4:
            problems.append(PasswordProblem(IS_USERNAME))
    if folded and len(set(folded)) == 1:
        problems.append(PasswordProblem(ONE_CHARACTER))
    if password.strip().lower() in common_passwords() or folded in common_passwords():
        problems.append(PasswordProblem(IS_COMMON))
    return problems
