"""community.general.ini_file, as in community.general 13.3.0."""

import os
import re

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import (  # tm:strip
    common_atomic_move, common_backup_local, common_file_args, common_path_info,  # tm:strip
    common_set_fs_attributes, common_validate, common_write_tmp)  # tm:strip

_INI_FILE_SPEC = {
    "path": {"type": "path", "required": True, "aliases": ["dest"]},
    "section": {},
    "section_has_values": {
        "type": "list", "elements": "dict",
        "options": {"option": {"required": True}, "value": {},
                    "values": {"type": "list", "elements": "str"}},
        "mutually_exclusive": [["value", "values"]],
    },
    "option": {},
    "value": {},
    "values": {"type": "list", "elements": "str"},
    "backup": {"type": "bool", "default": False},
    "state": {"default": "present", "choices": ["absent", "present"]},
    "exclusive": {"type": "bool", "default": True},
    "no_extra_spaces": {"type": "bool", "default": False},
    "ignore_spaces": {"type": "bool", "default": False},
    "allow_no_value": {"type": "bool", "default": False},
    "modify_inactive_option": {"type": "bool", "default": True},
    "create": {"type": "bool", "default": True},
    "follow": {"type": "bool", "default": False},
}

# The module brackets the file between a fake first section and a lone "[".
_INI_FILE_FAKE_SECTION = "ad01e11446efb704fcdbdb21f2c43757423d91c5"


def _ini_file_match_opt(option, line):
    return re.match(r"(?: |\t)*(?P<comment>[#;]?)(?: |\t)*%s(?: |\t)*(?P<sep>=|$)(?: |\t)*"
                    r"(?P<value>.*)" % re.escape(option), line)


def _ini_file_match_active_opt(option, line):
    return re.match(r"(?: |\t)*(?P<comment>)%s(?: |\t)*(?P<sep>=|$)(?: |\t)*(?P<value>.*)"
                    % re.escape(option), line)


def _ini_file_update_line(option, changed, section_lines, index, changed_lines, ignore_spaces,
                          newline, msg):
    option_changed = None
    if ignore_spaces:
        old_match = _ini_file_match_opt(option, section_lines[index])
        if not old_match.group("comment"):
            new_match = _ini_file_match_opt(option, newline)
            option_changed = old_match.group("value") != new_match.group("value")
    if option_changed is None:
        option_changed = section_lines[index] != newline
    if option_changed:
        section_lines[index] = newline
        msg = "option changed"
    changed_lines[index] = 1
    return changed or option_changed, msg


def _ini_file_section_has_values(section_has_values, section_lines):
    for condition in section_has_values or ():
        for line in section_lines:
            match = _ini_file_match_opt(condition["option"], line)
            if match and (not condition["values"] or match.group("value") in condition["values"]):
                break
        else:
            return False
    return True


@module("community.general.ini_file")
def ini_file_module(params, ctx):
    p = common_validate("community.general.ini_file", params, _INI_FILE_SPEC, ctx,
                        file_common=True, mutually_exclusive=[["value", "values"]])
    if p["state"] == "present" and not p["allow_no_value"] and p["value"] is None \
            and not p["values"]:
        raise ModuleFailed("Parameter 'value(s)' must be defined if state=present and "
                           "allow_no_value=False.")
    if p["value"] is not None:
        values = [p["value"]]
    else:
        values = p["values"] or []
    for condition in p["section_has_values"] or ():
        if condition["value"] is not None:
            condition["values"] = [condition["value"]]
        elif condition["values"] is None:
            condition["values"] = []
    changed, backup_file, msg = _ini_file_do_ini(p, values, ctx)
    path = p["path"]
    if not ctx.check_mode and os.path.exists(path):
        changed = common_set_fs_attributes(common_file_args(p, ctx), changed, ctx)
    result = {"changed": changed, "msg": msg, "path": path}
    if backup_file is not None:
        result["backup_file"] = backup_file
    return common_path_info(result, ctx)


def _ini_file_do_ini(p, values, ctx):
    filename, section, option = p["path"], p["section"], p["option"]
    section_has_values, state, exclusive = p["section_has_values"], p["state"], p["exclusive"]
    allow_no_value = p["allow_no_value"]
    unique = []
    for value in values:
        if value not in unique and value is not None:
            unique.append(value)
    values = unique

    target = os.path.realpath(filename) if p["follow"] and os.path.islink(filename) else filename
    if not os.path.exists(target):
        if not p["create"]:
            raise ModuleFailed("Destination %s does not exist!" % target, rc=257)
        destpath = os.path.dirname(target)
        if not os.path.exists(destpath) and not ctx.check_mode:
            os.makedirs(destpath)
        ini_lines = []
    else:
        with open(target, encoding="utf-8-sig") as stream:
            ini_lines = stream.readlines()

    changed = False
    if not ini_lines:
        ini_lines.append("\n")
    # a missing newline at the end of the file counts as a change
    if ini_lines[-1] == "" or ini_lines[-1][-1] != "\n":
        ini_lines[-1] += "\n"
        changed = True

    ini_lines.insert(0, "[%s]" % _INI_FILE_FAKE_SECTION)
    ini_lines.append("[")
    if not section:
        section = _INI_FILE_FAKE_SECTION
    within_section = not section
    section_start = section_end = 0
    msg = "OK"
    sep = "=" if p["no_extra_spaces"] else " = "
    option_no_value_present = False
    non_blank_non_comment_pattern = re.compile(r"^[ \t]*([#;].*)?$")
    section_pattern = re.compile(r"^\[\s*%s\s*]" % re.escape(section.strip()))

    for index, line in enumerate(ini_lines):
        if within_section and line.startswith("["):
            if _ini_file_section_has_values(section_has_values,
                                            ini_lines[section_start:index]):
                section_end = index
                break
            within_section = False  # look for another section of that name
            section_start = section_end = 0
        if section_pattern.match(line):
            within_section = True
            section_start = index

    before = ini_lines[0:section_start]
    section_lines = ini_lines[section_start:section_end]
    after = ini_lines[section_end:len(ini_lines)]
    changed_lines = [0] * len(section_lines)
    match_function = (_ini_file_match_opt if p["modify_inactive_option"]
                      else _ini_file_match_active_opt)
    ignore_spaces = p["ignore_spaces"]

    # 1. lines whose value is wanted, 2. other lines of the option, 3. delete the rest,
    # 4. add what is still missing at the end of the section
    if state == "present" and option:
        for index, line in enumerate(section_lines):
            match = match_function(option, line)
            if not match:
                continue
            if values and match.group("value") in values:
                matched_value = match.group("value")
                if not matched_value and allow_no_value:
                    newline = "%s\n" % option
                    option_no_value_present = True
                else:
                    newline = "%s%s%s\n" % (option, sep, matched_value)
                changed, msg = _ini_file_update_line(option, changed, section_lines, index,
                                                     changed_lines, ignore_spaces, newline, msg)
                values.remove(matched_value)
            elif not values and allow_no_value:
                changed, msg = _ini_file_update_line(option, changed, section_lines, index,
                                                     changed_lines, ignore_spaces,
                                                     "%s\n" % option, msg)
                option_no_value_present = True
                break

    if state == "present" and exclusive and not allow_no_value:
        if values:
            for index, line in enumerate(section_lines):
                match = match_function(option, line) if not changed_lines[index] else None
                # a comment that merely mentions the option ("; foo") is not a setting
                if match and not (match.group("comment") and not match.group("sep")):
                    newline = "%s%s%s\n" % (option, sep, values.pop(0))
                    changed, msg = _ini_file_update_line(option, changed, section_lines, index,
                                                         changed_lines, ignore_spaces, newline,
                                                         msg)
                    if not values:
                        break
        for index in range(len(section_lines) - 1, 0, -1):
            match = match_function(option, section_lines[index]) if not changed_lines[index] \
                else None
            if match and not (match.group("comment") and not match.group("sep")):
                del section_lines[index]
                del changed_lines[index]
                changed = True
                msg = "option changed"

    if state == "present":
        for index in range(len(section_lines), 0, -1):
            # after the last line that is neither blank nor a comment
            if not non_blank_non_comment_pattern.match(section_lines[index - 1]):
                if option and values:
                    for element in values[::-1]:
                        section_lines.insert(index, "%s%s%s\n" % (option, sep, element))
                        msg = "option added"
                        changed = True
                elif option and not values and allow_no_value and not option_no_value_present:
                    section_lines.insert(index, "%s\n" % option)
                    msg = "option added"
                    changed = True
                break

    if state == "absent":
        if option:
            if exclusive:
                kept = [line for line in section_lines
                        if not _ini_file_match_active_opt(option, line)]
                if section_lines != kept:
                    changed, msg, section_lines = True, "option changed", kept
            elif values:
                kept = [line for line in section_lines
                        if not (_ini_file_match_active_opt(option, line)
                                and _ini_file_match_active_opt(option, line).group("value")
                                in values)]
                if section_lines != kept:
                    changed, msg, section_lines = True, "option changed", kept
        elif section_lines:
            section_lines = []
            msg = "section removed"
            changed = True

    ini_lines = before + section_lines + after
    del ini_lines[0]
    del ini_lines[-1:]

    if not within_section and state == "present":
        ini_lines.append("[%s]\n" % section)
        msg = "section and option added"
        for condition in section_has_values or ():
            if condition["option"] != option:
                if condition["values"]:
                    for value in condition["values"]:
                        ini_lines.append("%s%s%s\n" % (condition["option"], sep, value))
                elif allow_no_value:
                    ini_lines.append("%s\n" % condition["option"])
            elif not exclusive:
                for value in condition["values"]:
                    if value not in values:
                        values.append(value)
        if option and values:
            for value in values:
                ini_lines.append("%s%s%s\n" % (option, sep, value))
        elif option and not values and allow_no_value:
            ini_lines.append("%s\n" % option)
        else:
            msg = "only section added"
        changed = True

    backup_file = None
    if changed and not ctx.check_mode:
        if p["backup"]:
            backup_file = common_backup_local(target, ctx)
        tmpfile = common_write_tmp(target, "".join(ini_lines).encode("utf-8", "surrogateescape"))
        try:
            common_atomic_move(tmpfile, os.path.abspath(target), ctx)
        finally:
            if os.path.exists(tmpfile):
                os.unlink(tmpfile)
    return changed, backup_file, msg
