"""Ansible 2.19's Jinja flavour, on plain jinja2.

What it reproduces, and why each matters for a faithful run:
- native results: a string that is one `{{ expr }}` yields the value itself
  (a list stays a list), several parts are joined as text, and None parts
  vanish (`"x{{ none }}"` is "x");
- variables whose values hold Jinja are templated when first used, and a
  broken or undefined piece only fails when something touches it
  (`d.ok` works although `d.broken` references an undefined variable);
- undefined values chain (`a.b.c is defined` is False) and fail on any other
  use; `omit` drops the argument or list item it lands in;
- conditionals are expressions whose result must be a real bool;
- backslashes inside `{{ }}` string literals are literal, as in Ansible, so
  YAML-escaped regexes keep working.
"""

import ast
import collections.abc
import datetime
import types
from copy import deepcopy

import jinja2
from jinja2 import nodes
from jinja2.lexer import TOKEN_STRING, TOKEN_VARIABLE_BEGIN, TOKEN_VARIABLE_END, Lexer
from jinja2.nativetypes import NativeCodeGenerator
from jinja2.parser import Parser
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from migrator.runtime.filters import (  # tm:strip
    FILTERS, LOOKUPS, MARKER_FILTERS, TESTS, FilterError, jinja_pass_context, to_text)  # tm:strip


class TemplateError(Exception):
    """Templating failed; the message is what the task reports."""


class UndefinedVariable(TemplateError):
    """Templating failed on an undefined name (a loop may still be skipped by `when`)."""


class Marker(jinja2.StrictUndefined):
    """An undefined value that remembers why, like Ansible's UndefinedMarker.

    Attribute and item access return the marker itself, so `a.b is defined`
    and `a.b | default(1)` work on an undefined `a`; any other use fails.
    """

    __slots__ = ()

    def __init__(self, hint=None, obj=missing, name=None, exc=jinja2.UndefinedError):
        if not hint and name and obj is not missing:
            hint = "object of type %r has no attribute %r" % (type(obj).__name__, name)
        super().__init__(hint, obj, name, exc)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self

    def __getitem__(self, key):
        return self

    # printing a container that holds a marker must fail too, not show "Undefined"
    __repr__ = __format__ = jinja2.StrictUndefined._fail_with_undefined_error


class ErrorMarker(Marker):
    """A value whose templating failed for another reason than an undefined name.

    Unlike a plain undefined, `default` and `is defined` re-raise its error.
    """

    __slots__ = ()


def _marker_for(error):
    if isinstance(error, jinja2.UndefinedError):
        return Marker(str(error))
    return ErrorMarker(error_message(error), exc=TemplateError)


def error_message(error):
    if isinstance(error, (TemplateError, FilterError, jinja2.UndefinedError)):
        return str(error)
    if isinstance(error, jinja2.TemplateSyntaxError):
        return "Syntax error in template: %s" % error.message
    return "%s: %s" % (type(error).__name__, error)


class Omit:
    """The `omit` placeholder: an argument or list item that templates to it is dropped."""

    __slots__ = ()

    def __repr__(self):
        return "<<Omit>>"


OMIT = Omit()


def trip(value, errors_only=False):
    """Raise the error of the first marker inside value (dicts, lists, tuples)."""
    if isinstance(value, Marker):
        if isinstance(value, ErrorMarker) or not errors_only:
            value._fail_with_undefined_error()
    elif isinstance(value, dict):
        for key, item in value.items():
            trip(key, errors_only)
            trip(item, errors_only)
    elif isinstance(value, (list, tuple)):
        for item in value:
            trip(item, errors_only)


def finalize(value, strict=True):
    """Turn a template result into plain data: lists, dicts, scalars.

    strict raises the first marker met; otherwise markers stay in place, to
    fail later only if used. Omit is dropped from containers.
    """
    if isinstance(value, Marker):
        if strict:
            value._fail_with_undefined_error()
        return value
    if isinstance(value, str):
        return str(value)
    if value is None or value is OMIT or isinstance(value, (bool, int, float, bytes, datetime.date)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {finalize(k, strict): finalize(v, strict) for k, v in value.items() if v is not OMIT}
    if isinstance(value, collections.abc.Iterable):
        return [finalize(v, strict) for v in value if v is not OMIT]
    return value


def _concat(parts):
    """Ansible's native concat: one part keeps its type, several become text."""
    values = [v for v in parts if v is not None]
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return "".join("" if v is OMIT else to_text(finalize(v)) for v in values)


@jinja_pass_context
def _keep(context, value):
    """Identity finalize; needing the context stops Jinja from folding
    constant output such as `{{ [1, 2] }}` into text at compile time."""
    return value


def _checked(func, errors_only):
    """Filters and tests get finished values: markers inside their arguments raise first."""
    def checked(*args, **kwargs):
        for arg in args:
            trip(arg, errors_only)
        for arg in kwargs.values():
            trip(arg, errors_only)
        return func(*args, **kwargs)

    if isinstance(func, types.FunctionType):
        # Jinja reads pass_context/pass_environment marks from the function's attributes
        checked.__dict__.update(func.__dict__)
    checked.__name__ = getattr(func, "__name__", "filter")
    return checked


def _defined(value):
    if isinstance(value, ErrorMarker):
        value._fail_with_undefined_error()
    return not isinstance(value, jinja2.Undefined)


def _undefined(value):
    return not _defined(value)


# -- lookups ------------------------------------------------------------------

def _lookup_vars(context, terms, default=missing):
    values = []
    for term in terms:
        if not isinstance(term, str):
            raise FilterError("Invalid setting identifier, %r is not a string, it is a %s"
                              % (term, type(term).__name__))
        value = context.resolve_or_missing(term)
        if value is missing:
            value = Marker("No variable named %r was found." % term) if default is missing else default
        values.append(value)
    return values


def _run_lookup(context, name, terms, kwargs, wantlist):
    errors = kwargs.pop("errors", "strict")
    try:
        if name == "vars":
            result = _lookup_vars(context, terms, **kwargs)
        elif name in LOOKUPS:
            if kwargs:
                raise FilterError("lookup %r takes no options, got %s" % (name, sorted(kwargs)))
            result = LOOKUPS[name](terms)
        else:
            raise FilterError("lookup plugin %r is not available on the node (Ansible runs "
                              "lookups on the controller)" % name)
    except Exception:
        if errors == "strict":
            raise
        return [] if wantlist else None
    if not wantlist and result:
        if len(result) == 1:
            return result[0]
        if all(isinstance(item, str) for item in result):
            return ",".join(result)
    return result


@jinja_pass_context
def _lookup(context, name, *terms, **kwargs):
    wantlist = kwargs.pop("wantlist", False)
    return _run_lookup(context, name, list(terms), kwargs, wantlist)


@jinja_pass_context
def _query(context, name, *terms, **kwargs):
    return _run_lookup(context, name, list(terms), kwargs, True)


def _now(utc=False, fmt=None):
    if utc:
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    else:
        now = datetime.datetime.now()
    return now.strftime(fmt) if fmt else now


def _undef(hint=None):
    return Marker(hint or "Mandatory variable has not been overridden")


# -- environments --------------------------------------------------------------

class _EscapingLexer(Lexer):
    """Doubles backslashes in string literals inside `{{ }}` so Jinja keeps them literal
    (the YAML layer already interpreted escapes), as Ansible's lexer does."""

    def tokeniter(self, *args, **kwargs):
        in_variable = False
        for token in super().tokeniter(*args, **kwargs):
            kind = token[1]
            if kind == TOKEN_VARIABLE_BEGIN:
                in_variable = True
            elif kind == TOKEN_VARIABLE_END:
                in_variable = False
            elif in_variable and kind == TOKEN_STRING:
                token = (token[0], kind, token[2].replace("\\", "\\\\"))
            yield token


class AnsibleEnvironment(SandboxedEnvironment):
    """Jinja settings of Ansible's environment; results are native values."""

    code_generator_class = NativeCodeGenerator
    concat = staticmethod(_concat)

    def __init__(self, **options):
        super().__init__(trim_blocks=True, autoescape=False, undefined=Marker,
                         finalize=_keep, **options)
        self.filters.update(FILTERS)
        for name, func in list(self.filters.items()):
            self.filters[name] = _checked(func, errors_only=name in MARKER_FILTERS)
        self.tests.update(TESTS)
        for name, func in list(self.tests.items()):
            self.tests[name] = _checked(func, errors_only=False)
        self.tests["defined"] = _defined
        self.tests["undefined"] = _undefined
        self.globals.update(range=range, lookup=_lookup, query=_query, q=_query,
                            omit=OMIT, now=_now, undef=_undef)
        self.compiled = {}

    def compile_cached(self, source):
        template = self.compiled.get(source)
        if template is None:
            template = self.compiled[source] = self.from_string(source)
        return template


class _EscapingEnvironment(AnsibleEnvironment):
    """For task arguments and variable values (Ansible's escape_backslashes=True)."""

    @property
    def lexer(self):
        lexer = self.__dict__.get("_escaping_lexer")
        if lexer is None:
            lexer = self.__dict__["_escaping_lexer"] = _EscapingLexer(self)
        return lexer


ESCAPING_ENV = _EscapingEnvironment()
RAW_ENV = AnsibleEnvironment()

_START_STRINGS = ("{{", "{%", "{#")
_END_STRINGS = ("}}", "%}", "#}")
_OVERRIDE_HEADER = "#jinja2:"
_OVERRIDE_NAMES = frozenset((
    "block_start_string", "block_end_string", "variable_start_string", "variable_end_string",
    "comment_start_string", "comment_end_string", "line_statement_prefix",
    "line_comment_prefix", "trim_blocks", "lstrip_blocks", "newline_sequence",
    "keep_trailing_newline",
))


def is_template(value):
    return isinstance(value, str) and any(s in value for s in _START_STRINGS)


def is_all_template(value):
    return value.startswith(_START_STRINGS) and value.endswith(_END_STRINGS)


def _trailing_newlines(text):
    return len(text) - len(text.rstrip("\n"))


def _render(template, variables):
    context = template.new_context(variables, shared=True)
    return template.environment.concat(template.root_render_func(context))


def _render_string(source, variables):
    """template() of one string: native value, trailing newlines kept as Ansible does."""
    result = _render(ESCAPING_ENV.compile_cached(source), variables)
    if isinstance(result, str):
        result += "\n" * (_trailing_newlines(source) - _trailing_newlines(result))
    return result


def resolve(value, variables):
    """Template value deeply; a failing piece becomes a marker instead of raising."""
    if isinstance(value, str):
        if not is_template(value):
            return value
        try:
            return finalize(_render_string(value, variables), strict=False)
        except Exception as error:
            return _marker_for(error)
    if isinstance(value, dict):
        return {key: resolve(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, variables) for item in value]
    return value


class Vars(collections.abc.Mapping):
    """Variables as templates see them.

    Built from scopes, lowest precedence first. Values of a templated scope
    are Jinja source, templated on first access (and cached); the other
    scopes hold data (registered results, facts) used as is.
    """

    def __init__(self, scopes):
        self._raw = {}
        self._templated = set()
        for mapping, templated in scopes:
            for name, value in mapping.items():
                self._raw[name] = value
                if templated:
                    self._templated.add(name)
                else:
                    self._templated.discard(name)
        self._bound = {}
        self._done = {}
        self._resolving = set()

    def overlay(self, data):
        """A copy with data variables on top (loop items, the template module's vars)."""
        child = Vars(())
        child._raw = dict(self._raw)
        child._templated = set(self._templated)
        child._bound = dict(self._bound)
        for name, value in data.items():
            child._raw[name] = value
            child._templated.discard(name)
            child._bound.pop(name, None)
        return child

    def bind(self, name, value):
        """Set a magic variable (hostvars, vars): returned as is, never copied."""
        self._bound[name] = value
        self._raw.pop(name, None)

    def __getitem__(self, name):
        if name in self._done:
            return self._done[name]
        if name in self._bound:
            return self._bound[name]
        if name not in self._raw:
            if name in RAW_ENV.globals:
                return RAW_ENV.globals[name]
            raise KeyError(name)
        if name in self._resolving:
            return ErrorMarker("recursive loop detected in template for variable %r" % name,
                               exc=TemplateError)
        raw = self._raw[name]
        if name in self._templated:
            self._resolving.add(name)
            try:
                value = resolve(raw, self)
            finally:
                self._resolving.discard(name)
        else:
            # a template may call list.append(): never let it reach stored state
            value = deepcopy(raw)
        self._done[name] = value
        return value

    def __contains__(self, name):
        return name in self._raw or name in self._bound or name in RAW_ENV.globals

    # magic variables are not listed: `vars` holds itself, listing it would recurse
    def __iter__(self):
        return iter(self._raw)

    def __len__(self):
        return len(self._raw)


class Templar:
    """Templating against one set of variables."""

    def __init__(self, variables):
        self.variables = variables

    def template(self, value):
        """Fully template value; raises TemplateError on any failure inside it."""
        try:
            return finalize(resolve(value, self.variables))
        except jinja2.UndefinedError as error:
            raise UndefinedVariable(str(error))

    def evaluate(self, expression, embedded_templates=False, strict=True):
        """Evaluate a Jinja expression (no `{{ }}`) to a plain value.

        embedded_templates renders string constants holding `{{ }}` first,
        which Ansible still does (deprecated) inside conditionals; without
        strict, undefined parts of the result stay markers.
        """
        try:
            template = RAW_ENV.compiled.get(("expr", expression))
            if template is None:
                parser = Parser(RAW_ENV, expression, state="variable")
                node = parser.parse_expression()
                if not parser.stream.eos:
                    raise TemplateError("Syntax error in expression %r: unexpected %r"
                                        % (expression, parser.stream.current.value))
                embedded = [const for const in node.find_all(nodes.Const)
                            if embedded_templates and is_template(const.value)]
                for const in embedded:
                    const.value = self.template(const.value)
                node.set_environment(RAW_ENV)
                body = [nodes.Assign(nodes.Name("result", "store"), node, lineno=1)]
                template = RAW_ENV.from_string(nodes.Template(body, lineno=1))
                if not embedded:
                    RAW_ENV.compiled[("expr", expression)] = template
            context = template.new_context(self.variables, shared=True)
            for _ in template.root_render_func(context):
                pass
            return finalize(context.vars["result"], strict)
        except TemplateError:
            raise
        except jinja2.UndefinedError as error:
            raise UndefinedVariable(str(error))
        except Exception as error:
            raise TemplateError(error_message(error))

    def conditional(self, conditional):
        """Ansible's evaluate_conditional: a bool, or an expression yielding a bool."""
        try:
            return self._conditional(conditional)
        except UndefinedVariable as error:
            raise UndefinedVariable("Error while evaluating conditional: %s" % error)

    def _conditional(self, conditional):
        if isinstance(conditional, str):
            conditional = conditional.strip()
        if conditional is None or conditional == "":
            raise TemplateError("Empty conditional expressions are not allowed.")
        if isinstance(conditional, bool):
            return conditional
        if not isinstance(conditional, str):
            raise TemplateError("Conditional expressions must be strings.")
        if is_all_template(conditional):
            # indirection: `when: "{{ expr }}"` may yield the expression to evaluate
            result = self.template(conditional)
            if not isinstance(result, str):
                return self._boolean(result, conditional)
            conditional = result.strip()
            if not conditional:
                raise TemplateError("Empty conditional expressions are not allowed.")
        return self._boolean(self.evaluate(conditional, embedded_templates=True), conditional)

    @staticmethod
    def _boolean(result, conditional):
        if isinstance(result, bool):
            return result
        raise TemplateError(
            "Conditional result (%s) was derived from value of type %r in %r. Conditionals "
            "must have a boolean result." % (bool(result), type(result).__name__, conditional))

    def all_true(self, conditionals):
        """A list of conditionals is ANDed; returns (result, the first false one)."""
        for conditional in conditionals:
            if not self.conditional(conditional):
                return False, conditional
        return True, None

    def render_text(self, text, extra_vars=None, **overrides):
        """Render a whole file the way the template module does; returns text.

        overrides are the template module's Jinja options (trim_blocks,
        lstrip_blocks, newline_sequence, *_start_string, ...); a leading
        `#jinja2:` line may set them too.
        """
        if text.startswith(_OVERRIDE_HEADER):
            header, _, text = text.partition("\n")
            for pair in header[len(_OVERRIDE_HEADER):].split(","):
                key, sep, value = pair.partition(":")
                key = key.strip()
                if not sep or key not in _OVERRIDE_NAMES:
                    raise TemplateError("Invalid %r override %r" % (_OVERRIDE_HEADER, pair))
                overrides[key] = ast.literal_eval(value.strip())
        env = RAW_ENV.overlay(**overrides) if overrides else RAW_ENV
        variables = self.variables.overlay(extra_vars) if extra_vars else self.variables
        try:
            result = finalize(_render(env.from_string(text), variables))
        except Exception as error:
            raise TemplateError(error_message(error))
        if result is None:
            return ""
        result = to_text(result)
        newline = overrides.get("newline_sequence", "\n")
        return result + newline * max(0, _trailing_newlines(text) - _trailing_newlines(result))
