"""Test support: real Directord clusters, offline job validation, real Ansible runs.

- job_check: validate orchestration files with Directord 0.12.0's own component parsers.
- directord_cluster: start a throw-away Directord server + N clients on 127.0.0.1.
- ansible_run: run ansible-playbook against localhost and snapshot/diff file trees.
"""
