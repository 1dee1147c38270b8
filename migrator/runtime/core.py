"""Runs one Ansible task on a Directord node, with Ansible's semantics.

The job carries the task (docs/runtime.md); the node keeps Ansible's state
in the Directord cache under `tm`:

    {"layers": {layer: {name: raw value}},   # variables by precedence layer
     "notified": [handler names/topics],              # pending, for messages
     "notify_gen": {name/topic: n}, "handled": {handler: n},  # n counts notifications
     "failed": {source, name, msg, path} | None,       # the host failed
     "blocks": {block id: {source, path}},             # blocks being rescued
     "ended": {parent_id, source} | None,              # meta end_play/end_host
     "trusted": [names],       # set_fact-layer values that are Jinja source
     "written": {arg name: fingerprint}}               # args the runtime owns

and, after every variable change, the effective templated values in `args`
so that built-in jobs rendering `{{ x }}` see what Ansible would.
"""

import fnmatch
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import time
import traceback

from migrator.runtime.api import MODULES, ModuleContext, ModuleFailed  # tm:strip
from migrator.runtime.facts import gather_facts  # tm:strip
from migrator.runtime.filters import LOOKUPS, boolean, from_yaml, lookup_first_found, search_shipped  # tm:strip
from migrator.runtime.templating import (  # tm:strip
    OMIT, Marker, Templar, TemplateError, UndefinedVariable, Vars, finalize, is_all_template, resolve)  # tm:strip

# Ansible's variable precedence, lowest first; host facts sit below play vars
LAYERS = (
    "role_defaults", "inventory", "facts", "play_vars", "play_vars_files", "role_vars",
    "include_vars", "set_fact", "extra_vars",
)
# task and block vars rank between role vars and include_vars
TASK_VARS_AFTER = "role_vars"
# results and gathered facts are data: a "{{" inside them is text, never a template
DATA_LAYERS = frozenset(("facts", "set_fact"))
# registered results that carry playbook text, which Ansible templates on use
TRUSTED_RESULTS = frozenset(("ansible.builtin.include_vars",))

TASK_KEYS = frozenset((
    "module", "args", "source", "name", "when", "loop", "loop_with", "loop_control", "register",
    "failed_when", "changed_when", "until", "retries", "delay", "ignore_errors", "environment",
    "vars", "no_log", "notify", "handler", "become_user", "check_mode", "blocks",
    "async", "poll", "search", "include",
))
INCLUDE_TASKS = "ansible.builtin.include_tasks"
LOOP_CONTROL_KEYS = frozenset(("loop_var", "index_var", "label", "extended", "extended_allitems", "pause"))
SECTIONS = ("block", "rescue", "always")
CENSORED = "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
# the keys ansible-core keeps in a censored result
_CENSOR_KEEP = ("attempts", "changed", "retries")
_JINJA_KEYWORDS = frozenset(("true", "false", "none", "True", "False", "None", "not"))


def _listify(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _fingerprint(value):
    return hashlib.sha1(pickle.dumps(value, protocol=4)).hexdigest()


# -- validation (server side) -------------------------------------------------------

def validate_tasks(tasks, positional=()):
    """Why a batch job cannot run, or None: its value names each task's module in order."""
    if not isinstance(tasks, list) or not tasks:
        return "the job needs `vars: {tasks: [{...}, ...]}`, got %r" % (tasks,)
    for task in tasks:
        problem = validate_task(task)
        if problem:
            return problem
    modules = [task["module"] for task in tasks]
    if list(positional) != modules:
        return "the job value %r does not name the tasks' modules %s" % (" ".join(positional), " ".join(modules))
    return None


def validate_task(task, positional=()):
    """Why a job's task cannot run, or None. Checked when the job is submitted."""
    if not isinstance(task, dict):
        return "the job needs `vars: {task: {...}}`, got %r" % (task,)
    missing = [key for key in ("module", "source") if not isinstance(task.get(key), str)]
    if missing:
        return "task needs string %s" % " and ".join(missing)
    unknown = sorted(set(task) - TASK_KEYS)
    if unknown:
        return "unknown task keys %s (%s)" % (unknown, task["source"])
    if task["module"] not in supported_modules():
        return "module %s is not available in the TASK runtime (%s)" % (task["module"], task["source"])
    if positional and list(positional) != [task["module"]]:
        return "the job value %r does not name the task's module %s" % (" ".join(positional), task["module"])
    if task.get("loop_with") is not None and task["loop_with"] not in LOOKUPS:
        return "with_%s is not available on the node (%s)" % (task["loop_with"], task["source"])
    if not isinstance(task.get("loop_control") or {}, dict):
        return "loop_control must be a mapping, got %r (%s)" % (task["loop_control"], task["source"])
    unknown = sorted(set(task.get("loop_control") or {}) - LOOP_CONTROL_KEYS)
    if unknown:
        return "unknown loop_control keys %s (%s)" % (unknown, task["source"])
    for block in task.get("blocks") or []:
        if not isinstance(block, dict) or not block.get("id") or block.get("section") not in SECTIONS:
            return "blocks entries need an id and a section in %s, got %r" % (SECTIONS, block)
    handler = task.get("handler")
    if handler is not None and not (isinstance(handler, dict) and _listify(handler.get("names"))):
        return "handler needs {names: [...]}, got %r" % (handler,)
    include = task.get("include")
    if (include is not None or task["module"] == INCLUDE_TASKS) and not (
            isinstance(include, dict) and all(isinstance(v, list) for v in include.values())):
        return "%s needs include: {file name: [task, ...]}, got %r (%s)" % (INCLUDE_TASKS, include, task["source"])
    if include is not None and task["module"] != INCLUDE_TASKS:
        return "include belongs to %s only (%s)" % (INCLUDE_TASKS, task["source"])
    for inner in [t for tasks in (include or {}).values() for t in tasks]:
        problem = validate_task(inner)
        if problem:
            return problem
    search = task.get("search")
    if search is not None and not (
            isinstance(search, dict) and all(isinstance(search.get(k), list) for k in ("dirs", "files", "patterns"))
            and all(isinstance(d, list) and len(d) == 2 for d in search["dirs"])):
        return "search needs {subdir, dirs: [[dir, gated], ...], files: [...], patterns: [...]}, got %r" % (search,)
    try:
        json.dumps(task)
    except (TypeError, ValueError) as error:
        return "task is not JSON-serialisable: %s" % error
    return None


def supported_modules():
    return set(PSEUDO_MODULES) | set(MODULES)


# -- the node's state ------------------------------------------------------------------

class HostState:
    """Ansible's per-host state, read from and written back to the Directord cache."""

    def __init__(self, cache):
        self.cache = cache
        tm = cache.get("tm") or {}
        self.layers = tm.get("layers", {})
        self.notified = tm.get("notified", [])
        self.notify_gen = tm.get("notify_gen", {})
        self.handled = tm.get("handled", {})
        self.failed = tm.get("failed")
        self.blocks = tm.get("blocks", {})
        self.ended = tm.get("ended")
        self.trusted = set(tm.get("trusted", ()))
        self.written = tm.get("written", {})
        self.async_jobs = tm.get("async_jobs", {})
        args = cache.get("args") or {}
        # args that built-in jobs (ARG, --stdout-arg, QUERY) set, not the runtime
        self.foreign = {k: v for k, v in args.items() if self.written.get(k) != _fingerprint(v)}
        self.vars_changed = False

    def set_vars(self, layer, values, templated=False):
        """templated marks values of a data layer that are Jinja source nonetheless."""
        self.layers.setdefault(layer, {}).update(values)
        if layer in DATA_LAYERS:
            self.trusted = (self.trusted | set(values)) if templated else (self.trusted - set(values))
        self.vars_changed = True

    def clear_layer(self, layer):
        self.layers.pop(layer, None)
        self.vars_changed = True

    def variables(self, identity, task_vars=None, frame=()):
        """All variables of the host, lowest precedence first, as Ansible orders them.

        frame: [(mapping, templated)] of the dynamic includes around the task, outermost
        first (an include's vars, then its loop item): its parents' vars, below its own."""
        scopes = [(self.foreign, False)]
        for layer in LAYERS:
            values = self.layers.get(layer, {})
            if layer in DATA_LAYERS:
                scopes.append(({k: v for k, v in values.items() if k not in self.trusted}, False))
                scopes.append(({k: v for k, v in values.items() if k in self.trusted}, True))
            else:
                scopes.append((values, True))
            if layer == TASK_VARS_AFTER:
                scopes.extend(frame)
                if task_vars:
                    scopes.append((task_vars, True))
        return _bind_magic(Vars(scopes), identity, self.foreign)

    def save(self, identity):
        if self.vars_changed:
            self._materialise(identity)
        self.cache["tm"] = {
            "layers": self.layers, "notified": self.notified, "failed": self.failed,
            "notify_gen": self.notify_gen, "handled": self.handled,
            "blocks": self.blocks, "ended": self.ended, "trusted": sorted(self.trusted),
            "written": self.written, "async_jobs": self.async_jobs,
        }

    def _materialise(self, identity):
        """Write the effective, fully templated variables into args.

        A variable that cannot be templated yet (undefined parts, omit) stays
        out of args but remains in its layer.
        """
        variables = self.variables(identity)
        effective = {}
        for name in {name for layer in self.layers.values() for name in layer}:
            try:
                value = finalize(variables[name])
            except Exception:
                continue
            if value is not OMIT:
                effective[name] = value
        args = dict(self.foreign)
        args.update(effective)
        self.cache["args"] = args
        self.written = {name: _fingerprint(value) for name, value in effective.items()}


def _bind_magic(variables, identity, foreign):
    """Ansible's magic variables: inventory_hostname (unless a layer sets it), hostvars, vars."""
    if "inventory_hostname" in variables:
        hostname = variables["inventory_hostname"]
    else:
        hostname = identity
        variables.bind("inventory_hostname", hostname)
    variables.bind("inventory_hostname_short", str(hostname).split(".")[0])
    # other nodes' variables are what Directord QUERY jobs collected
    query = foreign.get("query")
    hostvars = dict(query) if isinstance(query, dict) else {}
    hostvars[hostname] = variables
    variables.bind("hostvars", hostvars)
    variables.bind("vars", variables)
    return variables


# -- reports -------------------------------------------------------------------------

class Report:
    """What the job returns to Directord."""

    def __init__(self, task, status, outcome, result=None, msg=None, no_log=False):
        self.task = task
        self.status = status
        self.outcome = outcome
        self.result = result
        self.msg = msg
        self.no_log = no_log

    def as_tuple(self):
        shown = _censor(self.result) if self.no_log and self.result is not None else self.result
        document = {"status": self.status, "task": self.task.get("name"),
                    "module": self.task["module"], "source": self.task["source"]}
        if shown is not None:
            document["result"] = shown
        if self.msg:
            document["msg"] = CENSORED if self.no_log else self.msg
        stdout = json.dumps(document, indent=2, sort_keys=True, default=str)
        stderr = None
        if self.status in ("failed", "ignored", "rescued") or not self.outcome:
            stderr = CENSORED if self.no_log else self.msg
        label = self.task.get("name") or self.task["module"]
        return stdout, stderr, self.outcome, "%s: %s (%s)" % (self.status, label, self.task["source"])


def _censor(result):
    censored = {key: result[key] for key in _CENSOR_KEEP if key in result}
    censored["censored"] = CENSORED
    if "results" in result:
        censored["results"] = [_censor(item) for item in result["results"]]
    return censored


class RuntimeContext(ModuleContext):
    """ModuleContext bound to the node's variables: vars resolve lazily, render() templates."""

    def __init__(self, templar, **kwargs):
        super().__init__(**kwargs)
        self.templar = templar
        self.vars = templar.variables

    def render(self, text, extra_vars=None, **overrides):
        """Render a file like the template module (trim_blocks, #jinja2: header, ...)."""
        return self.templar.render_text(text, extra_vars, **overrides)


# -- one task ----------------------------------------------------------------------

class TaskRun:
    """One TASK job: gates, conditionals, loops, retries, results, state changes."""

    def __init__(self, task, state, identity, parent_id=None, frame=(), fetch=None):
        self.task = task
        self.fetch = fetch  # fetch(path, local file): read a file from the Directord server (component.py)
        self.fetched = []  # temporary directories holding what it read, removed after the task
        self.state = state
        self.identity = identity
        self.parent_id = parent_id
        self.frame = tuple(frame)
        self.module = task["module"]
        self.stack = task.get("blocks") or []
        self.source = task["source"]
        self.loop_error = None

    def run(self):
        gated = self._gate()
        if gated:
            return gated
        variables = self.state.variables(self.identity, self.task.get("vars"), self.frame)
        templar = Templar(variables)
        no_log = self._no_log(templar)
        try:
            result = self._run_all(variables, templar)
        except Exception as error:
            result = _failure(error)
        finally:
            for directory in self.fetched:
                shutil.rmtree(directory, ignore_errors=True)
        result.setdefault("changed", False)
        if self.task.get("register"):
            self.state.set_vars("set_fact", {self.task["register"]: result},
                                templated=self.module in TRUSTED_RESULTS)
        failed = bool(result.get("failed"))
        skipped = bool(result.get("skipped"))
        if not failed and not skipped:
            self._apply_facts(result)
            if result["changed"] and self.task.get("notify"):
                self._notify(templar)
        if failed:
            return self._fail(result, templar, no_log)
        status = "skipped" if skipped else "changed" if result["changed"] else "ok"
        return Report(self.task, status, True, result, result.get("skip_reason"), no_log)

    # gates: whether the task runs at all on this host --------------------------

    def _gate(self):
        ids = {block["id"] for block in self.stack}
        # execution has left these blocks: their failure state no longer applies
        for block_id in [b for b in self.state.blocks if b not in ids]:
            del self.state.blocks[block_id]
        failed = self.state.failed
        if failed and not self._in_always_of(failed["path"]):
            return Report(self.task, "skipped", self._always_pending(failed["path"]),
                          msg="skipped: host failed at %s" % failed["source"])
        ended = self.state.ended
        if ended and ended["parent_id"] == self.parent_id:
            return Report(self.task, "skipped", True, msg="skipped: play ended at %s" % ended["source"])
        for depth, block in enumerate(self.stack):
            failure = self.state.blocks.get(block["id"])
            if block["section"] == "block" and failure and not self._in_always_of(failure["path"], depth + 1):
                return Report(self.task, "skipped", True,
                              msg="skipped: block failed at %s, its rescue runs" % failure["source"])
            if block["section"] == "rescue" and not failure:
                return Report(self.task, "skipped", True, msg="skipped: the block did not fail")
        handler = self.task.get("handler")
        if handler:
            names = _listify(handler.get("names"))
            # every handler listening to a topic runs once per notification of it
            key = json.dumps(names)
            last = self.state.handled.get(key, 0)
            if not any(self.state.notify_gen.get(name, 0) > last for name in names):
                return Report(self.task, "skipped", True, msg="skipped: handler not notified")
            self.state.handled[key] = max(self.state.notify_gen.values())
            self.state.notified = [n for n in self.state.notified if n not in names]
        return None

    def _in_always_of(self, path, start=0):
        """True when this job is in the always section of a block the failure escaped."""
        return any(b["section"] == "always" and b["id"] in path for b in self.stack[start:])

    def _always_pending(self, path):
        """An always section of a failed block is still to come: Directord must go on to it."""
        return any(b.get("always") and b["section"] != "always" and b["id"] in path for b in self.stack)

    # running ------------------------------------------------------------------

    def _no_log(self, templar):
        value = self.task.get("no_log", False)
        try:
            return boolean(templar.template(value), strict=False)
        except Exception:
            return True  # when in doubt, hide

    def _run_all(self, variables, templar):
        try:
            items = self._loop_items(templar)
        except UndefinedVariable as error:
            # as ansible-core: raised only if `when` does not skip the task first
            items, self.loop_error = None, error
        if items is None:
            return self._execute(variables)
        if not items:
            return {"changed": False, "skipped": True, "skipped_reason": "No items in the list", "results": []}
        return self._run_loop(variables, items)

    def _loop_items(self, templar):
        loop, kind = self.task.get("loop"), self.task.get("loop_with")
        if kind:
            if kind == "first_found":
                # with_first_found skips terms that are undefined
                terms = finalize(_drop_undefined(resolve(loop, templar.variables)))
                # relative names: among the files shipped from the controller's search path
                return lookup_first_found(terms if isinstance(terms, list) else [terms], self.task.get("search"))
            else:
                terms = templar.template(loop)
            return LOOKUPS[kind](terms if isinstance(terms, list) else [terms])
        if loop is None:
            return None
        items = templar.template(loop)
        if not isinstance(items, list):
            raise TemplateError("The `loop` value must resolve to a 'list', not %r." % type(items).__name__)
        return items

    def _run_loop(self, variables, items):
        control = self.task.get("loop_control") or {}
        loop_var = control.get("loop_var", "item")
        index_var = control.get("index_var")
        label = control.get("label", "{{ %s }}" % loop_var)
        register = self.task.get("register")
        results = []
        carried = {}  # facts set by earlier items: ansible-core updates the loop's task vars with them
        for index, item in enumerate(items):
            if index and control.get("pause"):
                time.sleep(float(control["pause"]))
            scope = {loop_var: item, "ansible_loop_var": loop_var}
            if index_var:
                scope.update({index_var: index, "ansible_index_var": index_var})
            if control.get("extended"):
                scope["ansible_loop"] = _loop_info(items, index, control.get("extended_allitems", True))
            if register and results:
                scope[register] = results[-1]  # ansible-core exposes the previous item's result
            item_vars = _bind_magic(variables.overlay(dict(carried, **scope)), self.identity, self.state.foreign)
            try:
                result = self._execute(item_vars)
            except Exception as error:
                result = _failure(error)
            if isinstance(result.get("ansible_facts"), dict) and self.module != "ansible.builtin.debug":
                carried.update(result["ansible_facts"])
            result.update({k: v for k, v in scope.items() if k != register})
            try:
                Templar(item_vars).template(label)
            except UndefinedVariable as error:
                result.update(failed=True, msg="Failed to template loop_control.label: %s" % error)
            results.append(result)
        return _loop_result(results)

    def _execute(self, variables):
        """ansible-core's TaskExecutor._execute for one item (or the whole task)."""
        check_mode = boolean(Templar(variables).template(self.task.get("check_mode", False)), strict=False)
        # ansible-core sets ansible_check_mode from the --check option only (load_options_vars),
        # never from the task's check_mode keyword; a converted run has no --check
        variables.bind("ansible_check_mode", False)
        templar = Templar(variables)
        try:
            run, false_condition = templar.all_true(_listify(self.task.get("when")))
        except TemplateError:
            if self.loop_error:
                raise self.loop_error
            raise
        if not run:
            return {"changed": False, "skipped": True, "skip_reason": "Conditional result was False",
                    "false_condition": false_condition}
        if self.loop_error:
            raise self.loop_error
        params = self._params(templar)
        self._find_shipped(params)
        register = self.task.get("register")
        until = _listify(self.task.get("until"))
        retries = 1
        if self.task.get("retries") is not None:
            retries += max(0, int(templar.template(self.task["retries"])))
        elif until:
            retries += 3
        delay = float(templar.template(self.task.get("delay", 5)))
        delay = 1 if delay < 0 else delay
        for attempt in range(1, retries + 1):
            result = self._call_module(params, templar, check_mode)
            if "failed" not in result:
                # modules may report failure by rc only
                result["failed"] = "rc" in result and result["rc"] not in (0, "0")
            if retries > 1:
                result["attempts"] = attempt
            result.setdefault("changed", False)
            if register:
                templar = Templar(_bind_magic(variables.overlay({register: result}),
                                              self.identity, self.state.foreign))
            if "skipped" not in result:
                self._changed_failed_when(result, templar)
            if retries > 1:
                if templar.all_true(until or [not result["failed"]])[0]:
                    break
                if attempt < retries:
                    result["retries"] = retries
                    time.sleep(delay)
        else:
            if retries > 1:
                result["attempts"] = retries - 1
                result["failed"] = True
        return result

    def _changed_failed_when(self, result, templar):
        condition = "changed"
        try:
            changed_when = _listify(self.task.get("changed_when"))
            if changed_when:
                result["changed"] = templar.all_true(changed_when)[0]
            condition = "failed"
            failed_when = _listify(self.task.get("failed_when"))
            if failed_when:
                result["failed_when_result"] = result["failed"] = templar.all_true(failed_when)[0]
        except TemplateError as error:
            result["failed"] = True
            result["%s_when_result" % condition] = str(error)

    def _params(self, templar):
        """Template the module arguments, as ansible-core finalizes task args."""
        raw_keys = RAW_ARGS.get(self.module, ())
        params = {}
        for key, value in (self.task.get("args") or {}).items():
            if key in raw_keys:
                params[key] = value
                continue
            try:
                value = templar.template(value)
            except TemplateError as error:
                raise TemplateError("Finalization of task args for %r failed: Error while resolving "
                                    "value for %r: %s" % (self.module, key, error))
            if value is not OMIT:
                params[key] = value
        return params

    def _find_shipped(self, params):
        """A templated controller-side argument (copy/template src, include_vars file): the
        shipped file it names or, for an absolute path where the search allows it (`server`),
        the controller's file read from the Directord server, Ansible's controller here."""
        search = self.task.get("search")
        arg = search.get("arg") if search else None
        if not arg or not isinstance(params.get(arg), str):
            return
        if search.get("server") and params[arg].startswith(("/", "~")):
            params[arg] = self._from_server(params[arg], params)
            return
        try:
            found = search_shipped(params[arg], search)
        except Exception as error:
            raise ModuleFailed("Could not find or access '%s': %s" % (params[arg], error))
        if found is None:
            raise ModuleFailed("Could not find or access '%s' on the Ansible Controller." % params[arg])
        # a trailing slash keeps its meaning (copy a directory's contents)
        params[arg] = found + ("/" if params[arg].endswith("/") and not found.endswith("/") else "")

    def _from_server(self, name, params):
        """The controller's file `name`, read from the Directord server into a temporary
        directory of the node under its own base name (copy and template name a destination
        directory's file after it); include_vars still reports the controller's path."""
        if self.fetch is None:
            raise ModuleFailed("Could not find or access '%s': it is read from the Directord server, and this "
                               "run has no connection to one" % name)
        if params.get("mode") == "preserve":
            raise ModuleFailed("mode=preserve cannot be kept for '%s': the Directord server sends a file's "
                               "content, not its mode" % name)
        directory = tempfile.mkdtemp(prefix="tm-controller-")
        self.fetched.append(directory)
        local = os.path.join(directory, os.path.basename(os.path.normpath(name)) or "file")
        try:
            self.fetch(name, local)
        except Exception as error:
            raise ModuleFailed("Could not find or access '%s' on the Directord server: %s" % (name, error))
        if self.module == "ansible.builtin.include_vars":
            params["_path"] = name
        return local

    def _call_module(self, params, templar, check_mode):
        if self.module in PSEUDO_MODULES:
            return PSEUDO_MODULES[self.module](self, dict(params), templar)
        environment = {}
        for entry in _listify(templar.template(self.task.get("environment"))):
            environment.update(entry)
        seconds = int(templar.template(self.task.get("async") or 0))
        ctx = RuntimeContext(
            templar,
            check_mode=check_mode,
            environment={k: v for k, v in environment.items() if v is not None},
            become_user=templar.template(self.task.get("become_user")),
            timeout=seconds or None,
        )
        try:
            result = MODULES[self.module](dict(params), ctx)
        except ModuleFailed as error:
            result = dict(error.result)
        except TemplateError as error:
            result = {"failed": True, "msg": str(error)}
        except Exception as error:
            result = {"failed": True, "exception": traceback.format_exc(),
                      "msg": "Unexpected failure during module execution: %s: %s" % (type(error).__name__, error)}
        if not isinstance(result, dict):
            result = {"failed": True, "msg": "module %s returned %r instead of a result dict"
                      % (self.module, type(result).__name__)}
        if ctx.warnings:
            result["warnings"] = list(result.get("warnings") or []) + ctx.warnings
        if seconds:
            result = self._async_result(result)
        return result

    def _async_result(self, result):
        """`async` tasks run to completion here (the converter says so for poll: 0);
        their result is kept under a job id for async_status, as Ansible's is."""
        jid = "j%s" % _fingerprint([self.source, len(self.state.async_jobs)])[:12]
        results_file = os.path.join(os.path.expanduser("~/.ansible_async"), jid)
        result = dict(result, ansible_job_id=jid, started=True, finished=True, results_file=results_file)
        self.state.async_jobs[jid] = result
        poll = self.task.get("poll", 15)
        if str(poll).strip() in ("0", "False", "false"):
            # fire and forget: Ansible registers the wrapper's answer, not the module's
            return {"ansible_job_id": jid, "started": True, "finished": False, "results_file": results_file,
                    "changed": True, "failed": False}
        return result

    # after the run ---------------------------------------------------------------

    def _apply_facts(self, result):
        items = result.get("results") if "results" in result else [result]
        for item in items:
            facts = item.get("ansible_facts") if isinstance(item, dict) else None
            if not facts or self.module == "ansible.builtin.debug":
                continue
            if self.module == "ansible.builtin.set_fact":
                self.state.set_vars("set_fact", facts)
            elif self.module == "ansible.builtin.include_vars":
                self.state.set_vars("include_vars", facts)
            else:
                # gathered facts: under ansible_facts without the prefix, and as top-level vars
                layer = self.state.layers.get("facts", {})
                namespaced = dict(layer.get("ansible_facts") or {})
                namespaced.update({_unprefixed(k): v for k, v in facts.items()})
                self.state.set_vars("facts", dict(facts, ansible_facts=namespaced))

    def _notify(self, templar):
        for name in _listify(self.task["notify"]):
            name = templar.template(name)
            if name not in self.state.notified:
                self.state.notified.append(name)
            self.state.notify_gen[name] = max(self.state.notify_gen.values(), default=0) + 1

    def _fail(self, result, templar, no_log):
        msg = str(result.get("msg") or "Task failed")
        ignore = False
        try:
            ignore = boolean(templar.template(self.task.get("ignore_errors", False)), strict=False)
        except TemplateError as error:
            msg = "%s; ignore_errors: %s" % (msg, error)
        if ignore:
            return Report(self.task, "ignored", True, result, msg, no_log)
        path = [block["id"] for block in self.stack if block["section"] != "always"]
        rescuer = next((b for b in reversed(self.stack) if b["section"] == "block" and b.get("rescue")), None)
        if rescuer:
            self.state.blocks[rescuer["id"]] = {"source": self.source, "path": path}
            # the task's own text is templated on use, its result is data
            self.state.set_vars("set_fact", {"ansible_failed_task": {
                "name": self.task.get("name"), "action": self.module,
                "args": self.task.get("args") or {}, "source": self.source}}, templated=True)
            self.state.set_vars("set_fact", {"ansible_failed_result": result})
            return Report(self.task, "rescued", True, result, msg, no_log)
        self.state.failed = {"source": self.source, "name": self.task.get("name"),
                             "msg": CENSORED if no_log else msg, "path": path}
        return Report(self.task, "failed", self._always_pending(path), result, msg, no_log)


def _failure(error):
    """A task that raised: ansible-core reports the exception as a failed result."""
    if isinstance(error, (TemplateError, ModuleFailed)):
        message = str(error)
    else:
        message = "%s: %s" % (type(error).__name__, error)
    return {"failed": True, "changed": False, "msg": "Task failed: %s" % message}


def _drop_undefined(value):
    if isinstance(value, dict):
        return {k: _drop_undefined(v) for k, v in value.items() if not _is_undefined(v)}
    if isinstance(value, list):
        return [_drop_undefined(v) for v in value if not _is_undefined(v)]
    return value


def _is_undefined(value):
    return isinstance(value, Marker) and type(value) is Marker


def _unprefixed(name):
    return name[len("ansible_"):] if name.startswith("ansible_") else name


def _loop_info(items, index, allitems):
    info = {
        "index": index + 1, "index0": index, "first": index == 0, "last": index + 1 == len(items),
        "length": len(items), "revindex": len(items) - index, "revindex0": len(items) - index - 1,
    }
    if allitems:
        info["allitems"] = items
    if index + 1 < len(items):
        info["nextitem"] = items[index + 1]
    if index > 0:
        info["previtem"] = items[index - 1]
    return info


def _loop_result(results):
    """ansible-core's aggregation of item results."""
    result = {"results": results, "skipped": True}
    for item in results:
        if item.get("changed"):
            result["changed"] = True
        if not item.get("skipped"):
            result["skipped"] = False
        if item.get("failed") and not result.get("failed"):
            result["failed"] = True
            result["msg"] = "One or more items failed"
    if not result.get("failed"):
        result["msg"] = "All items completed"
    if result["skipped"]:
        result["msg"] = "All items skipped"
    return result


# -- modules the core implements ------------------------------------------------------

def _check_params(module, params, allowed):
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ModuleFailed("Unsupported parameters for (%s) module: %s. Supported parameters include: %s."
                           % (module, ", ".join(unknown), ", ".join(sorted(allowed))))


def _debug(run, params, templar):
    _check_params(run.module, params, ("msg", "var", "verbosity"))
    if "msg" in params and "var" in params:
        raise ModuleFailed("parameters are mutually exclusive: msg|var")
    if int(params.get("verbosity", 0)) > 0:
        # a node runs at verbosity 0
        return {"skipped": True, "skipped_reason": "Verbosity threshold not met.", "failed": False}
    if "var" in params:
        expression = params["var"]
        try:
            value = templar.evaluate(expression, strict=False)
        except TemplateError as error:
            raise ModuleFailed("Error while resolving `var` expression: %s" % error)
        found = []
        result = {expression: _replace_markers(value, found), "failed": False}
        if found:
            result["warnings"] = ["Encountered %d template error%s.%s" % (
                len(found), "s" if len(found) > 1 else "",
                "".join("\nerror %d - %s" % (n, m._undefined_message) for n, m in enumerate(found, 1)))]
        return result
    return {"msg": params.get("msg", "Hello world!"), "failed": False}


def _replace_markers(value, found):
    """debug var= shows undefined parts as numbered errors, as ansible-core does."""
    if isinstance(value, Marker):
        found.append(value)
        return "<< error %d - %s >>" % (len(found), value._undefined_message)
    if isinstance(value, dict):
        return {k: _replace_markers(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_markers(v, found) for v in value]
    return value


def _fail(run, params, templar):
    _check_params(run.module, params, ("msg",))
    return {"failed": True, "msg": params.get("msg", "Failed as requested from task")}


def _assert(run, params, templar):
    _check_params(run.module, params, ("that", "fail_msg", "msg", "success_msg", "quiet"))
    if "that" not in params:
        raise ModuleFailed("missing required arguments: that")
    that = params["that"]
    if isinstance(that, str) and is_all_template(that):
        # a template yielding a list of conditions is used as that list
        try:
            resolved = templar.template(that)
        except TemplateError:
            resolved = None
        that = resolved if isinstance(resolved, list) else that
    fail_msg = params.get("fail_msg", params.get("msg", "Assertion failed"))
    for condition in _listify(that):
        if not templar.conditional(condition):
            return {"failed": True, "evaluated_to": False, "assertion": condition, "msg": fail_msg}
    return {"changed": False, "msg": params.get("success_msg", "All assertions passed")}


def _set_fact(run, params, templar):
    params.pop("cacheable", None)  # no fact cache on a node
    if not params:
        raise ModuleFailed("No key/value pairs provided, at least one is required for this action to succeed")
    facts = {}
    for key, value in params.items():
        key = templar.template(key)
        if not (isinstance(key, str) and key.isidentifier() and key.isascii() and key not in _JINJA_KEYWORDS):
            raise ModuleFailed("Invalid variable name %r." % (key,))
        facts[key] = value
    return {"ansible_facts": facts, "changed": False}


def _include_tasks(run, params, templar):
    """The include itself: which of the files converted into the job the name renders to.
    Its tasks run after it, per loop item (run_task)."""
    _check_params(run.module, params, ("file", "_raw_params"))
    name = params.get("file") or params.get("_raw_params")
    if name not in (run.task.get("include") or {}):
        raise ModuleFailed("Could not find or access '%s': the converter found no such task file (it has %s)"
                           % (name, ", ".join(sorted(run.task.get("include") or {})) or "none"))
    return {"include": name, "changed": False}


def run_task(task, state, identity, parent_id=None, frame=(), fetch=None):
    """Run one task; for a dynamic include, then its file's tasks per loop item, as
    ansible-core runs an included file once per item that passed the include's `when`.

    An included task sees the include's vars and the item (loop_var, index_var,
    ansible_loop) as its parents' vars, below its own; the include's other keywords
    are the include's alone (its parents' reach the tasks through their own specs).
    """
    run = TaskRun(task, state, identity, parent_id, frame, fetch)
    report = run.run()
    reports = [report]
    if task["module"] != INCLUDE_TASKS or report.status not in ("ok", "changed") or not report.result:
        return reports
    result = report.result
    control = task.get("loop_control") or {}
    looped = "results" in result
    names = [control.get("loop_var", "item"), "ansible_loop_var", control.get("index_var"),
             "ansible_index_var", "ansible_loop"]
    own_blocks = {block["id"] for block in task.get("blocks") or []}
    for item in result["results"] if looped else [result]:
        if item.get("skipped") or item.get("failed") or item.get("include") not in task["include"]:
            continue
        special = {name: item[name] for name in names if looped and name and name in item}
        inner_frame = tuple(frame) + ((task.get("vars") or {}, True), (special, False))
        # blocks of the included file start afresh for each item
        for block_id in [b for b in state.blocks if b not in own_blocks]:
            del state.blocks[block_id]
        for inner in task["include"][item["include"]]:
            reports.extend(run_task(inner, state, identity, parent_id, inner_frame, fetch))
    return reports


def _include_vars(run, params, templar):
    _check_params(run.module, params, ("file", "_raw_params", "data", "name", "_candidates", "_path"))
    path = params.get("file") or params.get("_raw_params")
    if "_candidates" in params:
        # a templated name: the converter inlined every file it could render to, {name: [path, data]}
        candidates = params["_candidates"]
        if path not in candidates:
            raise ModuleFailed("Could not find or access '%s' on the Ansible Controller." % path)
        found, data = candidates[path]
        files = [found]
    elif "data" in params:
        data, files = params["data"], [params["_path"]] if params.get("_path") else []
    elif path:
        try:
            with open(path) as f:
                data = from_yaml(f.read())
        except (OSError, ValueError) as error:
            raise ModuleFailed("Could not load %s: %s" % (path, error))
        files = [params.get("_path") or os.path.abspath(path)]
    else:
        raise ModuleFailed("one of the following is required: file, data")
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ModuleFailed("%s must be stored as a dictionary/hash" % (path or "data"))
    if params.get("name"):
        data = {params["name"]: data}
    return {"ansible_facts": data, "ansible_included_var_files": files, "changed": False}


def _setup(run, params, templar):
    _check_params(run.module, params, ("filter", "gather_subset", "gather_timeout", "fact_path"))
    facts = gather_facts()
    patterns = _listify(params.get("filter"))
    if patterns:
        facts = {k: v for k, v in facts.items() if any(fnmatch.fnmatch(k, p) for p in patterns)}
    return {"ansible_facts": facts, "changed": False}


def _async_status(run, params, templar):
    _check_params(run.module, params, ("jid", "mode", "_async_dir"))
    jid, mode = params.get("jid"), params.get("mode", "status")
    if mode not in ("status", "cleanup"):
        raise ModuleFailed("value of mode must be one of: status, cleanup, got: %s" % mode)
    if jid not in run.state.async_jobs:
        # a module failure, not an action-plugin error: no "Task failed" prefix
        return ModuleFailed("could not find job", ansible_job_id=jid, started=1, finished=1).result
    if mode == "cleanup":
        erased = run.state.async_jobs.pop(jid).get("results_file", jid)
        return {"ansible_job_id": jid, "erased": erased, "started": False, "finished": False,
                "stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": [], "changed": False}
    # the action plugin's defaults, under the module's result; started/finished are booleans
    result = {"stdout": "", "stderr": "", "stdout_lines": [], "stderr_lines": []}
    result.update(run.state.async_jobs[jid])
    result.update(started=True, finished=True)
    return result


def _meta(run, params, templar):
    action = params.get("_raw_params")
    if action in ("end_play", "end_host"):
        # the play is this job's Directord orchestration (parent_id): later plays run again
        run.state.ended = {"parent_id": run.parent_id, "source": run.source}
        return {"changed": False, "msg": "ending play" if action == "end_play" else "ending host"}
    if action == "flush_handlers":
        return _flush_handlers(run, params, templar)
    if action == "noop":
        return {"changed": False, "msg": "noop"}
    if action == "clear_facts":
        run.state.clear_layer("facts")
        return {"changed": False, "msg": "facts cleared"}
    raise ModuleFailed("meta %r is not supported on the node" % action)


def _flush_handlers(run, params, templar):
    """Handler jobs follow this job and run if notified; what is pending is shown."""
    return {"changed": False, "msg": "notified handlers: %s" % (", ".join(run.state.notified) or "none")}


def _end_play(run, params, templar):
    return _meta(run, {"_raw_params": "end_play"}, templar)


def _tm_vars(run, params, templar):
    _check_params(run.module, params, ("layer", "vars", "clear"))
    layer, values, clear = params.get("layer"), params.get("vars"), _listify(params.get("clear"))
    if layer not in LAYERS or any(c not in LAYERS for c in clear):
        raise ModuleFailed("layer must be one of %s, got %r" % (", ".join(LAYERS), [layer] + clear))
    if not isinstance(values, dict):
        raise ModuleFailed("vars must be a dict, got %s" % type(values).__name__)
    for name in clear:  # a new play: the last play's vars and roles are out of scope
        run.state.clear_layer(name)
    run.state.set_vars(layer, values)
    return {"changed": False, "msg": "%d variables set in %s" % (len(values), layer)}


PSEUDO_MODULES = {
    "ansible.builtin.debug": _debug,
    "ansible.builtin.fail": _fail,
    "ansible.builtin.assert": _assert,
    "ansible.builtin.set_fact": _set_fact,
    "ansible.builtin.include_vars": _include_vars,
    "ansible.builtin.include_tasks": _include_tasks,
    "ansible.builtin.setup": _setup,
    "ansible.builtin.gather_facts": _setup,
    "ansible.builtin.meta": _meta,
    "ansible.builtin.async_status": _async_status,
    "tm.vars": _tm_vars,
    "tm.flush_handlers": _flush_handlers,
    "tm.end_play": _end_play,
}
"""Modules the core runs itself, with the raw task as context."""

# arguments these modules take untemplated: expressions, or data templated on use
RAW_ARGS = {
    "ansible.builtin.debug": ("var",),
    "ansible.builtin.assert": ("that",),
    "ansible.builtin.include_vars": ("data", "_candidates"),
    "ansible.builtin.meta": ("_raw_params",),
    "tm.vars": ("vars",),
}


def run_job(cache, job, identity, fetch=None):
    """Run the job's task(s) against the cache; returns Directord's (stdout, stderr, outcome, info).

    fetch(path, local file) reads a controller file from the Directord server (component.py),
    None where there is no server.

    A batch runs its tasks in order, exactly as consecutive jobs would: a failed
    task marks the host failed and the next ones skip (or run, in always/rescue).
    """
    state = HostState(cache)
    tasks = job["tasks"] if "tasks" in job else [job["task"]]
    reports = [report.as_tuple() for task in tasks
               for report in run_task(task, state, identity, job.get("parent_id"), fetch=fetch)]
    state.save(identity)
    if len(reports) == 1:
        return reports[0]
    stdout = "[\n%s\n]" % ",\n".join(r[0] for r in reports)  # each task's document, in order
    stderr = "\n".join(r[1] for r in reports if r[1]) or None
    return stdout, stderr, all(r[2] for r in reports), "; ".join(r[3] for r in reports)
