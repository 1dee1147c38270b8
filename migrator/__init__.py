"""tripleo-migrate: TripleO's Ansible to Directord orchestrations and task-core services."""

__version__ = "0.1.0"
