"""config_template (openstack ansible-config-template 2.1.1): render, merge overrides, copy.

The action plugin renders `src` (a controller template, or with remote_src a file on the
node; `content` is taken as it is) with Ansible's templar, parses the result as ini, json
or yaml, merges `config_overrides` into it and hands the text to the copy *module* (not
the copy action), with follow=true and `_original_basename`. Here the converter has staged
a controller-side src on the node (migrator/translators/files.py), so every src is a node
path; the merge below follows the plugin step for step, quirks included:

- ini: a line-by-line reader (not configparser's) that keeps comments and lines it does not
  understand as valueless options, drops blank lines (kept in sections when
  ignore_none_type is false) and whatever precedes the first section; a key repeated with
  different values becomes a set written one `key = value` line each, sorted; an
  override removes the option and appends it (in DEFAULT: right after a `#key` comment);
  a mapping of empty values becomes such a multi-valued option; lists join with ','.
  `default_section` only chooses where top-level overrides go.
- json/yaml: a recursive merge where a string holding ',' (or a newline, unless
  yml_multilines, which nested mappings do not inherit) becomes a list; list_extend,
  unset, means false; json is dumped with indent 4 and sorted keys (no final newline),
  yaml by a block-style dumper that indents lists under their key, keys sorted.

Errors the plugin does not catch surface as Ansible shows them: "Unexpected failure during
module execution: <exception>". Diff mode (the plugin's "prepared" changes) is not carried:
the TASK core never runs a port with diff.
"""

import configparser
import datetime
import io
import json
import os
import pwd
import re
import shutil
import tempfile

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_boolean  # tm:strip
from migrator.runtime.modules.copy import _copy_expand_user, copy_run_module  # tm:strip
from migrator.runtime.modules.template import _TEMPLATE_OPTIONS, _template_with_overrides  # tm:strip

_CONFIG_TEMPLATE_TYPES = ("ini", "json", "yaml")
_CONFIG_TEMPLATE_MARKER = "__MARKER__"
# The plugin's own options: the copy module gets every other task argument.
_CONFIG_TEMPLATE_OWN = ("config_overrides", "config_type", "list_extend", "ignore_none_type",
                        "default_section", "yml_multilines", "block_end_string", "block_start_string",
                        "variable_end_string", "variable_start_string", "remote_src", "content",
                        "render_template")
_CONFIG_TEMPLATE_DELIMITERS = ("variable_start_string", "variable_end_string",
                               "block_start_string", "block_end_string")


@module("config_template", "ansible.legacy.config_template", "openstack.config_template.config_template")
def config_template_module(params, ctx):
    try:
        return _config_template_run(dict(params), ctx)
    except ModuleFailed:
        raise
    except Exception as error:  # the plugin's own unguarded steps (merges, parsers)
        raise ModuleFailed("Unexpected failure during module execution: %s" % error, stdout="") from None


def _config_template_run(params, ctx):
    config_type = params.get("config_type")
    if config_type not in _CONFIG_TEMPLATE_TYPES:
        raise ModuleFailed("No valid [ config_type ] was provided. Valid options are ini, yaml, or json.")
    source = params.get("src")
    try:
        remote_src = common_boolean(params.get("remote_src", False))
    except TypeError:
        remote_src = False  # boolean(..., strict=False)
    if remote_src and not (isinstance(source, str) and os.path.isfile(source)
                           and os.access(source, os.R_OK)):
        # the plugin slurps src first and reads the missing 'content' of the failed slurp
        raise KeyError("content")
    if not remote_src and isinstance(source, str) and source and not os.path.isabs(source):
        # the converter makes every controller src it ships absolute: this one it could not
        # ship (remote_src was templated), and the node has no controller search path
        raise ModuleFailed("Could not find or access '%s' on the Ansible Controller: config_template's src "
                           "names a controller file that was not shipped to this node" % source)
    content = params.get("content")
    temporary = None
    if not remote_src and isinstance(content, dict) and config_type == "json":
        content = json.dumps(content)
    if not source:
        text = str(content)  # no content either: the text "None"
        if not text:
            raise ModuleFailed("No user [ src ] or [ content ] was provided")
        fd, temporary = tempfile.mkstemp()
        with os.fdopen(fd, "wb") as stream:
            stream.write(text.encode("utf-8", "surrogateescape"))
        source = temporary
    try:
        return _config_template_apply(params, ctx, config_type, str(source))
    finally:
        if temporary is not None and os.path.exists(temporary):
            os.remove(temporary)


def _config_template_apply(params, ctx, config_type, source):
    dest = params.get("dest")
    if not dest:
        raise ModuleFailed("No [ dest ] was provided")
    dest = _copy_expand_user(str(dest), ctx)
    if dest.endswith(os.sep):
        dest = os.path.join(dest, os.path.basename(source))
    try:
        st = os.stat(source)
    except OSError:
        # the plugin falls back to the stat module, whose result has no 'mtime'
        raise KeyError("mtime") from None
    with open(source, "rb") as stream:
        data = stream.read().decode("utf-8")
    if params.get("content") or not common_boolean(params.get("render_template", True)):
        resultant = data
    else:
        try:
            resultant = ctx.render(_config_template_header(params, data), _config_template_vars(source, st))
        except ModuleFailed:
            raise
        except Exception as error:  # an AnsibleError: its message alone
            raise ModuleFailed(str(error)) from None
    options = {
        "list_extend": params.get("list_extend"),  # unset is None: lists are replaced
        "ignore_none_type": params.get("ignore_none_type", True),
        "default_section": params.get("default_section", "DEFAULT"),
        "yml_multilines": params.get("yml_multilines", False),
    }
    overrides = params.get("config_overrides", {})
    if config_type == "ini":
        text = _config_template_ini(overrides, resultant, options)
    elif config_type == "json":
        merged = _config_template_merge(json.loads(resultant), overrides, options["list_extend"],
                                        options["yml_multilines"])
        text = json.dumps(merged, indent=4, sort_keys=True)
    else:
        merged = _config_template_merge(yaml.safe_load(resultant), overrides, options["list_extend"],
                                        options["yml_multilines"])
        text = yaml.dump(merged, Dumper=_ConfigTemplateDumper, default_flow_style=False, width=1000)

    copy_args = {k: v for k, v in params.items() if k not in _CONFIG_TEMPLATE_OWN}
    workdir = tempfile.mkdtemp(prefix="tm-config-template-")
    try:
        transferred = os.path.join(workdir, "source")
        with open(transferred, "wb") as stream:
            stream.write(text.encode("utf-8", "surrogateescape"))
        copy_args.update(src=transferred, dest=dest, _original_basename=os.path.basename(source),
                         follow=True)
        result = copy_run_module(copy_args, ctx, remote_src=False)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not result.get("changed"):
        result["changed"] = False
    return result


def _config_template_header(params, data):
    """The task's delimiters as a #jinja2: line (a header in the file itself wins)."""
    options = dict(_TEMPLATE_OPTIONS)
    for key in _CONFIG_TEMPLATE_DELIMITERS:
        if params.get(key) is not None:
            options[key] = str(params[key])
    return _template_with_overrides(data, options)


def _config_template_vars(source, st):
    """What the plugin adds to the template's variables (ansible_managed always its own)."""
    try:
        uid = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        uid = st.st_uid
    return {
        "template_host": os.uname()[1],
        "template_path": source,
        "template_mtime": datetime.datetime.fromtimestamp(st.st_mtime),
        "template_uid": uid,
        "ansible_managed": "Ansible managed",  # DEFAULT_MANAGED_STR, with no format fields
        "template_fullpath": os.path.abspath(source),
        "template_run_date": datetime.datetime.now(),
    }


# ---------------------------------------------------------------------------
# json and yaml


class _ConfigTemplateDumper(yaml.SafeDumper):
    """The plugin's dumper: block lists indented under their key."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


_ConfigTemplateDumper.add_multi_representer(str, yaml.SafeDumper.represent_str)
_ConfigTemplateDumper.add_multi_representer(dict, yaml.SafeDumper.represent_dict)
_ConfigTemplateDumper.add_multi_representer(list, yaml.SafeDumper.represent_list)


def _config_template_merge(base, new, list_extend, multilines):
    """The plugin's _merge_dict (a nested mapping does not pass yml_multilines on)."""
    if isinstance(new, dict):
        for key, value in new.items():
            if isinstance(value, dict):
                base[key] = _config_template_merge(base.get(key, {}), value, list_extend, False)
            elif not isinstance(value, int) and ("," in value or ("\n" in value and not multilines)):
                base[key] = [item.strip() for item in re.split(",|\n", value) if item]
            elif isinstance(value, list):
                if isinstance(base.get(key), list) and list_extend:
                    base[key].extend(value)
                else:
                    base[key] = value
            elif isinstance(value, (tuple, set)):
                if isinstance(base.get(key), tuple) and list_extend:
                    base[key] += tuple(value)
                elif isinstance(base.get(key), list) and list_extend:
                    base[key].extend(list(value))
                else:
                    base[key] = value
            else:
                base[key] = new[key]
    elif isinstance(new, list):
        if list_extend:
            base.extend(new)
        else:
            base = new
    return base


# ---------------------------------------------------------------------------
# ini


class _ConfigTemplateSection(dict):
    """An ini section: a key set again with another value holds every value (a tuple of str)."""

    def __setitem__(self, key, value):
        if key not in self:
            super().__setitem__(key, value)
            return
        current = self[key]
        if isinstance(current, tuple):
            if str(value) not in current:
                super().__setitem__(key, current + (str(value),))
        elif isinstance(current, _ConfigTemplateSection):
            pass
        elif str(current) != str(value):
            super().__setitem__(key, (str(current), str(value)))

    def position(self, prefix):
        found = [i for i, key in enumerate(self) if key.startswith(prefix)]
        if len(found) > 1:
            raise SystemError("Index search returned more than one value")
        return found[0]  # IndexError when none

    def inserted(self, index, key, value):
        """A copy with key: value right after the index-th entry."""
        shadow = _ConfigTemplateSection()
        for counter, (k, v) in enumerate(self.items()):
            shadow[k] = v
            if counter == index:
                shadow[key] = value
        return shadow


class _ConfigTemplateIni:
    """The plugin's ConfigTemplateParser over configparser.RawConfigParser, as it behaves."""

    def __init__(self, ignore_none_type):
        self.ignore_none_type = ignore_none_type
        self.defaults = _ConfigTemplateSection()
        self.sections = {}

    def read(self, text):
        section = {}  # before the first header: read, then lost
        for counter, line in enumerate(io.StringIO(text), start=1):
            header = configparser.RawConfigParser.SECTCRE.match(line)
            option = configparser.RawConfigParser.OPTCRE_NV.match(line)
            if header:
                name = header.group("header")
                if name in self.sections:
                    section = self.sections[name]
                elif name == "DEFAULT":
                    section = self.defaults
                else:
                    section = self.sections[name] = _ConfigTemplateSection()
            elif option:
                name, delimiter, value = option.group("option", "vi", "value")
                name = name.rstrip()
                if name and not name.startswith("#") and value:
                    if delimiter in ("=", ":") and ";" in value:
                        at = value.find(";")
                        if value[at - 1].isspace():
                            value = value[:at]
                    value = value.strip()
                    if value == '""':
                        value = ""
                else:
                    name = "%s%s-%d" % (name, _CONFIG_TEMPLATE_MARKER, counter)
                section[name] = value
            else:
                section["%s-%d" % (_CONFIG_TEMPLATE_MARKER, counter)] = None

    def add_section(self, name):
        if name != "DEFAULT" and name not in self.sections:
            self.sections[name] = _ConfigTemplateSection()

    def remove_option(self, section, option):
        if not section or section == "DEFAULT":
            found = self.defaults
        elif section in self.sections:
            found = self.sections[section]
        else:
            raise configparser.NoSectionError(section)
        if option in found:
            del found[option]

    def set(self, section, option, value):
        if not section or section == "DEFAULT":
            try:
                index = self.defaults.position("#%s" % option)
            except (ValueError, IndexError):
                self.defaults[option] = value
            else:
                self.defaults = self.defaults.inserted(index, option, value)
        elif section in self.sections:
            self.sections[section][option] = value
        else:
            raise SystemError("Section %s not found" % section)

    def write(self):
        out = []
        if self.defaults:
            self._write_section(out, "DEFAULT", self.defaults, False)
        for name, section in self.sections.items():
            self._write_section(out, name, section, True)
        return "".join(out)

    def _write_section(self, out, name, section, in_section):
        out.append("[%s]\n" % name)
        for key, value in section.items():
            key = key.split(_CONFIG_TEMPLATE_MARKER)[0]
            if isinstance(value, (tuple, set)):
                for item in sorted(value):
                    self._write_entry(out, key, item, in_section)
            elif isinstance(value, list):
                out.append("%s = %s\n" % (key, ",".join(str(i.replace("\n", "\n\t")) for i in value)))
            else:
                self._write_entry(out, key, value, in_section)
        out.append("\n")

    def _write_entry(self, out, key, item, in_section):
        if in_section and not self.ignore_none_type and item is None:
            out.append(key + "\n")
        elif item is not None:
            out.append("%s = %s\n" % (key, str(item).replace("\n", "\n\t")))
        elif key:
            out.append("%s\n" % key)


def _config_template_ini(overrides, resultant, options):
    config = _ConfigTemplateIni(bool(options["ignore_none_type"]))
    default_section = str(options["default_section"])
    config.read(resultant)
    if default_section != "DEFAULT":
        config.add_section(default_section)
    for section, items in overrides.items():
        if not isinstance(items, dict):
            if isinstance(items, list):
                items = ",".join(_config_template_text(i) for i in items)
            _config_template_option(config, default_section, section, items)
            continue
        config.add_section(section)
        for key, value in items.items():
            try:
                _config_template_option(config, section, key, value)
            except configparser.NoSectionError as error:
                raise ModuleFailed("%s Try being more explicit with your overridedata. Sections are case "
                                   "sensitive." % error) from None
    return config.write()


def _config_template_option(config, section, key, value):
    """The plugin's _option_write: remove, then set (a mapping of empty values: its keys)."""
    config.remove_option(str(section), str(key))
    if isinstance(value, dict) and not any(value.values()):
        value = tuple(value.keys())
    if isinstance(value, (tuple, set)):
        config.set(str(section), str(key), value)
    elif isinstance(value, list):
        config.set(str(section), str(key), ",".join(str(i) for i in value))
    else:
        config.set(str(section), str(key), str(value))


def _config_template_text(value):
    """to_text: bytes decoded, anything else str()."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)
