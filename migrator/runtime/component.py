"""The Directord side of the runtime: the TASK component class.

Directord imports OUT/components/task.py on the server (server(): check and
pack the job) and on each node (client(): run it).
"""

import base64
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
        fetch = None
        if hasattr(self.driver, "backend_send"):  # a real Directord driver (tests give a stand-in)
            def fetch(path, local):
                return fetch_from_server(self.driver, self.log, job["job_id"], path, local)
        try:
            return run_job(cache, job, identity, fetch)
        except BaseException as error:  # Directord 0.12 leaves the job hanging if client() raises
            return (None, "TASK runtime failure: %s: %s\n%s" % (type(error).__name__, error, traceback.format_exc()),
                    False, "TASK runtime failure")


def fetch_from_server(driver, log, job_id, path, local, chunk=131072):
    """Read the Directord server's file `path` into `local`, as builtin_copy's client does:
    transfer_start requests on a backend connection of the job, which the server answers
    for any file it can read (server.py), chunk by chunk, base64-encoded."""
    with components.Backend(driver=driver.__copy__(), log=log, job_id=job_id) as backend:
        offset = 0
        with open(local, "wb") as stream:
            while True:
                backend.backend_send(msg_id=job_id, control=backend.transfer_start, command=str(offset),
                                     data=str(chunk), info=path)
                offset += chunk
                _, control, _, data, info, _, _ = backend.backend_recv()
                if control in (backend.job_processing, backend.transfer_end):
                    data = base64.b64decode(data)
                    stream.write(data)
                    if control == backend.transfer_end or len(data) < chunk:
                        return
                elif control == backend.job_failed:
                    raise OSError("Transfer failed: %s" % (info.decode() if isinstance(info, bytes) else info))
                else:
                    raise OSError("Transfer failed: the server answered with control %r" % (control,))
