"""Ansible's Jinja filters, tests and loop lookups, re-implemented for the node.

Each function follows the ansible-core 2.19 implementation it is named after
(plugins/filter/core.py, mathstuff.py, plugins/test/core.py, files.py,
mathstuff.py, plugins/lookup/*.py), minus controller-only features. The node
has no ansible, so nothing here may import it.
"""

import base64
import collections.abc
import datetime
import hashlib
import itertools
import json
import math
import ntpath
import os
import random
import re
import shlex
import time
import uuid

import jinja2
import yaml
from jinja2.filters import do_unique

# Jinja2 3.0 renamed these decorators; RHEL 9 nodes still ship Jinja2 2.11
jinja_pass_context = getattr(jinja2, "pass_context", None) or jinja2.contextfunction
jinja_pass_environment = getattr(jinja2, "pass_environment", None) or jinja2.environmentfilter

try:  # Ansible prefers libyaml, as it changes nothing but speed
    _YamlDumper = yaml.CSafeDumper
    _YamlLoader = yaml.CSafeLoader
except AttributeError:
    _YamlDumper = yaml.SafeDumper
    _YamlLoader = yaml.SafeLoader


class FilterError(Exception):
    """A filter, test or lookup refused its input (AnsibleFilterError)."""


def to_text(value):
    """ansible's to_text(nonstring='simplerepr')."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def is_sequence(value):
    return isinstance(value, collections.abc.Sequence) and not isinstance(value, (str, bytes))


# -- booleans ---------------------------------------------------------------

_BOOL_FILTER_TRUE = {"yes", "on", "true", "1"}
_BOOL_FILTER_FALSE = {"no", "off", "false", "0"}
BOOLEANS_TRUE = frozenset(("y", "yes", "on", "1", "true", "t", 1, 1.0, True))
BOOLEANS_FALSE = frozenset(("n", "no", "off", "0", "false", "f", 0, 0.0, False))


def to_bool(value):
    """The `bool` filter, including its deprecated fallback (`value == 1`)."""
    if isinstance(value, str):
        value = value.lower()
    elif isinstance(value, int):
        value = str(value).lower()
    try:
        if value in _BOOL_FILTER_TRUE:
            return True
        if value in _BOOL_FILTER_FALSE:
            return False
        return value == 1
    except TypeError:
        return False


def boolean(value, strict=True):
    """module_utils.parsing.convert_bool.boolean."""
    if isinstance(value, bool):
        return value
    normalized = value
    if isinstance(value, (str, bytes)):
        normalized = to_text(value).lower().strip()
    if not isinstance(value, collections.abc.Hashable):
        normalized = None
    if normalized in BOOLEANS_TRUE:
        return True
    if normalized in BOOLEANS_FALSE or not strict:
        return False
    raise TypeError("The value '%s' is not a valid boolean." % to_text(value))


# -- core filters -----------------------------------------------------------

def to_yaml(a, *_args, default_flow_style=None, **kwargs):
    return yaml.dump(a, Dumper=_YamlDumper, allow_unicode=True,
                     default_flow_style=default_flow_style, **kwargs)


def to_nice_yaml(a, indent=4, *_args, default_flow_style=False, **kwargs):
    return to_yaml(a, indent=indent, default_flow_style=default_flow_style, **kwargs)


def from_yaml(data):
    if isinstance(data, str):
        return yaml.load(data, Loader=_YamlLoader)
    return data


def from_yaml_all(data):
    if data is None:
        return []
    if isinstance(data, str):
        return list(yaml.load_all(data, Loader=_YamlLoader))
    return data


def to_json(a, **kwargs):
    return json.dumps(a, **kwargs)


def to_nice_json(a, indent=4, sort_keys=True, **kwargs):
    kwargs.pop("separators", None)
    return to_json(a, indent=indent, sort_keys=sort_keys, separators=(",", ": "), **kwargs)


def from_json(a, **kwargs):
    return json.loads(a, **kwargs)


def to_datetime(string, format="%Y-%m-%d %H:%M:%S"):
    return datetime.datetime.strptime(string, format)


def strftime(string_format, second=None, utc=False):
    timefn = time.gmtime if utc else time.localtime
    if second is not None:
        try:
            second = float(second)
        except Exception:
            raise FilterError("Invalid value for epoch value (%s)" % second)
    return time.strftime(string_format, timefn(second))


def quote(a):
    return shlex.quote(to_text("" if a is None else a))


def regex_replace(value="", pattern="", replacement="", ignorecase=False, multiline=False,
                  count=0, mandatory_count=0):
    value = to_text(value)
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    output, subs = re.compile(pattern, flags=flags).subn(replacement, value, count=count)
    if mandatory_count and mandatory_count != subs:
        # the message reports `count`, not `subs`, exactly as ansible-core does
        raise FilterError("'%s' should match %d times, but matches %d times in '%s'"
                          % (pattern, mandatory_count, count, value))
    return output


def regex_findall(value, regex, multiline=False, ignorecase=False):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return re.findall(regex, to_text(value), flags)


def regex_search(value, regex, *args, **kwargs):
    value = to_text(value)
    groups = []
    for arg in args:
        if arg.startswith("\\g"):
            groups.append(re.match(r"\\g<(\S+)>", arg).group(1))
        elif arg.startswith("\\"):
            groups.append(int(re.match(r"\\(\d+)", arg).group(1)))
        else:
            raise FilterError("Unknown argument")
    flags = (re.I if kwargs.get("ignorecase") else 0) | (re.M if kwargs.get("multiline") else 0)
    match = re.search(regex, value, flags)
    if match:
        if not groups:
            return match.group()
        return [match.group(item) for item in groups]
    return None


def regex_escape(string, re_type="python"):
    string = to_text(string)
    if re_type == "python":
        return re.escape(string)
    if re_type == "posix_basic":
        return regex_replace(string, r"([].[^$*\\])", r"\\\1")
    if re_type == "posix_extended":
        raise FilterError("Regex type (%s) not yet implemented" % re_type)
    raise FilterError("Invalid regex type (%s)" % re_type)


def ternary(value, true_val, false_val, none_val=None):
    if value is None and none_val is not None:
        return none_val
    return true_val if bool(value) else false_val


def get_hash(data, hashtype="sha1"):
    try:
        h = hashlib.new(hashtype)
    except Exception as e:
        raise FilterError(str(e))
    h.update(to_text(data).encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def md5s(data):
    return get_hash(data, "md5")


def checksum_s(data):
    return get_hash(data, "sha1")


UUID_NAMESPACE_ANSIBLE = uuid.UUID("361E6D51-FAEC-444A-9079-341386DA8E2E")


def to_uuid(string, namespace=UUID_NAMESPACE_ANSIBLE):
    if not isinstance(namespace, uuid.UUID):
        try:
            namespace = uuid.UUID(namespace)
        except (AttributeError, ValueError) as e:
            raise FilterError("Invalid value '%s' for 'namespace': %s" % (namespace, e))
    return str(uuid.uuid5(namespace, to_text(string)))


def b64encode(string, encoding="utf-8", urlsafe=False):
    func = base64.urlsafe_b64encode if urlsafe else base64.b64encode
    return func(to_text(string).encode(encoding, "surrogateescape")).decode("utf-8")


def b64decode(string, encoding="utf-8", urlsafe=False):
    func = base64.urlsafe_b64decode if urlsafe else base64.b64decode
    return func(to_text(string).encode("utf-8", "surrogateescape")).decode(encoding, "surrogateescape")


def flatten(mylist, levels=None, skip_nulls=True):
    ret = []
    for element in mylist:
        if skip_nulls and element in (None, "None", "null"):
            continue
        if is_sequence(element):
            if levels is None:
                ret.extend(flatten(element, skip_nulls=skip_nulls))
            elif levels >= 1:
                ret.extend(flatten(element, levels=int(levels) - 1, skip_nulls=skip_nulls))
            else:
                ret.append(element)
        else:
            ret.append(element)
    return ret


_LIST_MERGES = ("replace", "keep", "append", "prepend", "append_rp", "prepend_rp")


def merge_hash(x, y, recursive=True, list_merge="replace"):
    """ansible.utils.vars.merge_hash: y's keys win; x and y are not modified."""
    if list_merge not in _LIST_MERGES:
        raise FilterError("merge_hash: 'list_merge' argument can only be equal to "
                          + ", ".join(repr(m) for m in _LIST_MERGES))
    for value in (x, y):
        if not isinstance(value, collections.abc.MutableMapping):
            raise FilterError("failed to combine variables, expected dicts but got a '%s'"
                              % type(value).__name__)
    if x == {} or x == y:
        return y.copy()
    if y == {}:
        return x
    x = x.copy()
    if not recursive and list_merge == "replace":
        x.update(y)
        return x
    for key, y_value in y.items():
        if key not in x:
            x[key] = y_value
            continue
        x_value = x[key]
        if isinstance(x_value, collections.abc.MutableMapping) and isinstance(y_value, collections.abc.MutableMapping):
            x[key] = merge_hash(x_value, y_value, recursive, list_merge) if recursive else y_value
            continue
        if isinstance(x_value, collections.abc.MutableSequence) and isinstance(y_value, collections.abc.MutableSequence):
            if list_merge == "replace":
                x[key] = y_value
            elif list_merge == "append":
                x[key] = x_value + y_value
            elif list_merge == "prepend":
                x[key] = y_value + x_value
            elif list_merge == "append_rp":
                x[key] = [z for z in x_value if z not in y_value] + y_value
            elif list_merge == "prepend_rp":
                x[key] = y_value + [z for z in x_value if z not in y_value]
            continue
        x[key] = y_value
    return x


def combine(*terms, **kwargs):
    recursive = kwargs.pop("recursive", False)
    list_merge = kwargs.pop("list_merge", "replace")
    if kwargs:
        raise FilterError("'recursive' and 'list_merge' are the only valid keyword arguments")
    dictionaries = flatten(terms, levels=1)
    if not dictionaries:
        return {}
    if len(dictionaries) == 1:
        return dictionaries[0]
    # merged right to left, as ansible-core does, so the result has its key order
    high_to_low = reversed(dictionaries)
    result = next(high_to_low)
    for dictionary in high_to_low:
        result = merge_hash(dictionary, result, recursive, list_merge)
    return result


@jinja_pass_environment
def extract(environment, item, container, morekeys=None):
    if morekeys is None:
        keys = [item]
    elif isinstance(morekeys, list):
        keys = [item] + morekeys
    else:
        keys = [item, morekeys]
    value = container
    for key in keys:
        value = environment.getitem(value, key)
    return value


def subelements(obj, subelements, skip_missing=False):
    if isinstance(obj, dict):
        element_list = list(obj.values())
    elif isinstance(obj, list):
        element_list = obj[:]
    else:
        raise FilterError("obj must be a list of dicts or a nested dict")
    if isinstance(subelements, list):
        subelement_list = subelements[:]
    elif isinstance(subelements, str):
        subelement_list = subelements.split(".")
    else:
        raise FilterError("subelements must be a list or a string")
    results = []
    for element in element_list:
        values = element
        for subelement in subelement_list:
            try:
                values = values[subelement]
            except KeyError:
                if skip_missing:
                    values = []
                    break
                raise FilterError("could not find %r key in iterated item %r" % (subelement, values))
            except TypeError:
                raise FilterError("the key %s should point to a dictionary, got '%s'" % (subelement, values))
        if not isinstance(values, list):
            raise FilterError("the key %r should point to a list, got %r" % (subelement, values))
        for value in values:
            results.append((element, value))
    return results


def dict2items(mydict, key_name="key", value_name="value"):
    if not isinstance(mydict, collections.abc.Mapping):
        raise FilterError("dict2items requires a dictionary, got %s instead." % type(mydict))
    return [{key_name: key, value_name: mydict[key]} for key in mydict]


def items2dict(mylist, key_name="key", value_name="value"):
    if not is_sequence(mylist):
        raise FilterError("items2dict requires a list, got %s instead." % type(mylist))
    try:
        return dict((item[key_name], item[value_name]) for item in mylist)
    except KeyError:
        raise FilterError("items2dict requires each dictionary in the list to contain the keys "
                          "'%s' and '%s', got %s instead." % (key_name, value_name, mylist))
    except TypeError:
        raise FilterError("items2dict requires a list of dictionaries, got %s instead." % mylist)


def path_join(paths):
    if isinstance(paths, str):
        return os.path.join(paths)
    if is_sequence(paths):
        return os.path.join(*paths)
    raise FilterError("|path_join expects string or sequence, got %s instead." % type(paths))


def commonpath(paths):
    if not is_sequence(paths):
        raise FilterError("|commonpath expects sequence, got %s instead." % type(paths))
    return os.path.commonpath(paths)


def mandatory(a, msg=None):
    if isinstance(a, jinja2.Undefined):
        if msg is not None:
            raise FilterError(to_text(msg))
        name = a._undefined_name
        name = "%r " % to_text(name) if name is not None else ""
        raise FilterError("Mandatory variable %snot defined." % name)
    return a


def default(value, default_value="", boolean=False):
    """ansible_default: only a plain undefined is replaced, a broken value still fails."""
    if not isinstance(boolean, bool):
        raise FilterError("The 'boolean' argument of 'default' must be a bool.")
    if isinstance(value, jinja2.Undefined):
        return default_value
    if boolean and not value:
        return default_value
    return value


def type_debug(obj):
    return type(obj).__name__


@jinja_pass_environment
def rand(environment, end, start=None, step=None, seed=None):
    r = random.SystemRandom() if seed is None else random.Random(seed)
    if isinstance(end, int):
        return r.randrange(start or 0, end, step or 1)
    if hasattr(end, "__iter__"):
        if start or step:
            raise FilterError("start and step can only be used with integer values")
        return r.choice(end)
    raise FilterError("random can only be used on sequences and integers")


def randomize_list(mylist, seed=None):
    try:
        mylist = list(mylist)
        if seed:
            random.Random(seed).shuffle(mylist)
        else:
            random.shuffle(mylist)
    except Exception:
        pass
    return mylist


# -- mathstuff --------------------------------------------------------------

@jinja_pass_environment
def unique(environment, a, case_sensitive=None, attribute=None):
    try:
        # ansible-core passes bool(None): the default is case-insensitive
        return list(do_unique(environment, a, case_sensitive=bool(case_sensitive), attribute=attribute))
    except Exception as ex:
        if case_sensitive is False or attribute:
            raise FilterError("Jinja2's unique filter failed and we cannot fall back to Ansible's version "
                              "as it does not support the parameters supplied.") from ex
    c = []
    for x in a:
        if x not in c:
            c.append(x)
    return c


@jinja_pass_environment
def intersect(environment, a, b):
    try:
        return list(set(a) & set(b))
    except TypeError:
        return unique(environment, [x for x in a if x in b], True)


@jinja_pass_environment
def difference(environment, a, b):
    try:
        return list(set(a) - set(b))
    except TypeError:
        return unique(environment, [x for x in a if x not in b], True)


@jinja_pass_environment
def symmetric_difference(environment, a, b):
    try:
        return list(set(a) ^ set(b))
    except TypeError:
        isect = intersect(environment, a, b)
        return [x for x in union(environment, a, b) if x not in isect]


@jinja_pass_environment
def union(environment, a, b):
    try:
        return list(set(a) | set(b))
    except TypeError:
        return unique(environment, a + b, True)


def logarithm(x, base=math.e):
    try:
        return math.log10(x) if base == 10 else math.log(x, base)
    except TypeError as ex:
        raise FilterError("log() can only be used on numbers") from ex


def power(x, y):
    try:
        return math.pow(x, y)
    except TypeError as ex:
        raise FilterError("pow() can only be used on numbers") from ex


def inversepower(x, base=2):
    try:
        return math.sqrt(x) if base == 2 else math.pow(x, 1.0 / float(base))
    except (ValueError, TypeError) as ex:
        raise FilterError("root() can only be used on numbers") from ex


_COMMENT_STYLES = {
    "plain": {"decoration": "# "},
    "erlang": {"decoration": "% "},
    "c": {"decoration": "// "},
    "cblock": {"beginning": "/*", "decoration": " * ", "end": " */"},
    "xml": {"beginning": "<!--", "decoration": " - ", "end": "-->"},
}


def comment(text, style="plain", **kw):
    """ansible.builtin.comment"""
    if style not in _COMMENT_STYLES:
        raise FilterError("Invalid style %r." % (style,))
    style_params = _COMMENT_STYLES[style]
    prepostfix = kw["decoration"] if "decoration" in kw else style_params["decoration"]
    p = {"newline": "\n", "beginning": "", "prefix": prepostfix.rstrip(), "prefix_count": 1,
         "decoration": "", "postfix": prepostfix.rstrip(), "postfix_count": 1, "end": ""}
    p.update(style_params)
    p.update(kw)
    beginning = "%s%s" % (p["beginning"], p["newline"]) if p["beginning"] else ""
    prefix = ""
    if p["prefix"]:
        prefix = (("%s%s" % (p["prefix"], p["newline"])) if p["prefix"] != p["newline"]
                  else p["newline"]) * int(p["prefix_count"])
    body = ("%s%s" % (p["decoration"], text.replace(p["newline"], "%s%s" % (p["newline"], p["decoration"])))).replace(
        "%s%s" % (p["decoration"], p["newline"]), "%s%s" % (p["decoration"].rstrip(), p["newline"]))
    postfix = p["newline"].join([""] + [p["postfix"] for _ in range(int(p["postfix_count"]))])
    end = "%s%s" % (p["newline"], p["end"]) if p["end"] else ""
    return "%s%s%s%s%s" % (beginning, prefix, body, postfix, end)


def urlsplit(value, query="", alias="urlsplit"):
    """ansible.builtin.urlsplit"""
    import urllib.parse

    parts = urllib.parse.urlsplit(value)
    results = {key: getattr(parts, key) for key in dir(parts)
               if not (key.startswith("_") or key in ("count", "index", "geturl", "encode"))}
    if query:
        if query not in results:
            raise FilterError(alias + ": unknown URL component: %s" % query)
        return results[query]
    return results


FILTERS = {
    "comment": comment,
    "urlsplit": urlsplit,
    "b64decode": b64decode,
    "b64encode": b64encode,
    "to_uuid": to_uuid,
    "to_json": to_json,
    "to_nice_json": to_nice_json,
    "from_json": from_json,
    "to_yaml": to_yaml,
    "to_nice_yaml": to_nice_yaml,
    "from_yaml": from_yaml,
    "from_yaml_all": from_yaml_all,
    "basename": os.path.basename,
    "dirname": os.path.dirname,
    "expanduser": os.path.expanduser,
    "expandvars": os.path.expandvars,
    "path_join": path_join,
    "realpath": os.path.realpath,
    "relpath": os.path.relpath,
    "splitext": os.path.splitext,
    "win_basename": ntpath.basename,
    "win_dirname": ntpath.dirname,
    "win_splitdrive": ntpath.splitdrive,
    "commonpath": commonpath,
    "normpath": os.path.normpath,
    "bool": to_bool,
    "to_datetime": to_datetime,
    "strftime": strftime,
    "quote": quote,
    "md5": md5s,
    "sha1": checksum_s,
    "checksum": checksum_s,
    "hash": get_hash,
    "regex_replace": regex_replace,
    "regex_escape": regex_escape,
    "regex_search": regex_search,
    "regex_findall": regex_findall,
    "ternary": ternary,
    "random": rand,
    "shuffle": randomize_list,
    "mandatory": mandatory,
    "type_debug": type_debug,
    "combine": combine,
    "extract": extract,
    "flatten": flatten,
    "dict2items": dict2items,
    "items2dict": items2dict,
    "subelements": subelements,
    "split": str.split,
    "d": default,
    "default": default,
    "log": logarithm,
    "pow": power,
    "root": inversepower,
    "unique": unique,
    "intersect": intersect,
    "difference": difference,
    "symmetric_difference": symmetric_difference,
    "union": union,
    "product": itertools.product,
    "permutations": itertools.permutations,
    "combinations": itertools.combinations,
    "zip": zip,
    "zip_longest": itertools.zip_longest,
}
"""Filters ansible-core adds to Jinja's (min, max, map, select... are Jinja's own)."""

# filters that see undefined/broken values instead of failing on them
MARKER_FILTERS = frozenset(("default", "d", "mandatory", "ternary", "type_debug"))


# -- tests ------------------------------------------------------------------

def _result(result, test):
    if not isinstance(result, collections.abc.MutableMapping):
        raise FilterError("The '%s' test expects a dictionary" % test)
    return result


def failed(result):
    return bool(_result(result, "failed").get("failed"))


def success(result):
    return not failed(result)


def unreachable(result):
    return bool(_result(result, "unreachable").get("unreachable"))


def reachable(result):
    return not unreachable(result)


def timedout(result):
    result = _result(result, "timedout")
    return bool(result.get("timedout") and bool(result["timedout"].get("period")))


def changed(result):
    result = _result(result, "changed")
    if "changed" not in result:
        if (isinstance(result.get("results"), collections.abc.MutableSequence)
                and isinstance(result["results"][0], collections.abc.MutableMapping)):
            return any(bool(res.get("changed")) for res in result["results"])
        return False
    return bool(result.get("changed"))


def skipped(result):
    return bool(_result(result, "skipped").get("skipped"))


def started(result):
    result = _result(result, "started")
    return bool(result.get("started")) if "started" in result else True


def finished(result):
    result = _result(result, "finished")
    return bool(result.get("finished")) if "finished" in result else True


def regex(value="", pattern="", ignorecase=False, multiline=False, match_type="search"):
    flags = (re.I if ignorecase else 0) | (re.M if multiline else 0)
    return bool(getattr(re.compile(pattern, flags=flags), match_type, "search")(to_text(value)))


def match(value, pattern="", ignorecase=False, multiline=False):
    return regex(value, pattern, ignorecase, multiline, "match")


def search(value, pattern="", ignorecase=False, multiline=False):
    return regex(value, pattern, ignorecase, multiline, "search")


class LooseVersion:
    """module_utils.compat.version.LooseVersion."""

    component_re = re.compile(r"(\d+ | [a-z]+ | \.)", re.VERBOSE)

    def __init__(self, vstring):
        self.vstring = vstring
        components = [x for x in self.component_re.split(vstring) if x and x != "."]
        for i, obj in enumerate(components):
            try:
                components[i] = int(obj)
            except ValueError:
                pass
        self.version = components

    def _cmp(self, other):
        if self.version == other.version:
            return 0
        return -1 if self.version < other.version else 1


class StrictVersion:
    """module_utils.compat.version.StrictVersion."""

    version_re = re.compile(r"^(\d+) \. (\d+) (\. (\d+))? ([ab](\d+))?$", re.VERBOSE | re.ASCII)

    def __init__(self, vstring):
        found = self.version_re.match(vstring)
        if not found:
            raise ValueError("invalid version number '%s'" % vstring)
        major, minor, patch, prerelease, prerelease_num = found.group(1, 2, 4, 5, 6)
        self.version = tuple(map(int, [major, minor, patch or 0]))
        self.prerelease = (prerelease[0], int(prerelease_num)) if prerelease else None

    def _cmp(self, other):
        if self.version != other.version:
            return -1 if self.version < other.version else 1
        if self.prerelease == other.prerelease:
            return 0
        if not other.prerelease:
            return -1
        if not self.prerelease:
            return 1
        return -1 if self.prerelease < other.prerelease else 1


_VERSION_OPS = {
    "==": "eq", "=": "eq", "eq": "eq", "<": "lt", "lt": "lt", "<=": "le", "le": "le",
    ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge", "!=": "ne", "<>": "ne", "ne": "ne",
}
_CMP_CHECKS = {
    "eq": lambda c: c == 0, "ne": lambda c: c != 0, "lt": lambda c: c < 0,
    "le": lambda c: c <= 0, "gt": lambda c: c > 0, "ge": lambda c: c >= 0,
}
_VERSION_TYPES = {"loose": LooseVersion, "strict": StrictVersion}


def version_compare(value, version, operator="eq", strict=None, version_type=None):
    if strict is not None and version_type is not None:
        raise FilterError("Cannot specify both 'strict' and 'version_type'")
    if not value:
        raise FilterError("Input version value cannot be empty")
    if not version:
        raise FilterError("Version parameter to compare against cannot be empty")
    cls = LooseVersion
    if strict:
        cls = StrictVersion
    elif version_type:
        if version_type in ("semver", "semantic", "pep440"):
            raise FilterError("version_type %r is not available on the node" % version_type)
        try:
            cls = _VERSION_TYPES[version_type]
        except KeyError:
            raise FilterError("Invalid version type (%s). Must be one of 'loose', 'strict', "
                              "'semver', 'semantic', 'pep440'" % version_type)
    if operator not in _VERSION_OPS:
        raise FilterError("Invalid operator type (%s). Must be one of %s"
                          % (operator, ", ".join(map(repr, _VERSION_OPS))))
    try:
        return _CMP_CHECKS[_VERSION_OPS[operator]](cls(to_text(value))._cmp(cls(to_text(version))))
    except Exception as e:
        raise FilterError("Version comparison failed: %s" % e)


def truthy(value, convert_bool=False):
    if convert_bool:
        try:
            value = boolean(value)
        except TypeError:
            pass
    return bool(value)


def falsy(value, convert_bool=False):
    return not truthy(value, convert_bool=convert_bool)


def issubset(a, b):
    return set(a) <= set(b)


def issuperset(a, b):
    return set(a) >= set(b)


def isnotanumber(x):
    try:
        return math.isnan(x)
    except TypeError:
        return False


def contains(seq, value):
    return value in seq


# the version tests also work as filters, as they did in older Ansible (TripleO content uses both)
FILTERS["version"] = FILTERS["version_compare"] = version_compare

TESTS = {
    "failed": failed, "failure": failed,
    "succeeded": success, "success": success, "successful": success,
    "reachable": reachable, "unreachable": unreachable, "timedout": timedout,
    "changed": changed, "change": changed,
    "skipped": skipped, "skip": skipped,
    "finished": finished, "started": started,
    "match": match, "search": search, "regex": regex,
    "version_compare": version_compare, "version": version_compare,
    "any": any, "all": all,
    "truthy": truthy, "falsy": falsy,
    # files.py: evaluated on the node, where Ansible would look at the controller
    "directory": os.path.isdir, "is_dir": os.path.isdir,
    "file": os.path.isfile, "is_file": os.path.isfile,
    "link": os.path.islink, "is_link": os.path.islink,
    "exists": os.path.exists, "link_exists": os.path.lexists,
    "abs": os.path.isabs, "is_abs": os.path.isabs,
    "same_file": os.path.samefile, "is_same_file": os.path.samefile,
    "mount": os.path.ismount, "is_mount": os.path.ismount,
    "subset": issubset, "issubset": issubset,
    "superset": issuperset, "issuperset": issuperset,
    "contains": contains,
    "nan": isnotanumber, "isnan": isnotanumber,
}
"""Tests ansible-core adds to Jinja's (defined/undefined are the templating module's)."""


# -- lookups usable as with_<name> loops -------------------------------------

def _flatten_once(terms):
    ret = []
    for term in terms:
        if isinstance(term, (list, tuple)):
            ret.extend(term)
        else:
            ret.append(term)
    return ret


def lookup_items(terms):
    return _flatten_once(terms)


def lookup_list(terms):
    if not isinstance(terms, collections.abc.Sequence):
        raise FilterError("with_list expects a list")
    return terms


def lookup_dict(terms):
    results = []
    for term in terms:
        if not isinstance(term, collections.abc.Mapping):
            raise FilterError("the 'dict' lookup plugin expects a dictionary, got '%s' of type %s)"
                              % (term, type(term)))
        results.extend({"key": key, "value": term[key]} for key in term)
    return results


def lookup_together(terms):
    if not terms:
        raise FilterError("with_together requires at least one element in each list")
    return [_flatten_once(x) for x in itertools.zip_longest(*terms, fillvalue=None)]


def lookup_nested(terms):
    my_list = list(terms)
    my_list.reverse()
    if not my_list:
        raise FilterError("with_nested requires at least one element in the nested list")
    result = my_list.pop()
    while my_list:
        following = my_list.pop()
        result = [_flatten_once([x, y]) for x in result for y in following]
    return [_flatten_once(x) for x in result]


def lookup_indexed_items(terms):
    items = _flatten_once(terms)
    return list(zip(range(len(items)), items))


def lookup_subelements(terms):
    def terms_error(msg=""):
        raise FilterError("subelements lookup expects a list of two or three items, " + msg)

    if not isinstance(terms, list) or not 2 <= len(terms) <= 3:
        terms_error()
    if not isinstance(terms[0], (list, dict)) or not isinstance(terms[1], str):
        terms_error("first a dict or a list, second a string pointing to the subkey")
    subelements = terms[1].split(".")
    if isinstance(terms[0], dict):
        if terms[0].get("skipped", False) is not False:
            return []
        elementlist = list(terms[0].values())
    else:
        elementlist = terms[0]
    flags = terms[2] if len(terms) == 3 else {}
    if not isinstance(flags, dict) or any(key != "skip_missing" for key in flags):
        terms_error("the optional third item must be a dict with flags ('skip_missing',)")
    skip_missing = boolean(flags.get("skip_missing", False), strict=False)
    ret = []
    for item0 in elementlist:
        if not isinstance(item0, dict):
            raise FilterError("subelements lookup expects a dictionary, got '%s'" % item0)
        if item0.get("skipped", False) is not False:
            continue
        # ansible-core pops the list out of the element it yields
        item0 = json.loads(json.dumps(item0))
        subvalue = item0
        sublist = []
        for position, subkey in enumerate(subelements):
            last = position == len(subelements) - 1
            if subkey not in subvalue:
                if skip_missing:
                    continue
                raise FilterError("could not find '%s' key in iterated item '%s'" % (subkey, subvalue))
            if not last:
                if not isinstance(subvalue[subkey], dict):
                    if skip_missing:
                        continue
                    raise FilterError("the key %s should point to a dictionary, got '%s'"
                                      % (subkey, subvalue[subkey]))
                subvalue = subvalue[subkey]
            elif not isinstance(subvalue[subkey], list):
                raise FilterError("the key %s should point to a list, got '%s'" % (subkey, subvalue[subkey]))
            else:
                sublist = subvalue.pop(subkey, [])
        ret.extend((item0, item1) for item1 in sublist)
    return ret


_SEQUENCE_SHORTCUT = re.compile(r"^((0?x?[0-9a-f]+)-)?(0?x?[0-9a-f]+)(/(0?x?[0-9a-f]+))?(:(.+))?$", re.IGNORECASE)


def _sequence_number(value):
    """Options are decimal integers (the documented hex/octal forms fail in ansible-core 2.19 too)."""
    try:
        return int(value)
    except ValueError:
        raise FilterError("Invalid value provided for 'integer': %r" % value)


def lookup_sequence(terms):
    results = []
    for term in terms:
        options = {"start": 1, "end": None, "count": None, "stride": 1, "format": "%d"}
        shortcut = _SEQUENCE_SHORTCUT.match(term)
        if shortcut:
            _, start, end, _, stride, _, fmt = shortcut.groups()
            given = {"start": start, "end": end, "stride": stride, "format": fmt}
        else:
            given = {}
            for pair in shlex.split(term):
                key, sep, value = pair.partition("=")
                if not sep or key not in options:
                    raise FilterError("unrecognized arguments to with_sequence: %r" % pair)
                given[key] = value
        options.update((k, v) for k, v in given.items() if v is not None)
        for key in ("start", "end", "count", "stride"):
            if options[key] is not None:
                options[key] = _sequence_number(options[key])
        start, end, count, stride, fmt = (options[k] for k in ("start", "end", "count", "stride", "format"))
        if count is None and end is None:
            raise FilterError("must specify count or end in with_sequence")
        if count is not None and end is not None:
            raise FilterError("can't specify both count and end in with_sequence")
        if count is not None:
            if count == 0:
                continue
            end = start + count * stride - 1
        if stride > 0 and end < start:
            raise FilterError("to count backwards make stride negative")
        if stride < 0 and end > start:
            raise FilterError("to count forward don't make stride negative")
        if stride == 0:
            continue
        if fmt.count("%") != 1:
            raise FilterError("bad formatting string: %s" % fmt)
        for i in range(start, end + (1 if stride >= 0 else -1), stride):
            try:
                results.append(fmt % i)
            except (ValueError, TypeError):
                raise FilterError("problem formatting %r with %r" % (i, fmt))
    return results


def _split_on(terms, splitters):
    if isinstance(terms, str):
        return re.split("[%s]" % "".join(map(re.escape, splitters)), terms)
    termlist = []
    for term in terms:
        termlist.extend(_split_on(term, splitters))
    return termlist


def _first_found_candidates(terms):
    """The paths to try, and whether a miss is allowed (the last `skip` given wins)."""
    candidates, skip = [], False
    for term in terms:
        if isinstance(term, collections.abc.Mapping):
            files = _split_on(term.get("files", []), ",;")
            paths = _split_on(term.get("paths", []), ",:;")
            skip = boolean(term.get("skip", False), strict=False)
            candidates.extend([os.path.join(p, f) for p in paths for f in files] if paths else files)
        elif isinstance(term, str):
            candidates.append(term)
        elif is_sequence(term):
            nested, nested_skip = _first_found_candidates(term)
            candidates.extend(nested)
            skip = skip or nested_skip
        else:
            raise FilterError("Invalid term supplied. A string, dict or list is required, not %r)."
                              % type(term).__name__)
    return candidates, skip


def lookup_first_found(terms, search=None):
    """Paths are searched on the node, as given: the controller's role dirs do not exist there;
    with `search` (a task's shipped candidates), relative names resolve as Ansible's search path
    does, among the files the converter shipped from the role or playbook (search_shipped)."""
    candidates, skip = _first_found_candidates(terms)
    for path in candidates:
        if search is not None:
            found = search_shipped(path, search)
            if found is not None:
                return [found]
        elif os.path.exists(path):
            return [os.path.abspath(path)]
    if skip:
        return []
    raise FilterError("No file was found when using first_found.")


def search_shipped(name, search):
    """Where Ansible would find `name` on its controller, among the files the converter shipped.

    search (a task's `search` key): {"subdir": "vars"|"templates"|"files", "dirs": [[node dir,
    gated], ...] (ansible-core's path_dwim_relative_stack order over the task's search path; a
    gated dir is skipped when the name already starts with subdir/), "files": [node paths
    shipped], "patterns": [regexes: every name the task's template could render to that the
    converter shipped for]}. A name no pattern foresaw (an absolute path on the controller, a
    `../`) raises: the node cannot see the controller's files, and a miss must not pass for
    "not found". None when no shipped file answers to the name.

    With "trees" (directories shipped whole, for a name that may be anything: shipping.py
    _run_time_shipment) any relative name is looked for; a place in the order that lies in
    no tree, where Ansible would look next, raises naming it (absolute names are read from
    the Directord server by the core, never here).
    """
    trees = search.get("trees")
    if trees is not None:
        if not isinstance(name, str) or name.startswith(("/", "~")):
            raise FilterError("%r is not a relative name; the file is read from the Directord server" % (name,))
    elif not isinstance(name, str) or not any(re.fullmatch(p, name) for p in search.get("patterns") or ()):
        raise FilterError("%r is not among the names the converter shipped files for (%s); the file "
                          "would be searched on Ansible's controller" % (name, ", ".join(search.get("patterns") or ())))
    shipped = set(search.get("files") or ())
    if name.startswith("/"):
        path = os.path.normpath(name)
        if path in (search.get("unusable") or ()):
            raise FilterError("%s is not a variables file (a mapping); Ansible fails on it too" % path)
        return path if path in shipped else None
    for directory, gated in search.get("dirs") or ():
        if gated and name.split("/")[0] == search.get("subdir"):
            continue
        path = os.path.normpath(os.path.join(directory, name))
        if path in shipped:
            if path in (search.get("unusable") or ()):
                raise FilterError("%r is found at %s, which is not a variables file (a mapping); Ansible "
                                  "fails on it too" % (name, path))
            return path
        if trees is not None and not any(path == tree or path.startswith(tree.rstrip("/") + "/") for tree in trees):
            raise FilterError("%r is in none of the shipped %s directories (%s); Ansible would look for it next "
                              "at %s, which the converter did not ship" % (
                                  name, search.get("subdir"), ", ".join(trees), path))
    return None


LOOKUPS = {
    "items": lookup_items,
    "list": lookup_list,
    "dict": lookup_dict,
    "together": lookup_together,
    "nested": lookup_nested,
    "indexed_items": lookup_indexed_items,
    "subelements": lookup_subelements,
    "sequence": lookup_sequence,
    "first_found": lookup_first_found,
}
"""Lookups that need nothing from the controller: the with_<name> loop kinds."""
