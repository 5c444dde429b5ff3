# -*- coding: utf-8 -*-
"""A simulated Windows host for ansible.windows modules, for tests that have no Windows machine.

conftest writes one copy of this file per module (slurp.py, win_copy.py...) into a stand-in
ansible.windows collection, ending with ``main('<module name>')``. Each copy:
- validates its arguments with AnsibleModule built from ansible.windows's OWN argument specs
  (``ansible-doc --json`` of the real collection, in $SIMWIN_ARGSPECS): an undocumented option, a
  wrong type or choice fails the task as the real module would;
- answers from a local folder ($SIMWIN_ROOT) standing for the drives (C:\\X\\y -> ROOT/C/X/y), with
  the documented return values, keeping ACL and service state in ROOT/.simwin/*.json;
- appends the call (module, validated arguments, folder ACL state) to ROOT/.simwin/calls.jsonl.
A service listed in ROOT/.simwin/held_open.json holds its files open while it runs: win_copy then
fails with Windows's sharing-violation text, as Remove-Item does on a real host.
"""
import base64
import hashlib
import json
import os
import shutil
import time

from ansible.module_utils.basic import AnsibleModule


def spec_from_doc(options):
    spec = {}
    for name, doc in options.items():
        entry = {'type': doc.get('type', 'str')}
        for key in ('required', 'choices', 'aliases', 'default', 'elements', 'no_log'):
            if key in doc:
                entry[key] = doc[key]
        if 'suboptions' in doc:
            entry['options'] = spec_from_doc(doc['suboptions'])
        spec[name] = entry
    return spec


def state_dir():
    path = os.path.join(os.environ['SIMWIN_ROOT'], '.simwin')
    os.makedirs(path, exist_ok=True)
    return path


def load(name, default):
    path = os.path.join(state_dir(), name)
    if not os.path.exists(path):
        return default
    with open(path) as handle:
        return json.load(handle)


def save(name, data):
    with open(os.path.join(state_dir(), name), 'w') as handle:
        json.dump(data, handle, indent=1, sort_keys=True)


def local(win_path):
    """C:\\A b\\c -> ROOT/C/A b/c; an absolute POSIX path (Ansible's transfer file) stays as it is."""
    if win_path.startswith('/'):
        return win_path
    drive, rest = win_path.split(':', 1)
    parts = [p for p in rest.replace('/', '\\').split('\\') if p]
    return os.path.join(os.environ['SIMWIN_ROOT'], drive.upper(), *parts)


def folder_key(win_path):
    return win_path.rstrip('\\').lower()


def win_dirname(win_path):
    return win_path.rsplit('\\', 1)[0]


def record(name, params, **extra):
    entry = dict(module=name, args=params, time=time.time())
    entry.update(extra)
    with open(os.path.join(state_dir(), 'calls.jsonl'), 'a') as handle:
        handle.write(json.dumps(entry) + '\n')


def acl_of(acls, win_path):
    return acls.get(folder_key(win_path), {'inherit': True, 'rules': []})


def slurp(module):
    src = module.params['src']
    path = local(src)
    if os.path.isdir(path):
        module.fail_json(msg='Path %s is a directory' % src)
    if not os.path.isfile(path):
        module.fail_json(msg='Path %s is not found' % src)
    with open(path, 'rb') as handle:
        content = handle.read()
    module.exit_json(changed=False, content=base64.b64encode(content).decode('ascii'), encoding='base64', source=src)


def win_acl(module):
    params = module.params
    if not os.path.exists(local(params['path'])):
        module.fail_json(msg='%s file or directory does not exist on the host' % params['path'])
    acls = load('acl.json', {})
    acl = acl_of(acls, params['path'])
    rule = [params['user'], params['rights'], params['type']]
    changed = False
    if params['state'] == 'present' and rule not in acl['rules']:
        acl['rules'].append(rule)
        changed = True
    elif params['state'] == 'absent' and rule in acl['rules']:
        acl['rules'].remove(rule)
        changed = True
    acls[folder_key(params['path'])] = acl
    save('acl.json', acls)
    module.exit_json(changed=changed)


def win_acl_inheritance(module):
    params = module.params
    if not os.path.exists(local(params['path'])):
        module.fail_json(msg='%s file or directory does not exist on the host' % params['path'])
    acls = load('acl.json', {})
    acl = acl_of(acls, params['path'])
    wanted = params['state'] == 'present'
    changed = acl['inherit'] != wanted
    acl['inherit'] = wanted
    acls[folder_key(params['path'])] = acl
    save('acl.json', acls)
    module.exit_json(changed=changed)


def held_by_running_service(dest):
    services = load('services.json', {})
    for service, paths in load('held_open.json', {}).items():
        if services.get(service) == 'running' and dest.lower() in [p.lower() for p in paths]:
            return service
    return None


def win_copy(module):
    params = module.params
    if not params['remote_src']:
        module.fail_json(msg='simwin: only remote_src=true is simulated (the action plugin transfers the file)')
    src, dest = local(params['src']), local(params['dest'])
    with open(src, 'rb') as handle:
        content = handle.read()
    checksum = hashlib.sha1(content).hexdigest()
    result = dict(changed=False, checksum=checksum, operation='file_copy', src=params['src'], dest=params['dest'])
    if os.path.isfile(dest):
        with open(dest, 'rb') as handle:
            if handle.read() == content:
                module.exit_json(**result)
        if held_by_running_service(params['dest']):
            module.fail_json(msg="Unhandled exception while executing module: Cannot remove item %s: The process cannot "
                                 "access the file '%s' because it is being used by another process."
                                 % (params['dest'], params['dest']))
        if params['backup']:
            result['backup_file'] = '%s.%d.%s.bak' % (params['dest'], os.getpid(), time.strftime('%Y%m%d-%H%M%S'))
            shutil.copyfile(dest, local(result['backup_file']))
        os.unlink(dest)  # win_copy: Remove-Item, then Copy-Item (a new file, ACL from the folder)
    with open(dest, 'wb') as handle:
        handle.write(content)
    result.update(changed=True, size=len(content))
    module.exit_json(**result)


def win_service(module):
    params = module.params
    services = load('services.json', {})
    name = params['name']
    if name not in services:
        module.fail_json(msg="Service '%s' is not installed, need to set 'path' to create a new service" % name,
                         exists=False)
    before = services[name]
    after = {'started': 'running', 'restarted': 'running', 'stopped': 'stopped'}.get(params['state'], before)
    if not module.check_mode:
        services[name] = after
        save('services.json', services)
    module.exit_json(changed=params['state'] == 'restarted' or before != after, exists=True, name=name, state=after)


def win_command(module):
    module.exit_json(changed=True, cmd=module.params['cmd'], rc=0, stdout='', stderr='')


def main(name):
    with open(os.environ['SIMWIN_ARGSPECS']) as handle:
        options = json.load(handle)['ansible.windows.' + name]
    module = AnsibleModule(argument_spec=spec_from_doc(options), supports_check_mode=True)
    extra = {}
    if name == 'win_copy':
        acl = acl_of(load('acl.json', {}), win_dirname(module.params['dest']))
        extra['folder_acl'] = acl
    record(name, module.params, check_mode=module.check_mode, **extra)
    globals()[name](module)
