"""Run task-core 0.2.1 against a Directord server of our choosing.

task-core's `directord` driver always connects with `DirectordConnect()`, i.e.
to /var/run/directord.sock with the `grpcd` driver (task_core/tasks.py). This
wrapper gives that class the socket path and driver to use (zeromq for the
clusters of migrator/verify/cluster.py), then builds and runs the graph exactly
as task-core's own CLI does (TaskManager.create_flow, taskflow's parallel
engine with five workers):

    python -m migrator.verify.taskcore_run --socket-path SOCK [--driver zeromq] \\
        -s OUT/task-core/services -i OUT/task-core/inventory.yaml -r OUT/task-core/roles.yaml

Run it with OUT as the working directory (job paths are relative to OUT) and a
Python whose Directord finds OUT's components (for a DirectordCluster: its
`python`). Exit 0 when every task ran, 1 when one failed (its error on stderr).
"""

from __future__ import annotations

import argparse
import functools
import logging
import sys


def run(services_dir: str, inventory_file: str, roles_file: str, socket_path: str, driver: str = "zeromq",
        workers: int = 5) -> dict:
    """Build the graph with task-core and run it; returns taskflow's results by task name."""
    import directord
    from task_core import tasks as task_core_tasks
    from task_core.manager import TaskManager
    from taskflow import engines

    connect = functools.partial(directord.DirectordConnect, socket_path=socket_path, driver=driver)
    task_core_tasks.DirectordConnect = connect  # what DirectordTask.execute() calls
    _find_schemas()
    manager = TaskManager(services_dir, inventory_file, roles_file)
    flow = manager.create_flow()
    engine = engines.load(flow, executor="threaded", engine="parallel", max_workers=workers)
    engine.run()
    return engine.storage.fetch_all()


def _find_schemas() -> None:
    """task-core looks for its schemas under sys.prefix, /usr and /usr/local only: from
    another prefix (a cluster's overlay venv) point it at its own distribution's copy."""
    import os
    from importlib import metadata

    from task_core.schema import BaseSchemaValidator

    if BaseSchemaValidator.instance().schema_folder:
        return
    for entry in metadata.distribution("task-core").files or []:
        if str(entry).replace(os.sep, "/").endswith("share/task-core/schema/service.yaml"):
            BaseSchemaValidator._schema_path = os.path.dirname(os.path.abspath(entry.locate()))
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-s", "--services-dir", required=True)
    parser.add_argument("-i", "--inventory-file", required=True)
    parser.add_argument("-r", "--roles-file", required=True)
    parser.add_argument("--socket-path", required=True, help="the Directord server's socket")
    parser.add_argument("--driver", default="zeromq", help="Directord driver (default zeromq)")
    parser.add_argument("-d", "--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        results = run(args.services_dir, args.inventory_file, args.roles_file, args.socket_path, args.driver)
    except Exception as exc:  # a failed task: taskflow re-raises it (WrappedFailure for several)
        print(f"task-core run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"task-core ran {len(results)} tasks", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
