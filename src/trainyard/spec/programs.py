"""The programs a container or script template starts, so that lint can name one this machine
lacks before anything runs (a local step would otherwise fail with exit code 127 midway).

Only what is certain is reported: the command's program, and in a shell script (`sh -c TEXT`
or a `sh`/`bash` script template) the first word of each simple command, skipping keywords,
builtins, assignments, functions the script defines, words with `$`, quotes or `{{`, here-
documents and `case` patterns. A program given as a path (`./run.sh`, `/opt/x/bin/y`) is
left to run time, since it may be made by an earlier step or be inside the image.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

SHELLS = frozenset({"sh", "bash", "dash", "ash", "zsh", "ksh"})
_KEYWORDS = """
    if then else elif fi for while until do done case esac in function select time ! { } [[ ]]
    export set unset local read exit return shift cd trap wait source . eval exec : break
    continue let declare typeset readonly umask ulimit type command printf echo test [ true
    false pwd kill alias unalias getopts hash jobs fg bg disown builtin enable logout times
    mapfile readarray pushd popd dirs shopt suspend compgen complete history fc
"""
KEYWORDS = frozenset(_KEYWORDS.split())
"""Shell keywords and builtins: never programs to look for."""

_SEPARATOR = re.compile(r"\$\(|`|&&|\|\||;;|[;&|()\n]")
_NAME = re.compile(r"[A-Za-z_][\w.+-]*")
_FUNCTION = re.compile(r"(?:^|[\s;{])(?:function\s+)?([A-Za-z_][\w-]*)\s*\(\s*\)")
_HEREDOC = re.compile(r"<<-?\s*['\"]?(\w+)['\"]?")
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")
_TAG = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_QUOTED = re.compile(r"'[^']*'|\"(?:\\.|[^\"\\])*\"")


def started_programs(body: dict[str, Any], script: bool) -> Iterator[str]:
    """Bare program names (no `/`) that the container or script body `body` starts."""
    command = [str(word) for word in body.get("command") or []]
    if not command:
        return
    program = command[0]
    if "/" not in program and _NAME.fullmatch(program) and "{{" not in program:
        yield program
    name = program.rsplit("/", 1)[-1]
    if name not in SHELLS:
        return
    args = [str(word) for word in body.get("args") or []]
    text = str(body.get("source") or "") if script else _dash_c_text(command[1:] + args)
    yield from shell_programs(text)


def _dash_c_text(words: list[str]) -> str:
    """The script of `sh [-e...] -c TEXT ...`, or "" when the shell reads a file or stdin."""
    for index, word in enumerate(words):
        if word.startswith("-") and not word.startswith("--") and word.endswith("c"):
            return words[index + 1] if index + 1 < len(words) else ""
        if not word.startswith("-"):
            return ""
    return ""


def shell_programs(text: str) -> Iterator[str]:
    """The first words of the simple commands of a shell script that are certainly programs."""
    functions = set(_FUNCTION.findall(text))
    seen: set[str] = set()
    in_case = 0
    untagged = _TAG.sub("$ARGO", text)  # Argo's tags become values, whatever is inside
    unquoted = _QUOTED.sub("''", _without_heredocs(untagged))  # quoted text is data here
    for part in _SEPARATOR.split(unquoted):
        words = [w for w in part.split() if not _ASSIGNMENT.match(w)]
        if words and words[0] == "case":
            in_case += 1
        if in_case and "esac" in words:
            in_case -= 1
        while words and words[0] in ("then", "do", "else", "if", "elif", "while", "until", "!"):
            words = words[1:]
        if not words or in_case:
            continue  # in a `case`, words before `)` are patterns
        first = words[0]
        if first.startswith("#"):
            continue
        if first in KEYWORDS or first in functions or first in seen:
            continue
        if _NAME.fullmatch(first) and "{{" not in first:
            seen.add(first)
            yield first


def _without_heredocs(text: str) -> str:
    """`text` without the bodies of its here-documents (they are data, not commands)."""
    kept: list[str] = []
    terminator: str | None = None
    for line in text.splitlines():
        if terminator is not None:
            if line.strip() == terminator:
                terminator = None
            continue
        kept.append(line.split(" #", 1)[0] if not line.lstrip().startswith("#") else "")
        match = _HEREDOC.search(line)
        if match:
            terminator = match.group(1)
    return "\n".join(kept)
