"""The Directord side of the runtime: the TASK component class.

Directord imports OUT/components/task.py on the server (server(): check and
pack the job) and on each node (client(): run it).
"""

import socket
import traceback

from directord import components

from migrator.runtime.core import run_job, validate_task, validate_tasks  # tm:strip


class Component(components.ComponentBase):
    """TASK: run one Ansible task, carried in the job's `vars: {task: {...}}`,
    or several in order, `vars: {tasks: [{...}, ...]}`."""

    def __init__(self):
        super().__init__(desc="Run one Ansible task with Ansible's semantics (tripleo-migrate)")
        # the outcome depends on the node's variables and state: never skip a re-run
        self.cacheable = False
        # it rewrites the cache's args; ARG and ENV take the same lock for the same reason
        self.requires_lock = True
        self.lock_name = "arg"

    def server(self, exec_array, data, arg_vars):
        super().server(exec_array=exec_array, data=data, arg_vars=arg_vars)
        tasks = getattr(self.known_args, "tasks", None)
        if tasks is not None:  # a batch: consecutive tasks in one job
            problem = validate_tasks(tasks, self.unknown_args)
            data["tasks"] = tasks
        else:
            task = getattr(self.known_args, "task", None)
            problem = validate_task(task, self.unknown_args)
            data["task"] = task
        if problem:
            raise SystemExit("TASK: %s" % problem)
        return data

    def client(self, cache, job):
        identity = getattr(self.driver, "identity", None) or socket.gethostname()
        try:
            return run_job(cache, job, identity)
        except BaseException as error:  # Directord 0.12 leaves the job hanging if client() raises
            return (None, "TASK runtime failure: %s: %s\n%s" % (type(error).__name__, error, traceback.format_exc()),
                    False, "TASK runtime failure")
