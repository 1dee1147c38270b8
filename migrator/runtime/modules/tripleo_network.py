"""tripleo-ansible 6.0.0's Neutron-backed network modules, ported.

Ported: tripleo_composable_network, tripleo_unprovision_network,
tripleo_network_populate_environment, tripleo_overcloud_network_vip_provision,
tripleo_overcloud_network_vip_populate_environment, tripleo_overcloud_network_ports,
tripleo_network_ports_populate_environment, tripleo_service_vip, tripleo_ovn_mac_addresses.
Not ported: tripleo_overcloud_network_extract and tripleo_overcloud_network_vip_extract, which
read the overcloud's Heat stack (conn.orchestration) as well as Neutron.

Like the modules, the ports talk to Neutron through openstacksdk on the node, imported at run
time (openstack_identity.py's connection helpers: the task's environment - OS_CLOUD,
OS_CLIENT_CONFIG_FILE - applies while a port runs). What the modules share is reproduced:
- the argument spec is openstack.cloud's openstack_full_argument_spec plus the module's
  DOCUMENTATION options as AnsibleModule reads them (top-level type, default, choices,
  elements, required; `suboptions` is no argument-spec key, so list elements are not checked);
- the connection is the collection's old openstack_cloud_from_module(): an SDK error while
  connecting fails with its text alone, without the module's result keys;
- every module's result starts as {success: False, changed: False, error: ""}; an exception in
  its body fails with `error` (the exception's text) and the module's `msg`; module.fail_json
  inside the body (SystemExit, which the modules' `except Exception` does not catch) fails with
  its msg alone;
- none supports check mode (Ansible skips the task);
- module_utils/network_data_v2.py: the net_data JSON schema validation (jsonschema, which
  openstacksdk depends on, imported at run time), tags_to_dict, wrap_ipv6 and
  create_name_id_maps.
The modules run their per-instance/per-VIP work in thread pools; the ports run the same jobs one
after the other, each job's steps in the module's order, every job even when one fails, and
raise the first failure, which is one of the orders the module's threads may take.
tripleo_overcloud_network_ports tags the ports of instances metalsmith provisioned through
metalsmith's Provisioner (imported at run time, only then: the module imports it always).
"""

import collections
import collections.abc
import importlib
import ipaddress
import os
import re
import traceback

import yaml

from migrator.runtime.api import ModuleFailed, module  # tm:strip
from migrator.runtime.modules.common import common_validate  # tm:strip
from migrator.runtime.modules.openstack_identity import (  # tm:strip
    _OPENSTACK_IDENTITY_COMMON_SPEC, _OPENSTACK_IDENTITY_MIN_SDK, _openstack_identity_environ,  # tm:strip
    _openstack_identity_json, _openstack_identity_mask, _openstack_identity_strings,  # tm:strip
    _openstack_identity_version)  # tm:strip


class _TripleoNetworkDone(BaseException):
    """fail_json: SystemExit in the module, which its `except Exception` lets through."""

    def __init__(self, result, failed=False):
        super().__init__("done")
        self.result = result
        self.failed = failed


def _tripleo_network_fail(msg, **result):
    raise _TripleoNetworkDone(dict(result, msg=msg), failed=True)


def _tripleo_network_connect(p):
    """openstack.cloud's module-level openstack_cloud_from_module(module)."""
    try:
        sdk = importlib.import_module("openstack")
    except ImportError:
        _tripleo_network_fail("openstacksdk is required for this module")
    version = sdk.version.__version__
    if _openstack_identity_version(version) < _openstack_identity_version(_OPENSTACK_IDENTITY_MIN_SDK):
        _tripleo_network_fail(
            "Incompatible openstacksdk library found: Version MUST be >={0} and <=None, but {1} is "
            "smaller than minimum version {0}.".format(_OPENSTACK_IDENTITY_MIN_SDK, version))
    cloud = p.pop("cloud", None)
    try:
        if isinstance(cloud, dict):
            for key in ("auth", "region_name", "validate_certs", "ca_cert", "client_cert", "client_key",
                        "api_timeout", "auth_type"):
                if p[key] is not None:
                    _tripleo_network_fail(
                        "A cloud config dict was provided to the cloud parameter but also a value was "
                        "provided for {0}. If a cloud config dict is provided, {0} should be "
                        "excluded.".format(key))
            if p["interface"] != "public":
                _tripleo_network_fail(
                    "A cloud config dict was provided to the cloud parameter but also a value was "
                    "provided for interface. If a cloud config dict is provided, interface should be "
                    "excluded.")
            return sdk.connect(**cloud)
        return sdk.connect(cloud=cloud, auth_type=p["auth_type"], auth=p["auth"], region_name=p["region_name"],
                           verify=p["validate_certs"], cacert=p["ca_cert"], key=p["client_key"],
                           cert=p["client_cert"], api_timeout=p["api_timeout"], interface=p["interface"])
    except sdk.exceptions.SDKException as ex:
        _tripleo_network_fail(str(ex))


def _tripleo_network_run(name, options, params, ctx, body):
    """AnsibleModule(openstack_full_argument_spec(**options), supports_check_mode=False) around
    body(p, ctx), which returns the result or raises _TripleoNetworkDone."""
    spec = dict(_OPENSTACK_IDENTITY_COMMON_SPEC, **options)
    p = common_validate(name, params, spec, ctx)
    if ctx.check_mode:
        return {"changed": False, "skipped": True, "msg": "remote module (%s) does not support check mode" % name}
    secrets = set()
    for key, option in spec.items():
        if option.get("no_log") and p.get(key):
            secrets.update(_openstack_identity_strings(p[key]))
    secrets = sorted(secrets, key=len, reverse=True)
    try:
        with _openstack_identity_environ(ctx):
            result = body(p, ctx)
        failed = False
    except _TripleoNetworkDone as done:
        result, failed = done.result, done.failed
    except Exception as ex:  # what the module does not catch crashes it
        raise ModuleFailed("Task failed: Module failed: %s" % ex, exception=traceback.format_exc()) from None
    try:
        result = _openstack_identity_json(result)
    except TypeError as ex:
        raise ModuleFailed("Task failed: Module failed: %s" % ex, exception=traceback.format_exc()) from None
    result = _openstack_identity_mask(result, secrets)
    if failed:
        raise ModuleFailed(result.pop("msg"), **result)
    return result


def _tripleo_network_unknown_values(value):
    """AnsibleModule's remove_values refuses what JSON has no type for (an exception object)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _tripleo_network_unknown_values(key)
            _tripleo_network_unknown_values(item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _tripleo_network_unknown_values(item)
    elif not (value is None or isinstance(value, (str, bytes, bool, int, float))):
        raise TypeError("Value of unknown type: %s, %s" % (type(value), value))


# ---------------------------------------------------------------------------
# module_utils/network_data_v2.py

_TRIPLEO_NETWORK_NET_VIP_SUFFIX = "_virtual_ip"
_TRIPLEO_NETWORK_DOMAIN_NAME_REGEX = (r'^(?=^.{1,255}$)(?!.*\.\..*)(.{1,63}\.)'
                                      r'+(.{0,63}\.?)|(?!\.)(?!.*\.\..*)(^.{1,63}$)'
                                      r'|(^\.$)$')
_TRIPLEO_NETWORK_SCHEMA = '''
---
$schema: http://json-schema.org/draft-04/schema

definitions:
  domain_name_string:
    type: string
    pattern: {domain_name_regex}
  ipv4_allocation_pool:
    type: object
    properties:
      start:
        type: string
        ip_address_version: 4
      end:
        type: string
        ip_address_version: 4
    additionalProperties: False
    uniqueItems: true
    required:
    - start
    - end
  ipv4_route:
    type: object
    properties:
      destination:
        type: string
        ip_subnet_version: 4
      nexthop:
        type: string
        ip_address_version: 4
    additionalProperties: False
    uniqueItems: true
    required:
    - destination
    - nexthop
  ipv6_allocation_pool:
    type: object
    properties:
      start:
        type: string
        ip_address_version: 6
      end:
        type: string
        ip_address_version: 6
    additionalProperties: False
    uniqueItems: true
    required:
    - start
    - end
  ipv6_route:
    type: object
    properties:
      destination:
        type: string
        ip_subnet_version: 6
      nexthop:
        type: string
        ip_address_version: 6
    additionalProperties: False
    uniqueItems: true
    required:
    - destination
    - nexthop

  ipv4_subnet:
    type: object
    properties:
      ip_subnet:
        type: string
        ip_subnet_version: 4
      gateway_ip:
        type: string
        ip_address_version: 4
      allocation_pools:
        type: array
        items:
          $ref: "#/definitions/ipv4_allocation_pool"
      enable_dhcp:
        type: boolean
      routes:
        type: array
        items:
          $ref: "#/definitions/ipv4_route"
      vlan:
        type: integer
        minimum: 1
        maximum: 4096
      physical_network:
        type: string
      network_type:
        enum:
        - flat
        - vlan
      segmentation_id:
        type: integer
        minimum: 1
        maximum: 4096
    additionalProperties: False
    required:
    - ip_subnet

  ipv6_subnet:
    type: object
    properties:
      ipv6_subnet:
        type: string
        ip_subnet_version: 6
      gateway_ipv6:
        type: string
        ip_address_version: 6
      ipv6_allocation_pools:
        type: array
        items:
          $ref: "#/definitions/ipv6_allocation_pool"
      routes_ipv6:
        type: array
        items:
          $ref: "#/definitions/ipv6_route"
      ipv6_address_mode:
        enum:
        - slaac
        - dhcpv6-stateful
        - dhcpv6-stateless
      ipv6_ra_mode:
        enum:
        - slaac
        - dhcpv6-stateful
        - dhcpv6-stateless
      enable_dhcp:
        type: boolean
      vlan:
        type: integer
        minimum: 1
        maximum: 4096
      physical_network:
        type: string
      network_type:
        type: string
        enum:
        - flat
        - vlan
      segmentation_id:
        type: integer
        minimum: 1
        maximum: 4096
    additionalProperties: False
    required:
    - ipv6_subnet

  dual_subnet:
    type: object
    properties:
      ip_subnet:
        type: string
        ip_subnet_version: 4
      gateway_ip:
        type: string
        ip_address_version: 4
      allocation_pools:
        type: array
        items:
          $ref: "#/definitions/ipv4_allocation_pool"
      routes:
        type: array
        items:
          $ref: "#/definitions/ipv4_route"
      ipv6_subnet:
        type: string
        ip_subnet_version: 6
      gateway_ipv6:
        type: string
        ip_address_version: 6
      ipv6_allocation_pools:
        type: array
        items:
          $ref: "#/definitions/ipv6_allocation_pool"
      routes_ipv6:
        type: array
        items:
          $ref: "#/definitions/ipv6_route"
      ipv6_address_mode:
        enum:
        - slaac
        - dhcpv6-stateful
        - dhcpv6-stateless
      ipv6_ra_mode:
        enum:
        - slaac
        - dhcpv6-stateful
        - dhcpv6-stateless
      enable_dhcp:
        type: boolean
      vlan:
        type: integer
        minimum: 1
        maximum: 4096
      physical_network:
        type: string
      network_type:
        type: string
        enum:
        - flat
        - vlan
      segmentation_id:
        type: integer
        minimum: 1
        maximum: 4096
    additionalProperties: False
    required:
    - ip_subnet
    - ipv6_subnet

type: object
properties:
  name:
    type: string
  name_lower:
    type: string
  admin_state_up:
    type: boolean
  dns_domain:
    $ref: "#/definitions/domain_name_string"
  mtu:
    type: integer
    minimum: 1000
    maximum: 65536
  shared:
    type: boolean
  service_net_map_replace:
    type: string
  ipv6:
    type: boolean
  vip:
    type: boolean
  subnets:
    type: object
    additionalProperties:
      oneOf:
      - $ref: "#/definitions/ipv4_subnet"
      - $ref: "#/definitions/ipv6_subnet"
      - $ref: "#/definitions/dual_subnet"
additionalProperties: False
required:
- name
- subnets
'''.format(domain_name_regex=_TRIPLEO_NETWORK_DOMAIN_NAME_REGEX)


def _tripleo_network_detailed_errors(error, depth, absolute_schema_path, absolute_schema, filter_errors=True):
    if not error.context:
        return []
    sub_errors = error.context
    if filter_errors:
        if (absolute_schema_path[-1] in ['oneOf', 'anyOf']
                and isinstance(error.instance, collections.abc.Mapping)
                and 'type' in error.instance):
            found, index = _tripleo_network_find_type_in_schema_list(error.validator_value,
                                                                     error.instance['type'])
            if found:
                sub_errors = [i for i in sub_errors if (i.schema_path[0] == index)]
    details = []
    sub_errors = sorted(sub_errors, key=lambda e: e.schema_path)
    for sub_error in sub_errors:
        schema_path = collections.deque(absolute_schema_path)
        schema_path.extend(sub_error.schema_path)
        details.append("{} {}: {}".format(
            '-' * depth, _tripleo_network_pretty_schema_path(schema_path, absolute_schema), sub_error.message))
        details.extend(_tripleo_network_detailed_errors(sub_error, depth + 1, schema_path, absolute_schema,
                                                        filter_errors))
    return details


def _tripleo_network_find_type_in_schema_list(schemas, type_name):
    for index, schema in enumerate(schemas):
        if not isinstance(schema, collections.abc.Mapping):
            continue
        if '$ref' in schema and schema['$ref'].split('/')[-1] == type_name:
            return True, index
        if ('properties' in schema and 'type' in schema['properties']
                and schema['properties']['type'] == type_name):
            return True, index
    return False, 0


def _tripleo_network_pretty_schema_path(absolute_schema_path, absolute_schema):
    pretty_path = []
    current_schema = absolute_schema
    for item in absolute_schema_path:
        if item not in ["properties"]:
            pretty_path.append(item)
        current_schema = current_schema[item]
        if isinstance(current_schema, collections.abc.Mapping) and '$ref' in current_schema:
            if isinstance(pretty_path[-1], int) and pretty_path[-2] in ['oneOf', 'anyOf']:
                pretty_path[-1] = current_schema['$ref'].split('/')[-1]
            current_path = current_schema['$ref'].split('/')
            current_schema = absolute_schema
            for i in current_path[1:]:
                current_schema = current_schema[i]
    return '/'.join([str(x) for x in pretty_path])


def _tripleo_network_validate_json_schema(net_data):
    """network_data_v2.validate_json_schema: the error messages, [] when valid."""
    jsonschema = importlib.import_module("jsonschema")

    def ip_subnet_version_validator(validator, ip_version, instance, schema):
        msg = '{} does not appear to be an IPv{} subnet'.format(instance, ip_version)
        try:
            if not ipaddress.ip_network(instance).version == ip_version:
                yield jsonschema.ValidationError(msg)
        except ValueError:
            yield jsonschema.ValidationError(msg)

    def ip_address_version_validator(validator, ip_version, instance, schema):
        msg = '{} does not appear to be an IPv{} address'.format(instance, ip_version)
        try:
            if not ipaddress.ip_address(instance).version == ip_version:
                yield jsonschema.ValidationError(msg)
        except ValueError:
            yield jsonschema.ValidationError(msg)

    schema = yaml.safe_load(_TRIPLEO_NETWORK_SCHEMA)
    net_data_validator = jsonschema.validators.extend(
        jsonschema.Draft4Validator,
        validators={'ip_subnet_version': ip_subnet_version_validator,
                    'ip_address_version': ip_address_version_validator})
    validator = net_data_validator(schema)
    error_messages = []
    for error in validator.iter_errors(instance=net_data):
        details = _tripleo_network_detailed_errors(error, 1, error.schema_path, schema)
        config_path = '/'.join([str(x) for x in error.path])
        if details:
            error_messages.append(
                "Failed schema validation at {}:\n    {}\n"
                "  Sub-schemas tested and not matching:\n  {}".format(
                    config_path, error.message, '\n  '.join(details)))
        else:
            error_messages.append("Failed schema validation at {}:\n    {}".format(config_path, error.message))
    return error_messages


def _tripleo_network_validate_playbook_dir(playbook_dir_path):
    if not os.path.exists(playbook_dir_path):
        raise Exception('ERROR: Playbook directory {} does not exist.'.format(playbook_dir_path))
    if not os.path.isdir(playbook_dir_path):
        raise Exception('ERROR: Playbook directory {} is not a directory'.format(playbook_dir_path))


def _tripleo_network_tags_to_dict(resource_tags):
    tag_dict = dict()
    for tag in resource_tags:
        if not tag.startswith('tripleo_'):
            continue
        try:
            key, value = tag.rsplit('=')
        except ValueError:
            continue
        if key == 'tripleo_net_idx':
            value = int(value)
        tag_dict.update({key: value})
    return tag_dict


def _tripleo_network_wrap_ipv6(ip_address):
    if ipaddress.ip_address(ip_address).version == 6:
        return '[{}]'.format(ip_address)
    return ip_address


def _tripleo_network_name_id_maps(conn):
    net_name_map = {}
    net_id_map = {}
    cidr_prefix_map = {}
    for net in conn.network.networks():
        tags = _tripleo_network_tags_to_dict(net.tags)
        subnets = conn.network.subnets(network_id=net.id)
        net_id_map[net.id] = net.name
        net_name_map[net.name] = dict(id=net.id, name_upper=tags.get('tripleo_network_name', net.name))
        subnets_map = net_name_map[net.name]['subnets'] = dict()
        for s in subnets:
            subnets_map[s.name] = s.id
            cidr_prefix_map[s.id] = s.cidr.split('/')[-1]
    return dict(by_id=net_id_map, by_name=net_name_map, cidr_prefix_map=cidr_prefix_map)


def _tripleo_network_jobs(jobs):
    """A ThreadPoolExecutor's jobs, then `raise exceptions[0]` of those that failed."""
    exceptions = []
    for job, args in jobs:
        try:
            job(*args)
        except Exception as ex:
            exceptions.append(ex)
    if exceptions:
        raise exceptions[0]


# ---------------------------------------------------------------------------
# tripleo_composable_network

_TRIPLEO_NETWORK_COMPOSABLE_SPEC = {"net_data": {"type": "dict"}, "idx": {"type": "int"}}


def _tripleo_network_composable_net_spec(net_data, overcloud_domain_name, idx):
    name_lower = net_data.get('name_lower', net_data['name'].lower())
    net_spec = {
        'admin_state_up': net_data.get('admin_state_up', False),
        'dns_domain': net_data.get('dns_domain', '.'.join([net_data['name'].lower(), overcloud_domain_name])),
        'mtu': net_data.get('mtu', 1500),
        'name': name_lower,
        'shared': net_data.get('shared', False),
        'provider:physical_network': name_lower,
        'provider:network_type': 'flat',
    }
    tags = ['='.join(['tripleo_network_name', net_data['name']]),
            '='.join(['tripleo_net_idx', str(idx)])]
    if net_data.get('service_net_map_replace'):
        tags.append('='.join(['tripleo_service_net_map_replace', net_data.get('service_net_map_replace')]))
    if net_data.get('vip'):
        tags.append('='.join(['tripleo_vip', 'true']))
    net_spec.update({'tags': tags})
    return net_spec


def _tripleo_network_composable_network(conn, net_spec):
    changed = False
    tags = net_spec.pop('tags')
    network = conn.network.find_network(net_spec['name'])
    if not network:
        network = conn.network.create_network(**net_spec)
        changed = True
    else:
        if (network.provider_network_type != net_spec.pop('provider:network_type')
                and network.provider_network_type is not None):
            _tripleo_network_fail('Cannot update provider:network_type in existing network')
        if (net_spec.pop('provider:physical_network') not in [network.provider_physical_network, net_spec['name']]
                and network.provider_physical_network is not None):
            _tripleo_network_fail('Cannot update provider:physical_network in existing network')
        for attribute, key in (('is_admin_state_up', 'admin_state_up'), ('dns_domain', 'dns_domain'),
                               ('mtu', 'mtu'), ('name', 'name'), ('is_shared', 'shared')):
            if getattr(network, attribute) == net_spec[key]:
                net_spec.pop(key)
        if net_spec:
            network = conn.network.update_network(network.id, **net_spec)
            changed = True
    if network.tags != tags:
        conn.network.set_tags(network, tags)
        changed = True
    return changed, network


def _tripleo_network_segment_spec(net_id, net_name, subnet_name, physical_network=None):
    name = '_'.join([net_name, subnet_name])
    if physical_network is None:
        physical_network = name
    return {'network_id': net_id, 'physical_network': physical_network, 'name': name, 'network_type': 'flat'}


def _tripleo_network_segment(conn, segment_spec, segment_id=None):
    changed = False
    if segment_id:
        segment = conn.network.find_segment(segment_id)
    else:
        segment = conn.network.find_segment(segment_spec['name'], network_id=segment_spec['network_id'])
    if not segment:
        segment = conn.network.create_segment(**segment_spec)
        changed = True
    else:
        if segment.network_id != segment_spec.pop('network_id'):
            _tripleo_network_fail('Cannot update network_id in existing segment')
        if segment.network_type != segment_spec.pop('network_type'):
            _tripleo_network_fail('Cannot update network_type in existing segment')
        if segment.physical_network != segment_spec.pop('physical_network'):
            _tripleo_network_fail('Cannot update physical_network in existing segment')
        if segment.name == segment_spec['name']:
            segment_spec.pop('name')
        if segment_spec:
            segment = conn.network.update_segment(segment.id, **segment_spec)
            changed = True
    return changed, segment


def _tripleo_network_subnet_specs(net_id, name, subnet_data, ipv6_enabled=False):
    vlan_id = subnet_data.get('vlan')
    tags = ['='.join(['tripleo_vlan_id', str(vlan_id) if vlan_id is not None else '1'])]
    subnet_v4_spec = subnet_v6_spec = None
    if not ipv6_enabled and subnet_data.get('ip_subnet'):
        subnet_v4_spec = {
            'ip_version': 4,
            'name': name,
            'network_id': net_id,
            'enable_dhcp': subnet_data.get('enable_dhcp', False),
            'gateway_ip': subnet_data.get('gateway_ip', None),
            'cidr': subnet_data['ip_subnet'],
            'allocation_pools': subnet_data.get('allocation_pools', []),
            'host_routes': subnet_data.get('routes', []),
            'tags': tags,
        }
    if ipv6_enabled and subnet_data.get('ipv6_subnet'):
        subnet_v6_spec = {
            'ip_version': 6,
            'name': name,
            'network_id': net_id,
            'enable_dhcp': subnet_data.get('enable_dhcp', False),
            'gateway_ip': subnet_data.get('gateway_ipv6', None),
            'cidr': subnet_data['ipv6_subnet'],
            'allocation_pools': subnet_data.get('ipv6_allocation_pools', []),
            'host_routes': subnet_data.get('routes_ipv6', []),
            'tags': tags,
        }
        if 'ipv6_address_mode' in subnet_data:
            subnet_v6_spec['ipv6_address_mode'] = subnet_data['ipv6_address_mode']
        if 'ipv6_ra_mode' in subnet_data:
            subnet_v6_spec['ipv6_ra_mode'] = subnet_data['ipv6_ra_mode']
    return subnet_v4_spec, subnet_v6_spec


def _tripleo_network_subnet(conn, subnet_spec):
    changed = False
    tags = subnet_spec.pop('tags')
    subnet = conn.network.find_subnet(subnet_spec['name'], ip_version=subnet_spec['ip_version'],
                                      network_id=subnet_spec['network_id'])
    if not subnet:
        subnet = conn.network.create_subnet(**subnet_spec)
        changed = True
    else:
        if subnet.ip_version != subnet_spec.pop('ip_version'):
            _tripleo_network_fail('Cannot update ip_version in existing subnet')
        if subnet.network_id != subnet_spec.pop('network_id'):
            _tripleo_network_fail('Cannot update network_id in existing subnet')
        if subnet.cidr != subnet_spec.pop('cidr'):
            _tripleo_network_fail('Cannot update cidr in existing subnet')
        segment_id = subnet_spec.pop('segment_id')
        if subnet.segment_id != segment_id:
            _tripleo_network_fail('Cannot update segment_id in existing subnet, Current segment_id: {} Update '
                                  'segment_id: {}'.format(subnet.segment_id, segment_id))
        if subnet.name == subnet_spec['name']:
            subnet_spec.pop('name')
        if subnet.is_dhcp_enabled == subnet_spec['enable_dhcp']:
            subnet_spec.pop('enable_dhcp')
        if subnet.ipv6_address_mode == subnet_spec.get('ipv6_address_mode'):
            subnet_spec.pop('ipv6_address_mode', None)
        if subnet.ipv6_ra_mode == subnet_spec.get('ipv6_ra_mode'):
            subnet_spec.pop('ipv6_ra_mode', None)
        if subnet.gateway_ip == subnet_spec['gateway_ip']:
            subnet_spec.pop('gateway_ip')
        if subnet.allocation_pools == subnet_spec['allocation_pools']:
            subnet_spec.pop('allocation_pools')
        if subnet.host_routes == subnet_spec['host_routes']:
            subnet_spec.pop('host_routes')
        if subnet_spec:
            subnet = conn.network.update_subnet(subnet.id, **subnet_spec)
            changed = True
    if subnet.tags != tags:
        conn.network.set_tags(subnet, tags)
        changed = True
    return changed


def _tripleo_network_adopt_implicit_segment(conn, segments, subnets, network):
    implicit_segment = [s for s in segments if s['name'] is None]
    if not implicit_segment:
        return False
    if len(implicit_segment) > 1:
        _tripleo_network_fail('Multiple segments with no name attribute exist on network {}, unable to '
                              'reliably adopt the implicit segment.'.format(network.id))
    implicit_segment = implicit_segment[0]
    if implicit_segment and subnets:
        subnet_associated = [s for s in subnets if s.segment_id == implicit_segment.id][0]
        segment_spec = _tripleo_network_segment_spec(network.id, network.name, subnet_associated.name,
                                                     physical_network=implicit_segment.physical_network)
        _tripleo_network_segment(conn, segment_spec, segment_id=implicit_segment.id)
        return True
    elif implicit_segment and not subnets:
        conn.network.delete_segment(implicit_segment.id)
        return True
    _tripleo_network_fail('ERROR: Unable to reliably adopt the implicit segment.')


def _tripleo_network_composable(p, ctx):
    result = dict(success=False, changed=False, error="")
    net_data, idx = p["net_data"], p["idx"]
    error_messages = _tripleo_network_validate_json_schema(net_data)
    if error_messages:
        _tripleo_network_fail('\n\n'.join(error_messages))
    try:
        conn = _tripleo_network_connect(p)
        ipv6_enabled = net_data.get('ipv6', False)
        network = conn.network.find_network('ctlplane')
        domain = network.dns_domain.partition('.')[-1] if network is not None and network.dns_domain \
            else 'localdomain.'
        net_spec = _tripleo_network_composable_net_spec(net_data, domain, idx)
        changed, network = _tripleo_network_composable_network(conn, net_spec)
        result['changed'] = changed if changed else result['changed']
        segments = list(conn.network.segments(network_id=network.id))
        subnets = list(conn.network.subnets(network_id=network.id))
        changed = _tripleo_network_adopt_implicit_segment(conn, segments, subnets, network)
        result['changed'] = changed if changed else result['changed']
        for subnet_name, subnet_data in net_data.get('subnets', {}).items():
            segment_spec = _tripleo_network_segment_spec(network.id, network.name, subnet_name,
                                                         physical_network=subnet_data.get('physical_network'))
            subnet_v4_spec, subnet_v6_spec = _tripleo_network_subnet_specs(network.id, subnet_name, subnet_data,
                                                                           ipv6_enabled)
            changed, segment = _tripleo_network_segment(conn, segment_spec)
            result['changed'] = changed if changed else result['changed']
            for subnet_spec in (subnet_v4_spec, subnet_v6_spec):
                if subnet_spec:
                    subnet_spec.update({'segment_id': segment.id})
                    changed = _tripleo_network_subnet(conn, subnet_spec)
                    result['changed'] = changed if changed else result['changed']
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error overcloud network provision failed!", **result)


@module("tripleo_composable_network", "ansible.legacy.tripleo_composable_network")
def tripleo_composable_network_module(params, ctx):
    return _tripleo_network_run("tripleo_composable_network", _TRIPLEO_NETWORK_COMPOSABLE_SPEC, params, ctx,
                                _tripleo_network_composable)


# ---------------------------------------------------------------------------
# tripleo_unprovision_network

def _tripleo_network_unprovision(p, ctx):
    result = dict(success=False, changed=False, error="")
    net_data = p["net_data"]
    error_messages = _tripleo_network_validate_json_schema(net_data)
    if error_messages:
        _tripleo_network_fail('\n\n'.join(error_messages))
    try:
        conn = _tripleo_network_connect(p)
        changed = False
        for subnet_name in net_data['subnets']:
            subnet = conn.network.find_subnet(subnet_name)
            if subnet:
                conn.network.delete_subnet(subnet.id)
                changed = True
        network = conn.network.find_network(net_data['name_lower'])
        if network:
            if not network.subnet_ids:
                conn.network.delete_network(network.id)
                changed = True
            else:
                raise Exception('Cannot delete Network {} because it have following subnets attached {}'.format(
                    network.id, network.subnet_ids))
        result['changed'] = changed if changed else result['changed']
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error overcloud network unprovisioning failed!", **result)


@module("tripleo_unprovision_network", "ansible.legacy.tripleo_unprovision_network")
def tripleo_unprovision_network_module(params, ctx):
    return _tripleo_network_run("tripleo_unprovision_network", {"net_data": {"type": "dict"}}, params, ctx,
                                _tripleo_network_unprovision)


# ---------------------------------------------------------------------------
# tripleo_network_populate_environment

_TRIPLEO_NETWORK_TEMPLATES = {"type": "path", "default": "/usr/share/openstack-tripleo-heat-templates"}


def _tripleo_network_populate(p, ctx):
    result = dict(success=False, changed=False, error="", environment={})
    try:
        conn = _tripleo_network_connect(p)
        net_ip_version_map, net_cidr_map, net_attr_map = dict(), dict(), dict()
        for net_data in p["net_data"]:
            name_lower = net_data.get('name_lower', net_data['name'].lower())
            attrs = net_attr_map[name_lower] = dict()
            net = conn.network.find_network(name_lower)
            if net is None:
                _tripleo_network_fail('Failed crating deployed network environment. Network {} not found'.format(
                    net_data['name']))
            attrs['network'] = {'name': net.name, 'mtu': net.mtu, 'dns_domain': net.dns_domain, 'tags': net.tags}
            subnets = [conn.network.get_subnet(s_id) for s_id in net.subnet_ids]
            ip_versions = {subnet.ip_version for subnet in subnets}
            if {4, 6} == ip_versions:
                ip_version = 6 if net_data.get('ipv6') is True else 4
            else:
                ip_version = ip_versions.pop()
            net_ip_version_map[name_lower] = ip_version
            net_cidr_map[name_lower] = [subnet.cidr for subnet in subnets if subnet.ip_version == ip_version]
            attrs['subnets'] = {subnet.name: {
                'name': subnet.name,
                'cidr': subnet.cidr,
                'gateway_ip': subnet.gateway_ip,
                'host_routes': subnet.host_routes,
                'dns_nameservers': subnet.dns_nameservers,
                'ip_version': subnet.ip_version,
                'tags': subnet.tags,
            } for subnet in subnets}
        result['environment'] = {
            'resource_registry': {
                'OS::TripleO::Network': os.path.join(p["templates"], 'network/deployed_networks.yaml'),
            },
            'parameter_defaults': {
                'DeployedNetworkEnvironment': {
                    'net_ip_version_map': net_ip_version_map,
                    'net_cidr_map': net_cidr_map,
                    'net_attributes_map': net_attr_map,
                }
            }
        }
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error overcloud network provision failed!", **result)


@module("tripleo_network_populate_environment", "ansible.legacy.tripleo_network_populate_environment")
def tripleo_network_populate_environment_module(params, ctx):
    return _tripleo_network_run("tripleo_network_populate_environment",
                                {"net_data": {"type": "list"}, "templates": _TRIPLEO_NETWORK_TEMPLATES},
                                params, ctx, _tripleo_network_populate)


# ---------------------------------------------------------------------------
# tripleo_overcloud_network_vip_provision

_TRIPLEO_NETWORK_VIP_PROVISION_SPEC = {
    "stack_name": {"type": "str"},
    "vip_data": {"type": "list", "default": [], "elements": "dict"},
    "concurrency": {"type": "int", "default": 0},
}


def _tripleo_network_vip_port_def(vip_spec, net_maps):
    vip_spec.setdefault('dns_name', 'overcloud')
    net_info = net_maps['by_name'][vip_spec['network']]
    port_def = dict(network_id=net_info['id'], dns_name=vip_spec['dns_name'])
    if vip_spec['network'] == 'ctlplane' and not vip_spec.get('name'):
        port_def['name'] = 'control' + _TRIPLEO_NETWORK_NET_VIP_SUFFIX
    else:
        port_def['name'] = (vip_spec['name'] if vip_spec.get('name')
                            else vip_spec['network'] + _TRIPLEO_NETWORK_NET_VIP_SUFFIX)
    if vip_spec.get('ip_address'):
        port_def['fixed_ips'] = [{'ip_address': vip_spec['ip_address']}]
    elif vip_spec.get('subnet'):
        port_def['fixed_ips'] = [{'subnet_id': net_info['subnets'][vip_spec['subnet']]}]
    elif len(net_info['subnets']) == 1:
        port_def['fixed_ips'] = [{'subnet_id': list(net_info['subnets'].values())[0]}]
    else:
        raise Exception('Network {} has multiple subnets, please add a subnet or an ip_address for the vip on '
                        'this network.'.format(vip_spec['network']))
    return port_def


def _tripleo_network_provision_vip_port(conn, stack, net_maps, vip_spec, managed_ports):
    port_def = _tripleo_network_vip_port_def(vip_spec, net_maps)
    tags = ['tripleo_stack_name={}'.format(stack), 'tripleo_vip_net={}'.format(vip_spec['network'])]
    ports = conn.network.ports(network_id=net_maps['by_name'][vip_spec['network']]['id'], tags=tags)
    try:
        port = next(ports)
        managed_ports.append(port.id)
        del port_def['network_id']
        for k, v in port_def.items():
            if port.get(k) != v:
                conn.network.update_port(port.id, **port_def)
                break
    except StopIteration:
        port = conn.network.create_port(**port_def)
        conn.network.set_tags(port, tags)
        managed_ports.append(port.id)


def _tripleo_network_vip_provision(p, ctx):
    result = dict(success=False, changed=False, error="")
    stack, vip_data = p["stack_name"], p["vip_data"]
    try:
        conn = _tripleo_network_connect(p)
        net_maps = _tripleo_network_name_id_maps(conn)
        for vip in vip_data:
            if not vip['network'] in net_maps['by_name']:
                raise Exception('Network {} for Virtual IP not found.'.format(vip['network']))
            if vip.get('subnet') and not vip.get('subnet') in net_maps['by_name'][vip['network']]['subnets']:
                raise Exception('Subnet {} for Virtual IP not found on network {}.'.format(
                    vip['subnet'], vip['network']))
        managed_ports = list()
        _tripleo_network_jobs([(_tripleo_network_provision_vip_port, (conn, stack, net_maps, vip_spec, managed_ports))
                               for vip_spec in vip_data])
        ports = conn.network.ports(tags=['tripleo_stack_name={}'.format(stack)])
        ports = [port for port in ports if any("tripleo_vip_net" in t for t in port.tags)]
        for port in ports:
            if port.id not in managed_ports:
                conn.network.delete_port(port.id)
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error provisioning Virtual IPs for overcloud stack {stack_name}: {error}".format(
            stack_name=stack, error=err), **result)


@module("tripleo_overcloud_network_vip_provision", "ansible.legacy.tripleo_overcloud_network_vip_provision")
def tripleo_overcloud_network_vip_provision_module(params, ctx):
    return _tripleo_network_run("tripleo_overcloud_network_vip_provision", _TRIPLEO_NETWORK_VIP_PROVISION_SPEC,
                                params, ctx, _tripleo_network_vip_provision)


# ---------------------------------------------------------------------------
# tripleo_overcloud_network_vip_populate_environment

def _tripleo_network_vip_populate(p, ctx):
    result = dict(success=False, changed=False, error="", env=dict())
    stack, vip_data, templates = p["stack_name"], p["vip_data"], p["templates"]
    try:
        conn = _tripleo_network_connect(p)
        net_maps = _tripleo_network_name_id_maps(conn)
        env = result['env']
        low_up_map = {}
        networks = list(conn.network.networks())
        if not networks:
            raise Exception('Unable to create vip environment. No networks found')
        for network in networks:
            tags = _tripleo_network_tags_to_dict(network.tags)
            try:
                low_up_map[network.name] = tags['tripleo_network_name']
            except KeyError:
                if network.name == 'ctlplane':
                    low_up_map[network.name] = 'ControlPlane'
        resource_reg = env['resource_registry'] = {}
        param_defaults = env['parameter_defaults'] = {}
        vip_port_map = param_defaults['VipPortMap'] = {}
        ctlplane_vip_data = param_defaults['ControlPlaneVipData'] = {}
        for vip_spec in vip_data:
            net_name_lower = vip_spec['network']
            try:
                port = next(conn.network.ports(
                    network_id=net_maps['by_name'][net_name_lower]['id'],
                    tags=['tripleo_stack_name={}'.format(stack), 'tripleo_vip_net={}'.format(net_name_lower)]))
            except StopIteration:
                raise Exception('Neutron port for Virtual IP spec {} not found'.format(vip_spec))
            resource_reg['OS::TripleO::Network::Ports::{net_name}VipPort'.format(
                net_name=low_up_map[net_name_lower])] = os.path.join(
                templates, 'network/ports/deployed_vip_{net_name_lower}.yaml'.format(net_name_lower=net_name_lower))
            if net_name_lower == 'ctlplane':
                network = conn.network.get_network(port.network_id)
                subnet = conn.network.get_subnet(port.fixed_ips[0]['subnet_id'])
                ctlplane_vip_data['network'] = dict()
                ctlplane_vip_data['network']['tags'] = network.tags
                ctlplane_vip_data['subnets'] = list()
                ctlplane_vip_data['subnets'].append({'ip_version': subnet.ip_version})
                ctlplane_vip_data['fixed_ips'] = [{'ip_address': x['ip_address']} for x in port.fixed_ips]
                ctlplane_vip_data['name'] = port.name
            else:
                subnet = conn.network.get_subnet(port.fixed_ips[0]['subnet_id'])
                vip_port = vip_port_map[net_name_lower] = {}
                vip_port['ip_address'] = port.fixed_ips[0]['ip_address']
                vip_port['ip_address_uri'] = _tripleo_network_wrap_ipv6(port.fixed_ips[0]['ip_address'])
                vip_port['ip_subnet'] = '/'.join([port.fixed_ips[0]['ip_address'], subnet.cidr.split('/')[1]])
        result['changed'] = True if result['env'] else False
        result['success'] = True if result['env'] else False
        return result
    except Exception as err:
        result['error'] = err  # sic: the exception itself, which AnsibleModule cannot return
        msg = ("Error getting Virtual IPs data from overcloud stack {stack_name}: %{error}".format(
            stack_name=stack, error=err))
        _tripleo_network_unknown_values(result)
        _tripleo_network_fail(msg, **result)


@module("tripleo_overcloud_network_vip_populate_environment",
        "ansible.legacy.tripleo_overcloud_network_vip_populate_environment")
def tripleo_overcloud_network_vip_populate_environment_module(params, ctx):
    return _tripleo_network_run("tripleo_overcloud_network_vip_populate_environment", {
        "stack_name": {"type": "str"},
        "vip_data": {"type": "list", "elements": "dict"},
        "templates": _TRIPLEO_NETWORK_TEMPLATES,
    }, params, ctx, _tripleo_network_vip_populate)


# ---------------------------------------------------------------------------
# tripleo_overcloud_network_ports

_TRIPLEO_NETWORK_PORTS_SPEC = {
    "stack_name": {"default": "overcloud"},
    "concurrency": {"type": "int", "default": 0},
    "state": {"default": "present", "choices": ["present", "absent"]},
    "instances": {"type": "list", "elements": "dict"},
    "provisioned_instances": {"required": False, "type": "list", "elements": "dict", "default": []},
    "hostname_role_map": {"type": "dict"},
}


def _tripleo_network_reset_tags(conn, port, tags, default_route_network=None, net_name=None):
    changed = False
    p_tags = set(port.tags)
    r = re.compile('tripleo_role=.*')
    for role_tag in filter(r.match, p_tags.copy()):
        if role_tag and role_tag not in tags:
            p_tags.remove(role_tag)
    if default_route_network and net_name in default_route_network:
        tags.update({'tripleo_default_route=true'})
    elif 'tripleo_default_route=true' in p_tags:
        p_tags.remove('tripleo_default_route=true')
        conn.network.set_tags(port, list(p_tags))
        changed = True
    if not tags.issubset(p_tags):
        p_tags.update(tags)
        conn.network.set_tags(port, list(p_tags))
        changed = True
    return changed


def _tripleo_network_pre_provisioned_ports(result, conn, net_maps, instance, inst_ports, tags):
    for net in instance['networks']:
        if net.get('port'):
            network_id = net_maps['by_name'][net['network']]['id']
            p_obj = conn.network.find_port(net['port'], network_id=network_id)
            if p_obj is None:
                raise Exception("Network port {port} for instance {instance} could not be found.".format(
                    port=net['port'], instance=instance['hostname']))
            result['changed'] = _tripleo_network_reset_tags(conn, p_obj, tags)
            inst_ports.append(p_obj)


def _tripleo_network_fixed_ips_need_update(port_def, port):
    if len(port_def['fixed_ips']) != len(port.fixed_ips):
        return True
    match_count = 0
    for def_fixed_ip in port_def['fixed_ips']:
        def_values = set(def_fixed_ip.values())
        for port_fixed_ip in port.fixed_ips:
            if def_values.issubset(set(port_fixed_ip.values())):
                match_count += 1
    return len(port_def['fixed_ips']) != match_count


def _tripleo_network_update_ports(result, conn, port_defs, inst_ports, tags, net_maps, network_config):
    default_route_network = network_config.get('default_route_network', [])
    for port_def in port_defs:
        for p in inst_ports:
            if p.name == port_def['name'] and p.network_id == port_def['network_id']:
                port = p
                break
        else:
            raise Exception('Port {name} on network {network} not found.'.format(
                name=port_def['name'], network=port_def['network_id']))
        if _tripleo_network_fixed_ips_need_update(port_def, port):
            conn.network.update_port(port.id, {'fixed_ips': port_def['fixed_ips']})
            result['changed'] = True
        net_name = net_maps['by_id'][port.network_id]
        result['changed'] = _tripleo_network_reset_tags(conn, port, tags, default_route_network, net_name)
        tags.discard('tripleo_default_route=true')


def _tripleo_network_create_ports(result, conn, port_defs, inst_ports, tags, net_maps, network_config):
    default_route_network = network_config.get('default_route_network', ['ctlplane'])
    for port in conn.network.create_ports(port_defs):
        net_name = net_maps['by_id'][port.network_id]
        if net_name in default_route_network:
            tags.update({'tripleo_default_route=true'})
        conn.network.set_tags(port, list(tags))
        inst_ports.append(port)
        tags.discard('tripleo_default_route=true')
    result['changed'] = True


def _tripleo_network_port_defs(net_maps, instance, inst_ports):
    hostname = instance['hostname']
    create_port_defs, update_port_defs = [], []
    existing_port_names = [port.name for port in inst_ports]
    for net in instance['networks']:
        net_name = net['network']
        net_name_upper = net_maps['by_name'][net_name]['name_upper']
        if net.get('vif', False):
            continue
        net_id = net_maps['by_name'][net_name]['id']
        subnet_name_map = net_maps['by_name'][net_name]['subnets']
        if net.get('fixed_ip'):
            fixed_ips = [{'ip_address': net['fixed_ip']}]
        else:
            if net.get('subnet'):
                try:
                    subnet_id = subnet_name_map[net['subnet']]
                except KeyError:
                    raise Exception('Subnet {subnet} not found on network {net_name}'.format(
                        subnet=net['subnet'], net_name=net_name))
            elif len(net_maps['by_name'][net_name]['subnets']) == 1:
                subnet_id = next(iter(subnet_name_map.values()))
            else:
                raise Exception(
                    'The "subnet" or "fixed_ip" must be set for the {instance_name} port on the {network_name} '
                    'network since there are multiple subnets'.format(instance_name=hostname, network_name=net_name))
            fixed_ips = [{'subnet_id': subnet_id}]
        port_name = '_'.join([hostname, net_name_upper])
        port_def = dict(name=port_name, dns_name=hostname, network_id=net_id, fixed_ips=fixed_ips)
        if port_name not in existing_port_names:
            create_port_defs.append(port_def)
        else:
            update_port_defs.append(port_def)
    return create_port_defs, update_port_defs


def _tripleo_network_delete_removed_nets(result, conn, instance, net_maps, inst_ports):
    instance_nets = [net['network'] for net in instance['networks']]
    ports_by_net = {net_maps['by_id'][port.network_id]: port for port in inst_ports
                    if 'tripleo_ironic_vif_port=true' not in port.tags}
    to_delete = [ports_by_net[net_name] for net_name in ports_by_net if net_name not in instance_nets]
    if to_delete:
        for port in to_delete:
            conn.network.delete_port(port.id)
        inst_ports[:] = [port for port in inst_ports if port not in to_delete]
        result['changed'] = True


def _tripleo_network_provision_ports(result, conn, stack, instance, net_maps, ports_by_node, ironic_uuid, role):
    hostname = instance['hostname']
    network_config = instance.get('network_config', {})
    tags = ['tripleo_stack_name={}'.format(stack)]
    inst_ports = [port for port in conn.network.ports(tags=tags) if port.dns_name == hostname.lower()]
    tags.append('tripleo_role={}'.format(role))
    if ironic_uuid:
        tags.append('tripleo_ironic_uuid={}'.format(ironic_uuid))
    tags = set(tags)
    _tripleo_network_delete_removed_nets(result, conn, instance, net_maps, inst_ports)
    _tripleo_network_pre_provisioned_ports(result, conn, net_maps, instance, inst_ports, tags)
    create_port_defs, update_port_defs = _tripleo_network_port_defs(net_maps, instance, inst_ports)
    if create_port_defs:
        _tripleo_network_create_ports(result, conn, create_port_defs, inst_ports, tags, net_maps, network_config)
    if update_port_defs:
        _tripleo_network_update_ports(result, conn, update_port_defs, inst_ports, tags, net_maps, network_config)
    ports_by_node[hostname] = inst_ports


def _tripleo_network_unprovision_ports(result, conn, stack, instance, ironic_uuid):
    hostname = instance['hostname']
    tags = ['tripleo_stack_name={}'.format(stack)]
    if ironic_uuid:
        tags.append('tripleo_ironic_uuid={}'.format(ironic_uuid))
    inst_ports = [port for port in conn.network.ports(tags=tags) if port.dns_name == hostname.lower()]
    if not inst_ports:
        tags = ['tripleo_stack_name={}'.format(stack)]
        inst_ports = [port for port in conn.network.ports(tags=tags) if port.dns_name == hostname.lower()]
    if inst_ports:
        for port in inst_ports:
            conn.network.delete_port(port.id)
        result['changed'] = True


def _tripleo_network_tag_metalsmith_ports(result, conn, concurrency, stack, uuid_by_hostname, hostname_role_map,
                                          instances_by_hostname, net_maps):
    metalsmith = importlib.import_module("metalsmith")
    provisioner = metalsmith.Provisioner(cloud_region=conn.config)
    provisioner.connection = conn

    def tag(uuid, hostname, tags, default_route_network):
        instance = provisioner.show_instance(uuid)
        for nic in instance.nics():
            net_name = net_maps['by_id'][nic.network_id]
            result['changed'] = _tripleo_network_reset_tags(conn, nic, tags, default_route_network, net_name)
            if not nic.dns_name == hostname:
                conn.network.update_port(nic, dns_name=hostname)
                result['changed'] = True
            tags.discard('tripleo_default_route=true')

    jobs = []
    for hostname, uuid in uuid_by_hostname.items():
        role = hostname_role_map[hostname]
        default_route_network = instances_by_hostname[hostname].get('network_config', {}).get(
            'default_route_network', ['ctlplane'])
        tags = {'tripleo_stack_name={}'.format(stack), 'tripleo_ironic_uuid={}'.format(uuid),
                'tripleo_role={}'.format(role), 'tripleo_ironic_vif_port=true'}
        jobs.append((tag, (uuid, hostname, tags, default_route_network)))
    _tripleo_network_jobs(jobs)


def _tripleo_network_ports(p, ctx):
    result = dict(success=False, changed=False, error="", node_port_map=dict())
    stack, concurrency, instances, state = p["stack_name"], p["concurrency"], p["instances"], p["state"]
    hostname_role_map = p["hostname_role_map"]
    uuid_by_hostname = {i['hostname']: i['id'] for i in p["provisioned_instances"]}
    instances_by_hostname = {i['hostname']: i for i in instances}
    try:
        conn = _tripleo_network_connect(p)
        net_maps = _tripleo_network_name_id_maps(conn)
        if state == 'present' and uuid_by_hostname:
            _tripleo_network_tag_metalsmith_ports(result, conn, concurrency, stack, uuid_by_hostname,
                                                  hostname_role_map, instances_by_hostname, net_maps)
        if instances:
            for instance in instances:
                for net in instance['networks']:
                    if not net['network'] in net_maps['by_name']:
                        raise Exception('Network {network_name} for instance {instance_name} not found.'.format(
                            network_name=net['network'], instance_name=instance['hostname']))
            ports_by_node = dict()
            jobs = []
            for instance in instances:
                ironic_uuid = uuid_by_hostname.get(instance['hostname'])
                if state == 'present':
                    role = hostname_role_map[instance['hostname']]
                    jobs.append((_tripleo_network_provision_ports,
                                 (result, conn, stack, instance, net_maps, ports_by_node, ironic_uuid, role)))
                elif state == 'absent':
                    jobs.append((_tripleo_network_unprovision_ports, (result, conn, stack, instance, ironic_uuid)))
            _tripleo_network_jobs(jobs)
            node_port_map = result['node_port_map']
            for hostname, ports in ports_by_node.items():
                node = node_port_map[hostname.lower()] = dict()
                for port in ports:
                    if not port.fixed_ips:
                        continue
                    net_name = net_maps['by_id'][port.network_id]
                    ip_address = port.fixed_ips[0]['ip_address']
                    cidr_prefix = net_maps['cidr_prefix_map'][port.fixed_ips[0]['subnet_id']]
                    node[net_name] = {'ip_address': ip_address, 'ip_subnet': '/'.join([ip_address, cidr_prefix]),
                                      'ip_address_uri': _tripleo_network_wrap_ipv6(ip_address)}
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error managing network ports {}".format(err), **result)


@module("tripleo_overcloud_network_ports", "ansible.legacy.tripleo_overcloud_network_ports")
def tripleo_overcloud_network_ports_module(params, ctx):
    return _tripleo_network_run("tripleo_overcloud_network_ports", _TRIPLEO_NETWORK_PORTS_SPEC, params, ctx,
                                _tripleo_network_ports)


# ---------------------------------------------------------------------------
# tripleo_network_ports_populate_environment

def _tripleo_network_ports_populate(p, ctx):
    result = dict(success=False, changed=False, error="", environment={})
    environment = result['environment'] = p['environment']
    role_net_map, node_port_map, templates = p['role_net_map'], p['node_port_map'], p['templates']
    try:
        conn = _tripleo_network_connect(p)
        net_name_map = {}
        networks = set()
        for role, nets in role_net_map.items():
            networks.update(nets)
        for name_lower in networks:
            if name_lower == 'ctlplane':
                net_name_map[name_lower] = name_lower
                continue
            net = conn.network.find_network(name_or_id=name_lower)
            if not net:
                raise Exception('Network {} not found'.format(name_lower))
            name_upper = [x.split('=').pop() for x in net.tags if x.startswith('tripleo_network_name')]
            if not name_upper:
                raise Exception(
                    'Unable to find network name for network with name_lower: {}, please make sure the network '
                    'tag tripleo_network_name=$NET_NAME is set.'.format(name_lower))
            net_name_map[name_lower] = name_upper.pop()
        resource_registry = environment.setdefault('resource_registry', {})
        parameter_defaults = environment.setdefault('parameter_defaults', {})
        for role, nets in role_net_map.items():
            for net in nets:
                if net == 'ctlplane':
                    continue
                registry_key = 'OS::TripleO::{role}::Ports::{net_name}Port'.format(
                    role=role, net_name=net_name_map[net])
                resource_registry.update({registry_key: os.path.join(
                    templates, 'network/ports/deployed_{net_name_lower}.yaml'.format(net_name_lower=net))})
        parameter_defaults.setdefault('NodePortMap', {}).update(node_port_map)
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail("Error overcloud network provision failed!", **result)


@module("tripleo_network_ports_populate_environment", "ansible.legacy.tripleo_network_ports_populate_environment")
def tripleo_network_ports_populate_environment_module(params, ctx):
    return _tripleo_network_run("tripleo_network_ports_populate_environment", {
        "environment": {"type": "dict", "default": {}},
        "role_net_map": {"type": "dict", "default": {}},
        "node_port_map": {"type": "dict", "default": {}},
        "templates": _TRIPLEO_NETWORK_TEMPLATES,
    }, params, ctx, _tripleo_network_ports_populate)


# ---------------------------------------------------------------------------
# tripleo_service_vip

_TRIPLEO_NETWORK_SERVICE_VIP_SPEC = {
    "playbook_dir": {"type": "str"},
    "render_path": {"type": "str"},
    "stack_name": {"type": "str", "default": "overcloud"},
    "service_name": {"type": "str"},
    "state": {"default": "present", "choices": ["present", "absent"]},
    "network": {"type": "str"},
    "fixed_ips": {"type": "list", "elements": "dict"},
}


def _tripleo_network_service_vip_port(conn, net, stack, service, fixed_ips):
    if not fixed_ips:
        raise Exception('ERROR: No IP allocation definition provided. Please provide at least one IP allocation '
                        'definition using the fixed_ips argument.')
    tags = {'tripleo_stack_name={}'.format(stack), 'tripleo_service_vip={}'.format(service)}
    port_def = dict(name=service + _TRIPLEO_NETWORK_NET_VIP_SUFFIX, network_id=net.id)
    try:
        port = next(conn.network.ports(tags=list(tags), network_id=net.id))
    except StopIteration:
        port = None
    fixed_ips_def = port_def['fixed_ips'] = []
    for fixed_ip in fixed_ips:
        ip_address = fixed_ip.get('ip_address')
        subnet_name = fixed_ip.get('subnet')
        ip_def = {}
        if ip_address:
            ip_def['ip_address'] = ip_address
        if subnet_name:
            subnet = conn.network.find_subnet(subnet_name, network_id=net.id)
            if subnet is None:
                raise Exception('ERROR: Subnet {} does not exist for network {}. Service {} is mapped to a subnet '
                                'that does not exist. Verify that the VipSubnetMap parameter has the correct '
                                'values.'.format(subnet_name, net.name, service))
            ip_def['subnet_id'] = subnet.id
        fixed_ips_def.append(ip_def)
    if not port:
        port = conn.network.create_port(**port_def)
    else:
        port = conn.network.update_port(port, **port_def)
    p_tags = set(port.tags)
    if not tags.issubset(p_tags):
        p_tags.update(tags)
        conn.network.set_tags(port, list(p_tags))
    return port


def _tripleo_network_service_vip_write(fixed_ips, service, playbook_dir, out=None):
    ips = [x['ip_address'] for x in fixed_ips]
    if len(ips) == 1:
        ips = ips[0]
    if out is not None:
        var_file = os.path.abspath(out)
    else:
        playbook_dir_path = os.path.abspath(playbook_dir)
        _tripleo_network_validate_playbook_dir(playbook_dir)
        var_file = os.path.join(playbook_dir_path, 'service_vip_vars.yaml')
    if not os.path.exists(var_file):
        data = dict()
    else:
        if not os.path.isfile(var_file):
            raise Exception('ERROR: Service VIP var file {} is not a file'.format(var_file))
        with open(var_file, 'r') as f:
            data = yaml.safe_load(f.read())
    data.update({service: ips})
    with open(var_file, 'w') as f:
        f.write(yaml.safe_dump(data, default_flow_style=False))
    return data


def _tripleo_network_service_vip(p, ctx):
    result = dict(success=False, changed=False, error="")
    stack, state = p['stack_name'], p['state']
    service = p['service_name'] or 'all'
    out, playbook_dir = p['render_path'], p['playbook_dir']
    data = dict()
    try:
        if out is None and playbook_dir is None and state != 'absent':
            raise Exception("Provide a playbook_dir or an output path file.")
        if state == 'present' and service == 'all':
            raise Exception("Provide service_name for service_vip creation.")
        if state == 'absent':
            try:
                conn = _tripleo_network_connect(p)
                if service == 'all':
                    ports = conn.network.ports(tags=list({'tripleo_stack_name={}'.format(stack)}))
                    matching = [port for port in ports if any("tripleo_service_vip" in tag for tag in port.tags)]
                else:
                    matching = conn.network.ports(tags=list({'tripleo_stack_name={}'.format(stack),
                                                             'tripleo_service_vip={}'.format(service)}))
                for port in matching:
                    conn.network.delete_port(port.id)
            except Exception:
                pass
        else:
            network, fixed_ips = p['network'], p['fixed_ips']
            if any(('use_neutron', False) in fixed_ip.items() for fixed_ip in fixed_ips):
                if [fixed_ip for fixed_ip in fixed_ips if 'ip_address' in fixed_ip]:
                    port_fixed_ips = fixed_ips
                else:
                    raise Exception('Neutron service is not available and no fixed IP address provided for {} '
                                    'service virtual IP. When neutron service is not available a fixed IP address '
                                    'must be provided'.format(service))
            else:
                conn = _tripleo_network_connect(p)
                net = conn.network.find_network(network)
                if net is None or net.name == 'ctlplane':
                    try:
                        port = next(conn.network.ports(tags=['tripleo_stack_name={}'.format(stack),
                                                             'tripleo_vip_net=ctlplane']))
                    except StopIteration:
                        raise Exception(
                            'Virtual IP address on the ctlplane network for stack {} not found. Service {} is mapped '
                            'to the ctlplane network and thus require a virtual IP address to be present on the '
                            'ctlplane network.'.format(stack, service))
                else:
                    port = _tripleo_network_service_vip_port(conn, net, stack, service, fixed_ips)
                port_fixed_ips = port.fixed_ips
            data = _tripleo_network_service_vip_write(port_fixed_ips, service, playbook_dir, out)
        result['changed'] = True
        result['success'] = True
        result['data'] = data
        return result
    except Exception as err:
        result['error'] = str(err)
        result['data'] = {}
        _tripleo_network_fail('ERROR: Failed creating/deleting service virtual IP! {}'.format(err), **result)


@module("tripleo_service_vip", "ansible.legacy.tripleo_service_vip")
def tripleo_service_vip_module(params, ctx):
    return _tripleo_network_run("tripleo_service_vip", _TRIPLEO_NETWORK_SERVICE_VIP_SPEC, params, ctx,
                                _tripleo_network_service_vip)


# ---------------------------------------------------------------------------
# tripleo_ovn_mac_addresses

_TRIPLEO_NETWORK_OVN_SPEC = {
    "concurrency": {"type": "int", "default": 0},
    "playbook_dir": {"type": "str"},
    "stack_name": {"type": "str", "default": "overcloud"},
    "ovn_bridge_mappings": {"type": "list"},
    "server_resource_names": {"type": "list"},
    "ovn_static_bridge_mac_mappings": {"type": "dict", "default": {}},
}
_TRIPLEO_NETWORK_OVN_NET = 'ovn_mac_addr_net'


def _tripleo_network_ovn_ports(result, conn, net_id, tags, physnets, server):
    for physnet in physnets:
        name = '_'.join([server, 'ovn_physnet', physnet])
        try:
            next(conn.network.ports(network_id=net_id, name=name, tags=tags))
            continue
        except StopIteration:
            pass
        port = conn.network.create_port(network_id=net_id, name=name, dns_name=server)
        conn.network.set_tags(port, tags + ['tripleo_ovn_physnet={}'.format(physnet)])
        result['changed'] = True


def _tripleo_network_ovn_write(conn, playbook_dir, net_id, tags, static_mappings):
    playbook_dir_path = os.path.abspath(playbook_dir)
    _tripleo_network_validate_playbook_dir(playbook_dir)
    var_file = os.path.join(playbook_dir_path, 'ovn_bridge_mac_address_vars.yaml')
    if not os.path.exists(var_file):
        data = dict()
    else:
        if not os.path.isfile(var_file):
            raise Exception('ERROR: OVN bridge MAC address var file {} is not a file'.format(var_file))
        with open(var_file, 'r') as f:
            data = yaml.safe_load(f.read())
    if not static_mappings:
        for port in conn.network.ports(network_id=net_id, tags=tags):
            tag_dict = _tripleo_network_tags_to_dict(port.tags)
            hostname = port.dns_name
            physnet = tag_dict.get('tripleo_ovn_physnet')
            if hostname and physnet:
                host = data.setdefault(hostname, dict())
                host[physnet] = port.mac_address
    else:
        data = static_mappings
    with open(var_file, 'w') as f:
        f.write(yaml.safe_dump(data, default_flow_style=False))


def _tripleo_network_ovn(p, ctx):
    result = dict(success=False, changed=False, error="")
    stack = p['stack_name']
    bridge_mappings = p['ovn_bridge_mappings'] or []
    servers = p['server_resource_names'] or []
    playbook_dir = p['playbook_dir']
    static_mappings = p['ovn_static_bridge_mac_mappings']
    physnets = [x.split(':')[0] for x in bridge_mappings]
    conn = tags = net_id = None
    try:
        if not static_mappings:
            conn = _tripleo_network_connect(p)
            network = conn.network.find_network(_TRIPLEO_NETWORK_OVN_NET)
            if network is None:
                network = conn.network.create_network(
                    name=_TRIPLEO_NETWORK_OVN_NET,
                    description='Network used to allocate MAC addresses for OVN chassis.')
                result['changed'] = True
            net_id = network.id
            tags = ['tripleo_stack_name={}'.format(stack)]
            if servers:
                _tripleo_network_jobs([(_tripleo_network_ovn_ports, (result, conn, net_id, tags, physnets, server))
                                       for server in servers])
            try:
                for port in conn.network.ports(network_id=net_id, tags=tags):
                    port_tags = _tripleo_network_tags_to_dict(port.tags)
                    if port.dns_name not in servers or port_tags['tripleo_ovn_physnet'] not in physnets:
                        conn.network.delete_port(port)
                        result['changed'] = True
            except Exception:
                pass
        if static_mappings or servers:
            _tripleo_network_ovn_write(conn, playbook_dir, net_id, tags, static_mappings)
        result['success'] = True
        return result
    except Exception as err:
        result['error'] = str(err)
        _tripleo_network_fail('ERROR: Failed creating OVN MAC address resources! {}'.format(err), **result)


@module("tripleo_ovn_mac_addresses", "ansible.legacy.tripleo_ovn_mac_addresses")
def tripleo_ovn_mac_addresses_module(params, ctx):
    return _tripleo_network_run("tripleo_ovn_mac_addresses", _TRIPLEO_NETWORK_OVN_SPEC, params, ctx,
                                _tripleo_network_ovn)
