"""ansible.builtin.template: render with the core's templar, then copy.

As in Ansible, the action renders the (staged) source and hands the result to
the copy action, so dest directories, mode, owner, backup, force and validate
behave exactly like copy. The template options (trim_blocks, lstrip_blocks,
newline_sequence, the delimiters) reach ctx.render as a `#jinja2:` header,
the override line Ansible's templar itself reads; a header already in the
template wins over the task's options, as in Ansible.
"""

import datetime
import os
import pwd
import shutil
import stat
import tempfile

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_boolean  # tm:strip
from migrator.runtime.modules.copy import copy_module  # tm:strip

# The template-only options and their defaults; they are not passed on to copy.
_TEMPLATE_OPTIONS = {
    "newline_sequence": "\n",
    "variable_start_string": "{{",
    "variable_end_string": "}}",
    "block_start_string": "{%",
    "block_end_string": "%}",
    "comment_start_string": "{#",
    "comment_end_string": "#}",
    "trim_blocks": True,
    "lstrip_blocks": False,
}


@module("ansible.builtin.template", "ansible.legacy.template")
def template_module(params, ctx):
    params = dict(params)
    strings = [k for k, default in _TEMPLATE_OPTIONS.items() if isinstance(default, str)]
    for key in ["src", "dest", "state"] + strings:
        if params.get(key) is not None and not isinstance(params[key], str):
            params[key] = str(params[key])
    options = {}
    for key, default in _TEMPLATE_OPTIONS.items():
        value = params.get(key, default)
        if isinstance(default, bool):
            try:
                value = common_boolean(value)
            except TypeError:
                value = False  # the action plugin's booleans are not strict
        options[key] = value
    try:
        follow = common_boolean(params.get("follow", False))
    except TypeError:
        follow = False
    options["newline_sequence"] = {"\\n": "\n", "\\r": "\r", "\\r\\n": "\r\n"}.get(
        options["newline_sequence"], options["newline_sequence"])
    output_encoding = params.get("output_encoding") or "utf-8"
    source, dest = params.get("src"), params.get("dest")

    if params.get("state") is not None:
        raise ModuleFailed("'state' cannot be specified on a template")
    if source is None or dest is None:
        raise ModuleFailed("src and dest are required")
    if options["newline_sequence"] not in ("\n", "\r", "\r\n"):
        raise ModuleFailed("newline_sequence needs to be one of: \n, \r or \r\n")
    if not os.path.isfile(source):
        raise ModuleFailed("Could not find or access '%s'" % source)

    mode = params.get("mode")
    if mode == "preserve":
        mode = "0%03o" % stat.S_IMODE(os.stat(source).st_mode)
    with open(source, "rb") as stream:
        text = stream.read().decode("utf-8", "surrogateescape")
    resultant = ctx.render(_template_with_overrides(text, options),
                           _template_vars(source, dest, ctx))
    if resultant is None:
        resultant = ""

    copy_args = {k: v for k, v in params.items()
                 if k not in _TEMPLATE_OPTIONS and k != "output_encoding"}
    local_tempdir = tempfile.mkdtemp(prefix="tm-template-")
    try:
        result_file = os.path.join(local_tempdir, os.path.basename(source))
        with open(result_file, "wb") as stream:
            stream.write(resultant.encode(output_encoding, "surrogateescape"))
        copy_args.update(mode=mode, src=result_file, dest=dest, follow=follow)
        return copy_module(copy_args, ctx)
    finally:
        shutil.rmtree(local_tempdir)


def _template_with_overrides(text, options):
    """Prefix the non-default options as a #jinja2: line, merged with the template's own."""
    pairs = ["%s:%r" % (key, value) for key, value in options.items()
             if value != _TEMPLATE_OPTIONS[key]]
    if text.startswith("#jinja2:"):
        header, _, text = text.partition("\n")
        pairs.append(header[len("#jinja2:"):])
    return "#jinja2:%s\n%s" % (",".join(pairs), text) if pairs else text


def _template_vars(source, dest, ctx):
    """The template_* variables (and ansible_managed unless set) Ansible provides."""
    st = os.stat(source)
    try:
        uid = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        uid = st.st_uid
    template_vars = {
        "template_host": os.uname()[1],
        "template_path": source,
        "template_mtime": datetime.datetime.fromtimestamp(st.st_mtime),
        "template_uid": uid,
        "template_run_date": datetime.datetime.now(),
        "template_destpath": dest,
        "template_fullpath": os.path.abspath(source),
    }
    if "ansible_managed" not in ctx.vars:
        template_vars["ansible_managed"] = "Ansible managed"  # DEFAULT_MANAGED_STR
    return template_vars
