"""What a common Jinja string refers to, without Jinja's lexer and parser.

Jinja's parser costs about a tenth of a millisecond a string, and a conversion
checks a thousand: a tenth of its time. Most of those strings are prints and
conditions made of names, literals, filters, tests, calls and operators. This
module reads exactly that subset with the same grammar as jinja2/parser.py
(the functions below mirror its parse_* functions) and gives up, returning None,
on anything else: blocks, comments, whitespace control, backslashes in strings,
slices, `*args`, test arguments without parentheses, numbers in other forms,
non-ASCII names. Giving up only costs the real parser's time, so when in doubt it
gives up; tests/test_jinja.py holds every answer equal to the real parser's.

Template files get the same reader plus the statements they mostly use
(template_parses): it only says whether Jinja's parser would accept the file, and
says so only when sure; tests hold that it never accepts what Jinja refuses.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<float>\d+\.\d+)(?![\w.])
  | (?P<integer>0|[1-9][0-9]*)(?![\w.])
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)(?![^\x00-\x7f])
  | (?P<string>'[^'\\]*'|"[^"\\]*")
  | (?P<op>//|\*\*|==|!=|<=|>=|[-+*/%~<>|.,:()\[\]{}=])
""", re.VERBOSE)
_OPEN, _CLOSE = "([{", ")]}"
_CONSTANTS = frozenset(("true", "false", "True", "False", "none", "None"))
# names the grammar gives a meaning: as an operand they are the real parser's business
_KEYWORDS = frozenset(("and", "or", "not", "in", "is", "if", "else"))
_COMPARE = frozenset(("==", "!=", "<", "<=", ">", ">="))
END = ("end", "}}")


class _GiveUp(Exception):
    pass


def analyze(text: str) -> tuple[set, set, set, set] | None:
    """(variables, filters, tests, calls) of a template string, or None."""
    tokens = _tokens(text)
    if tokens is None:
        return None
    reader = _Reader(tokens)
    try:
        while reader.tokens[reader.pos][0] != "eof":
            reader.expect("begin")
            reader.parse_tuple()
            reader.expect("end")
    except (_GiveUp, IndexError):
        return None
    return reader.variables, reader.filters, reader.tests, reader.calls


def template_parses(text: str) -> bool:
    """True when a template file is one Jinja's parser reads without error (prints, comments,
    if/elif/else, for/else, set, include, whitespace control); False when this reader cannot
    tell, never because the template is wrong: the caller then asks Jinja."""
    tokens = _tokens(text, template=True)
    if tokens is None:
        return False
    try:
        _Reader(tokens).template()
    except (_GiveUp, IndexError):
        return False
    return True


def _tokens(text: str, template: bool = False) -> list[tuple[str, str]] | None:
    """The tokens of the prints in `text` (text between them is data), or None.

    template: also statements (`{% %}`), comments (skipped) and whitespace control,
    as jinja2/lexer.py reads a template file."""
    out: list[tuple[str, str]] = []
    pos = 0
    while True:
        start = text.find("{", pos)
        while start != -1 and text[start + 1:start + 2] not in ("{", "%", "#"):
            start = text.find("{", start + 1)
        if start == -1:
            out.append(("eof", ""))
            return out
        kind, control = text[start + 1], text[start + 2:start + 3] in ("-", "+")
        if not template and (kind != "{" or control):
            return None  # a block, a comment, whitespace control
        pos = start + 2 + control
        if kind == "#":  # a comment ends at the first #}
            end = text.find("#}", pos)
            if end == -1:
                return None
            pos = end + 2
            continue
        close = "}}" if kind == "{" else "%}"
        out.append(("begin", "{" + kind))
        depth = 0
        while True:
            if depth == 0:  # jinja2's lexer tries the end of the tag first, outside brackets only
                if text.startswith(close, pos):
                    pos += 2
                    break
                if template and (text.startswith("-" + close, pos) or kind == "%" and text.startswith("+%}", pos)):
                    pos += 3
                    break
            match = _TOKEN.match(text, pos)
            if match is None:
                return None
            kind_, value = match.lastgroup, match.group()
            pos = match.end()
            if kind_ == "ws":
                continue
            if kind_ == "op":
                if value in _OPEN:
                    depth += 1
                elif value in _CLOSE:
                    depth -= 1
                    if depth < 0:
                        return None
            out.append((kind_, value))
        out.append(("end", close))


class _Reader:
    """jinja2.parser.Parser's expression grammar over the tokens above."""

    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens = tokens
        self.pos = 0
        self.variables: set[str] = set()
        self.filters: set[str] = set()
        self.tests: set[str] = set()
        self.calls: set[str] = set()

    # -- tokens
    @property
    def current(self) -> tuple[str, str]:
        return self.tokens[self.pos]

    def at(self, kind: str, value: str | None = None) -> bool:
        token = self.tokens[self.pos]
        return token[0] == kind and (value is None or token[1] == value)

    def op(self, value: str) -> bool:
        return self.at("op", value)

    def word(self, value: str) -> bool:
        return self.at("name", value)

    def skip(self, kind: str, value: str | None = None) -> bool:
        if self.at(kind, value):
            self.pos += 1
            return True
        return False

    def expect(self, kind: str, value: str | None = None) -> str:
        if not self.at(kind, value):
            raise _GiveUp
        self.pos += 1
        return self.tokens[self.pos - 1][1]

    # -- a template's statements (jinja2/parser.py: subparse, parse_statement and the
    # parse_if/for/set/include it calls); `awaited` holds the innermost open statement's
    # end tags, which subparse looks for before anything else.
    def template(self) -> None:
        open_: list[tuple[str, ...]] = []
        while not self.at("eof"):
            if self.skip("begin", "{{"):
                self.parse_tuple()
                self.expect("end", "}}")
                continue
            self.expect("begin", "{%")
            tag = self.expect("name")
            awaited = open_[-1] if open_ else ()
            if tag in awaited:
                if tag in ("endif", "endfor", "endset"):
                    open_.pop()
                elif tag == "elif":
                    self.parse_tuple(condexpr=False)
                    self.body()
                else:  # else: only the end tag may follow
                    open_[-1] = ("endif",) if "endif" in awaited else ("endfor",)
                    self.body()
                    continue
            elif tag == "if":
                self.parse_tuple(condexpr=False)
                self.body()
                open_.append(("elif", "else", "endif"))
                continue
            elif tag == "for":
                self.parse_for()
                self.body()
                open_.append(("endfor", "else"))
                continue
            elif tag == "set":
                if self.parse_set():
                    self.body()
                    open_.append(("endset",))
                    continue
            elif tag == "include":
                self.parse_expression()
                if self.word("ignore") and self.tokens[self.pos + 1] == ("name", "missing"):
                    self.pos += 2
                if (self.word("with") or self.word("without")) and self.tokens[self.pos + 1] == ("name", "context"):
                    self.pos += 2
            else:
                raise _GiveUp  # another statement, or an end tag that is not the awaited one
            if tag not in ("elif",):
                self.expect("end", "%}")
        if open_:
            raise _GiveUp  # the template ends inside a statement

    def body(self) -> None:
        """parse_statements: an optional colon, then the end of the tag."""
        self.skip("op", ":")
        self.expect("end", "%}")

    def parse_for(self) -> None:
        self.assign_target()
        self.expect("name", "in")
        self.parse_tuple(condexpr=False)
        if self.skip("name", "if"):
            self.parse_expression()
        self.skip("name", "recursive")

    def parse_set(self) -> bool:
        """`set target = value` (False), or the head of a block set (True)."""
        if self.at("name") and self.tokens[self.pos + 1] == ("op", "."):  # a namespace attribute
            self.pos += 2
            self.expect("name")
        else:
            self.assign_target()
        if self.skip("op", "="):
            self.parse_tuple()
            return False
        if self.op("|"):
            raise _GiveUp  # a filtered block set
        return True

    def assign_target(self) -> None:
        """parse_assign_target: names, or a tuple of names (not constants); else give up.
        (Its extra end rules, `in` after a for's names, never match in Jinja 3.1: test_any
        gets them as one tuple; `for a, in b` is an error there.)"""
        names = 0
        while True:
            if names:
                self.expect("op", ",")
            if self.at("end") or self.op(")"):
                break
            kind, value = self.current
            if kind != "name" or value in _KEYWORDS or value in _CONSTANTS:
                raise _GiveUp
            self.pos += 1
            names += 1
            if not self.op(","):
                break
        if not names:
            raise _GiveUp

    # -- the grammar (jinja2/parser.py). Each parse_* returns the name when the
    # node it read is a bare variable (a call of it is a call of a global), else None.
    def parse_tuple(self, explicit_parentheses: bool = False, condexpr: bool = True) -> str | None:
        node = None
        args = 0
        is_tuple = False
        while True:
            if args:
                self.expect("op", ",")
            if self.at("end") or self.op(")"):
                break
            node = self.parse_expression() if condexpr else self.parse_or()
            args += 1
            if self.op(","):
                is_tuple = True
            else:
                break
        if is_tuple or not args:
            if not args and not explicit_parentheses:
                raise _GiveUp  # "Expected an expression"
            return None
        return node

    def parse_expression(self) -> str | None:
        node = self.parse_or()
        while self.skip("name", "if"):
            node = None
            self.parse_or()
            if self.skip("name", "else"):
                self.parse_expression()
        return node

    def chain(self, operand, *operators: tuple[str, str]) -> str | None:
        """operand (operator operand)*: one level of binary operators, left to right."""
        node = operand()
        while self.tokens[self.pos] in operators:
            self.pos += 1
            node = None
            operand()
        return node

    def parse_or(self) -> str | None:
        return self.chain(self.parse_and, ("name", "or"))

    def parse_and(self) -> str | None:
        return self.chain(self.parse_not, ("name", "and"))

    def parse_not(self) -> str | None:
        if self.skip("name", "not"):
            self.parse_not()
            return None
        return self.parse_compare()

    def parse_compare(self) -> str | None:
        node = self.parse_math1()
        while True:
            kind, value = self.current
            if kind == "op" and value in _COMPARE or self.word("in"):
                self.pos += 1
            elif self.word("not") and self.tokens[self.pos + 1] == ("name", "in"):
                self.pos += 2
            else:
                return node
            node = None
            self.parse_math1()

    def parse_math1(self) -> str | None:
        return self.chain(self.parse_concat, ("op", "+"), ("op", "-"))

    def parse_concat(self) -> str | None:
        return self.chain(self.parse_math2, ("op", "~"))

    def parse_math2(self) -> str | None:
        return self.chain(self.parse_pow, ("op", "*"), ("op", "/"), ("op", "//"), ("op", "%"))

    def parse_pow(self) -> str | None:
        return self.chain(self.parse_unary, ("op", "**"))

    def parse_unary(self, with_filter: bool = True) -> str | None:
        if self.op("-") or self.op("+"):
            self.pos += 1
            self.parse_unary(False)
            node = None
        else:
            node = self.parse_primary()
        node = self.parse_postfix(node)
        return self.parse_filter_expr(node) if with_filter else node

    def parse_primary(self) -> str | None:
        kind, value = self.current
        if kind == "name":
            if value in _KEYWORDS:
                raise _GiveUp
            self.pos += 1
            if value in _CONSTANTS:
                return None
            self.variables.add(value)
            return value
        if kind == "string":
            while self.at("string"):  # adjacent strings are one
                self.pos += 1
        elif kind in ("integer", "float"):
            self.pos += 1
        elif self.skip("op", "("):
            node = self.parse_tuple(explicit_parentheses=True)
            self.expect("op", ")")
            return node
        elif self.skip("op", "["):
            self.parse_items("]", pairs=False)
        elif self.skip("op", "{"):
            self.parse_items("}", pairs=True)
        else:
            raise _GiveUp
        return None

    def parse_items(self, close: str, pairs: bool) -> None:
        """A list's or a dict's items after the opening bracket."""
        items = 0
        while not self.op(close):
            if items:
                self.expect("op", ",")
                if self.op(close):
                    break
            self.parse_expression()
            if pairs:
                self.expect("op", ":")
                self.parse_expression()
            items += 1
        self.expect("op", close)

    def parse_postfix(self, node: str | None) -> str | None:
        while True:
            if self.skip("op", "."):
                if not (self.skip("name") or self.skip("integer")):
                    raise _GiveUp
            elif self.skip("op", "["):
                self.parse_expression()  # one subscript: slices and tuples are the parser's
                self.expect("op", "]")
            elif self.op("("):
                self.parse_call(node)
            else:
                return node
            node = None

    def parse_filter_expr(self, node: str | None) -> str | None:
        while True:
            if self.skip("op", "|"):
                self.filters.add(self.dotted_name())
                if self.op("("):
                    self.parse_call_args()
            elif self.skip("name", "is"):
                self.parse_test()
            elif self.op("("):
                self.parse_call(node)
            else:
                return node
            node = None

    def parse_test(self) -> None:
        self.skip("name", "not")
        self.tests.add(self.dotted_name())
        if self.op("("):
            self.parse_call_args()
            return
        kind, value = self.current
        takes_argument = kind in ("name", "string", "integer", "float") or kind == "op" and value in ("[", "{")
        if takes_argument and not (kind == "name" and value in ("else", "or", "and")):
            raise _GiveUp  # a test's argument without parentheses

    def dotted_name(self) -> str:
        name = self.expect("name")
        while self.skip("op", "."):
            name += "." + self.expect("name")
        return name

    def parse_call(self, node: str | None) -> None:
        if node is not None:
            self.calls.add(node)
        self.parse_call_args()

    def parse_call_args(self) -> None:
        self.expect("op", "(")
        keywords = False
        first = True
        while not self.op(")"):
            if not first:
                self.expect("op", ",")
                if self.op(")"):
                    break
            first = False
            if self.op("*") or self.op("**"):
                raise _GiveUp
            if self.at("name") and self.tokens[self.pos + 1] == ("op", "="):
                self.pos += 2
                keywords = True
            elif keywords:
                raise _GiveUp  # a positional argument after a keyword one: a syntax error
            self.parse_expression()
        self.expect("op", ")")
