"""Build Directord built-in job strings that survive Directord's parser.

Directord 0.12.0 splits a job string with str.split() (runs of whitespace
collapse, inside quotes too) and gives every token that equals one of the
component's flags to argparse, wherever it stands (directord.md). A value
goes inline only when that round trip gives it back unchanged; otherwise the
caller must use another form (the TASK component carries text in `vars`).
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from .model import Job

# Flags of Directord 0.12.0's components (directord/components/builtin_*.py).
COMMON_FLAGS = frozenset({"--exec-help", "--skip-cache", "--run-once", "--timeout",
                          "--force-lock", "--stdout-arg", "--stderr-arg"})
VERB_FLAGS = {
    "RUN": COMMON_FLAGS | {"--no-block", "--retry"},
    "COPY": COMMON_FLAGS | {"--chown", "--chmod", "--blueprint"},
    "ADD": COMMON_FLAGS | {"--chown", "--chmod", "--blueprint"},
    "WORKDIR": COMMON_FLAGS | {"--chown", "--chmod"},
    "DNF": COMMON_FLAGS | {"--clear-metadata", "--exclude", "--latest", "--absent", "--retry"},
    "SERVICE": COMMON_FLAGS | {"--reloaded", "--restarted", "--stopped", "--daemon-reload",
                               "--enable", "--disable", "--mask", "--unmask", "--no-block"},
}

# Where the runtime keeps staged files and scripts on a node.
NODE_STAGE_DIR = "/var/lib/tripleo-migrate/stage"

_SHELL_SAFE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def survives_split(text: str, verb: str) -> bool:
    """True when Directord's tokenizer hands `text` back unchanged."""
    if not text or text != " ".join(text.split()):
        return False
    flags = VERB_FLAGS.get(verb, COMMON_FLAGS)
    for token in text.split(" "):
        if token == "--" or token in flags:
            return False
        if token.startswith("--") and token.split("=", 1)[0] in flags:
            return False
    return True


def inline_command(command: str) -> str | None:
    """The RUN value for a shell command, or None if it cannot go inline."""
    return command if survives_split(command, "RUN") else None


def argv_to_shell(argv: list[str]) -> str | None:
    """Quote an argv so /bin/sh gives back exactly that argv."""
    if not argv:
        return None
    return " ".join(shlex.quote(a) for a in argv)


def shell_word(value: str) -> str:
    return value if _SHELL_SAFE.match(value) else shlex.quote(value)


def octal_mode(mode: Any) -> str | None:
    """Ansible's mode as Directord's --chmod wants it, or None.

    YAML 1.1 reads `mode: 0644` as 420, and Ansible takes an int as the
    number itself (so `mode: 644`, decimal, is 0o1204, as in Ansible).
    Symbolic modes and templated modes return None.
    """
    if isinstance(mode, bool):
        return None
    if isinstance(mode, int):
        return f"0{mode:o}" if 0 <= mode <= 0o7777 else None
    if isinstance(mode, str) and re.fullmatch(r"0?[0-7]{3,4}", mode):
        value = int(mode, 8)
        return f"0{value:o}" if value <= 0o7777 else None
    return None


def path_token(path: str) -> str | None:
    """A path as one COPY/ADD/WORKDIR token, or None if it cannot be one.

    COPY and ADD read their two paths back with shlex.split (quotes and
    backslashes are taken as shell quoting), so a token must be one shell word
    that means itself.
    """
    if not path or not survives_split(path, "COPY") or " " in path or path.startswith("-"):
        return None
    try:
        if shlex.split(path) != [path]:
            return None
    except ValueError:  # an unbalanced quote
        return None
    return path


def source_token(path: str) -> str | None:
    """A COPY/ADD source path as a token: Directord also globs it and expands a
    leading `~` where `orchestrate` runs, so it must hold neither."""
    token = path_token(path)
    if token is None or token.startswith("~") or any(c in token for c in "*?["):
        return None
    return token


def job(verb: str, *parts: str, vars: dict | None = None) -> Job:
    return Job(verb, " ".join(p for p in parts if p), vars=vars)
