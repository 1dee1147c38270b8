"""Shared pytest configuration. Keep one clearly marked section per harness."""

from __future__ import annotations

import os

import pytest


# =============================================================================
# Real Directord clusters (migrator/verify/cluster.py)
#   marker  : directord   (deselect with -m "not directord")
#   fixtures: directord_node (module scope, 1 client "node-0"),
#             clean_directord_node (same cluster, caches evicted first),
#             directord_cluster_factory (function scope, any identities)
# =============================================================================


def _directord_configure(config):
    config.addinivalue_line(
        "markers",
        "directord: starts a real Directord 0.12.0 server and clients on 127.0.0.1 (needs root)",
    )


def _require_root():
    if os.geteuid() != 0:
        pytest.skip("Directord's server must run as root (it chowns its socket to uid 0)")


@pytest.fixture(scope="module")
def directord_node(tmp_path_factory):
    """A 1-node cluster (identity node-0) shared by the tests of one module.

    orchestrate() passes --ignore-cache by default, but cached *args* persist
    between tests: use clean_directord_node (or .evict_caches()) when that matters.
    """

    _require_root()
    from migrator.verify.cluster import DirectordCluster

    with DirectordCluster(tmp_path_factory.mktemp("directord-node"), identities=("node-0",)) as cluster:
        yield cluster


@pytest.fixture
def clean_directord_node(directord_node):
    """directord_node after CACHEEVICT all on its node."""

    directord_node.evict_caches()
    return directord_node


@pytest.fixture
def directord_cluster_factory(tmp_path):
    """factory(identities=("node-0",), components_dir=None, **kw) -> started cluster,
    closed at test teardown."""

    _require_root()
    from migrator.verify.cluster import DirectordCluster

    clusters = []

    def make(identities=("node-0",), components_dir=None, **kwargs):
        cluster = DirectordCluster(tmp_path / f"cluster-{len(clusters)}", identities=identities,
                                   components_dir=components_dir, **kwargs)
        clusters.append(cluster)
        return cluster.start()

    yield make
    for cluster in clusters:
        cluster.close()


def _directord_sessionfinish(session):
    """Fail the run if a cluster process outlived its fixture (they are killed)."""

    import sys

    mod = sys.modules.get("migrator.verify.cluster")
    if mod is None:
        return
    leaked = mod.kill_leaked_processes()
    if leaked:
        session.config.get_terminal_writer().line(
            f"ERROR: Directord process groups leaked and were killed: {leaked}", red=True
        )
        session.exitstatus = 1


# =============================================================================
# Hook dispatch: each section registers its own helpers here.
# =============================================================================


def pytest_configure(config):
    _directord_configure(config)
    config.addinivalue_line("markers", "corpus: needs the tripleo-ansible/THT sdists from the package index")


def pytest_sessionfinish(session, exitstatus):
    _directord_sessionfinish(session)
