# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Generate a seeded, consistent sandbox world and the inventory that matches it.

    python tests/sandbox/make_world.py --structures 500 --hosts 20 --seed 7 --url http://127.0.0.1:8080 \
        --out /tmp/w [--share-missing 0.05 --share-rejected 0.05 ...] [--today 2025-06-01]

Writes DIR/world.yml (as JSON, which is YAML too and loads fast),
DIR/inventory/{hosts.yml, group_vars/all/chorus.yml, host_vars/<host>.yml}, DIR/servers/<host>/ (where
each host's corail.ini goes) and DIR/expected.json ({siret: status}).
Importable: make_world(n, hosts=..., seed=..., shares=..., url=None, today=None) returns
dict(world=..., inventory=..., expected=..., counts=...) and write_world(result, out) writes it.

Each problem is injected on its own accounts or structures, so the expected status of every
structure is the one the design's precedence gives (README.md, "Generated worlds").
"""

import argparse
import collections
import datetime
import json
import os
import random
import string
import sys

import yaml

SHARE_KINDS = ('missing', 'rejected', 'expired', 'expiring', 'unattached', 'unknown', 'forbidden', 'piste_failed')
DEFAULT_SHARES = dict.fromkeys(SHARE_KINDS, 0.05)
STATUS_OF = {
    'ok': 'ok',
    'missing': 'missing_account',
    'rejected': 'account_rejected',
    'expired': 'password_expired',
    'expiring': 'password_expiring',
    'unattached': 'not_attached',
    'unknown': 'structure_unknown',
    'forbidden': 'access_forbidden',
    'piste_failed': 'piste_auth_failed',
}
PASSWORD_LIFETIME_DAYS = 424   # chorus-pro-api.md section 5
WARNING_DAYS = 30              # the design's default chorus_password_warning_days

TOWNS = ('Pau', 'Lescar', 'Billère', 'Jurançon', 'Orthez', 'Oloron', 'Nay', 'Morlaàs', 'Lons', 'Gan', 'Mourenx',
         'Salies', 'Sauveterre', 'Navarrenx', 'Arzacq', 'Garlin', 'Lembeye', 'Thèze', 'Monein', 'Lasseube',
         'Arudy', 'Laruns', 'Bedous', 'Accous', 'Mauléon', 'Tardets', 'Hasparren', 'Bidache', 'Artix', 'Serres')
KINDS_OF_BODY = ('Commune de', 'CCAS de', 'Communauté de communes de', 'Syndicat des eaux de', 'SIVU de')
SERVICES = (('FIN', 'Service financier'), ('RH', 'Ressources humaines'), ('TECH', 'Services techniques'),
            ('SCOL', 'Affaires scolaires'), ('SOC', 'Action sociale'))
PASSWORD_CHARS = string.ascii_letters + string.digits + '[{|:;!#%*-_=+.'


def luhn_ok(digits):
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _check_digit(partial):
    return next(str(d) for d in range(10) if luhn_ok(partial + str(d)))


def new_siret(rng, taken):
    """A Luhn-valid SIRET of a public body (SIREN starting with 2), not in `taken`."""
    while True:
        siren = '2' + ''.join(rng.choice(string.digits) for dummy in range(7))
        siren += _check_digit(siren)
        head = siren + ''.join(rng.choice(string.digits) for dummy in range(4))
        siret = head + _check_digit(head)
        if siret not in taken:
            taken.add(siret)
            return siret


def _check_shares(n, shares):
    merged = dict(DEFAULT_SHARES)
    for key, value in (shares or {}).items():
        if key not in DEFAULT_SHARES:
            raise ValueError('unknown share %r; known: %s' % (key, ', '.join(SHARE_KINDS)))
        if not 0 <= float(value) <= 1:
            raise ValueError('share %s must be between 0 and 1' % key)
        merged[key] = float(value)
    counts = {k: int(round(merged[k] * n)) for k in SHARE_KINDS}
    if sum(counts.values()) > n:
        raise ValueError('shares add up to more than all %d structures' % n)
    counts['ok'] = n - sum(counts.values())
    if counts['ok'] < 1 and (counts['unattached'] or counts['unknown']):
        raise ValueError('unattached and unknown structures need at least one healthy structure')
    return counts


class _Gen:
    def __init__(self, seed, today):
        self.rng = random.Random(seed)
        self.today = today
        self.sirets = set()
        self.ids = set()
        self.logins = set()
        self.world_structures = []
        self.invoice_no = 0
        self.invoices = []

    def password(self):
        while True:
            password = ''.join(self.rng.choice(PASSWORD_CHARS) for dummy in range(16))
            # "{{", "{%" and "{#" would be templated by Ansible when read from the inventory.
            if not any(mark in password for mark in ('{{', '{%', '{#')):
                return password

    def secret(self, size=32):
        return ''.join(self.rng.choice(string.ascii_letters + string.digits) for dummy in range(size))

    def structure(self, in_world=True, invoices=True):
        rng = self.rng
        siret = new_siret(rng, self.sirets)
        town = rng.choice(TOWNS)
        record = {'siret': siret, 'name': '%s %s' % (rng.choice(KINDS_OF_BODY), town),
                  'contact': 'finances@mairie-%s.fr' % town.lower().replace('ç', 'c').replace('à', 'a')
                  .replace('è', 'e').replace('é', 'e'),
                  'services': [dict(code=c, libelle=label) for c, label in rng.sample(SERVICES, rng.randint(0, 3))]}
        if in_world:
            ident = rng.randint(10000000, 39999999)
            while ident in self.ids:
                ident = rng.randint(10000000, 39999999)
            self.ids.add(ident)
            self.world_structures.append({'siret': siret, 'id_structure_cpp': ident, 'designation': record['name'],
                                          'active': True, 'services': record['services']})
            if invoices and rng.random() < 0.5:
                for dummy in range(rng.randint(1, 3)):
                    self.invoice_no += 1
                    day = self.today - datetime.timedelta(days=rng.randint(1, 90))
                    self.invoices.append({'siret': siret, 'numero': 'FAC-%d-%05d' % (day.year, self.invoice_no),
                                          'date_depot': day.isoformat()})
        return record

    def login(self, first_siret):
        if self.rng.random() < 0.5:
            login = 'TECH_0%s@cpp2017.fr' % first_siret
        else:
            tail = ''.join(self.rng.choice(string.ascii_uppercase + string.digits) for dummy in range(10))
            login = 'TECH_1_%s@cpro.fr' % tail
        if login in self.logins:
            return self.login(first_siret)
        self.logins.add(login)
        return login


def make_world(n, hosts=None, seed=0, shares=None, url=None, today=None):
    """Return dict(world, inventory, expected, counts) for n inventory structures."""
    if n < 1:
        raise ValueError('at least one structure is needed')
    hosts = int(hosts or max(1, (n + 24) // 25))
    if today is None:
        today_date, today_fixed = datetime.date.today(), False
    else:
        today_date = today if isinstance(today, datetime.date) else datetime.date.fromisoformat(str(today))
        today_fixed = True
    counts = _check_shares(n, shares)
    gen = _Gen(seed, today_date)
    rng = gen.rng

    n_apps = 1 if n < 20 else (2 if n < 100 else 3)
    apps = []
    for i in range(n_apps + (1 if counts['piste_failed'] else 0)):
        apps.append({'name': 'corail_app_%d' % (i + 1), 'client_id': gen.secret(32), 'client_secret': gen.secret(40),
                     'environment': 'production' if i % 3 == 1 else 'qualification',
                     'broken': bool(counts['piste_failed']) and i == n_apps})
    healthy_apps = [a for a in apps if not a['broken']]

    # Whole-account problems become groups of 1 to 4 structures (2.5 per account on average).
    forbidden_whole = counts['forbidden'] // 2 if counts['ok'] else counts['forbidden']
    plan = [('ok', counts['ok']), ('expiring', counts['expiring']), ('rejected', counts['rejected']),
            ('expired', counts['expired']), ('missing', counts['missing']), ('piste_failed', counts['piste_failed']),
            ('forbidden', forbidden_whole)]
    groups = []
    app_turn = 0
    for kind, total in plan:
        while total > 0:
            size = min(rng.choice((1, 2, 3, 4)), total)
            total -= size
            if kind == 'piste_failed':
                app = apps[-1]
            else:
                app = healthy_apps[app_turn % len(healthy_apps)]
                app_turn += 1
            members = [dict(gen.structure(), kind=kind, attached=kind != 'missing',
                            raccordement=kind not in ('missing', 'forbidden')) for dummy in range(size)]
            groups.append({'kind': kind, 'app': app, 'members': members})
    # Structure-level problems go last on healthy accounts, after their healthy structures.
    # Each on its own healthy account while there are enough of them.
    healthy = [g for g in groups if g['kind'] == 'ok']
    rng.shuffle(healthy)
    extra = [('unattached', counts['unattached']), ('unknown', counts['unknown']),
             ('forbidden', counts['forbidden'] - forbidden_whole)]
    turn = 0
    for kind, total in extra:
        for dummy in range(total):
            group = healthy[turn % len(healthy)]
            turn += 1
            if kind == 'unknown':
                member = gen.structure(in_world=False)
            else:
                member = gen.structure(invoices=kind == 'forbidden')
            member.update(kind=kind, attached=kind == 'forbidden', raccordement=False)
            group['members'].append(member)
    for group in groups:
        group['members'].sort(key=lambda m: m['kind'] != group['kind'])  # stable: healthy ones first

    world_accounts, raccordements, chorus_accounts = [], [], {}
    for i, group in enumerate(groups):
        kind, app, members = group['kind'], group['app'], group['members']
        if kind == 'missing':
            # Half absent from chorus_accounts, half with an empty account name.
            group['login'] = '' if i % 2 else gen.login(members[0]['siret'])
            continue
        login = gen.login(members[0]['siret'])
        group['login'] = login
        if kind == 'expired':
            expires = today_date - datetime.timedelta(days=rng.randint(5, 60))
        elif kind == 'expiring':
            expires = today_date + datetime.timedelta(days=rng.randint(1, WARNING_DAYS - 5))
        else:
            expires = today_date + datetime.timedelta(days=rng.randint(WARNING_DAYS + 15, 400))
        password = gen.password()
        given = password
        if kind == 'rejected':
            while given == password:
                given = gen.password()
        world_accounts.append({'login': login, 'password': password, 'environment': app['environment'],
                               'password_expires_on': expires.isoformat(),
                               'structures': [m['siret'] for m in members if m['attached']]})
        changed = expires - datetime.timedelta(days=PASSWORD_LIFETIME_DAYS)
        chorus_accounts[login] = {'password': given, 'password_changed_on': changed.isoformat(),
                                  'environment': app['environment']}
        for m in members:
            if m['attached'] and m['raccordement']:
                raccordements.append({'client_id': app['client_id'], 'siret': m['siret']})

    # Whole accounts go to one host (a Corail server serves a gestionnaire's structures together).
    host_names = ['corail-%03d' % (i + 1) for i in range(hosts)]
    order = list(range(len(groups)))
    rng.shuffle(order)
    per_host = collections.OrderedDict((h, []) for h in host_names)
    for position, index in enumerate(order):
        per_host[host_names[position % hosts]].append(groups[index])
    host_vars, expected = {}, {}
    for host, host_groups in per_host.items():
        app_count = collections.Counter(g['app']['name'] for g in host_groups)
        default_app = (sorted(app_count.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                       if app_count else healthy_apps[0]['name'])
        entries = []
        for group in host_groups:
            for m in group['members']:
                entry = {'siret': m['siret'], 'name': m['name'], 'account': group['login'],
                         'service_code': m['services'][0]['code'] if m['services'] else '',
                         'contact': m['contact']}
                if group['app']['name'] != default_app:
                    entry['piste_app'] = group['app']['name']
                entries.append(entry)
                expected[m['siret']] = STATUS_OF[m['kind']]
        host_vars[host] = {'chorus_piste_app': default_app, 'corail_structures': entries}

    world = {
        'apps': [{'client_id': a['client_id'], 'client_secret': a['client_secret'], 'environment': a['environment']}
                 for a in apps],
        'structures': gen.world_structures,
        'accounts': world_accounts,
        'raccordements': raccordements,
        'invoices': gen.invoices,
    }
    if today_fixed:
        world['today'] = today_date.isoformat()
    piste_apps = {}
    for a in apps:
        secret = gen.secret(40) if a['broken'] else a['client_secret']
        piste_apps[a['name']] = {'client_id': a['client_id'], 'client_secret': secret, 'environment': a['environment']}
    group_vars = {'chorus_piste_apps': piste_apps, 'chorus_accounts': chorus_accounts}
    if url:
        group_vars['chorus_oauth_url'] = url.rstrip('/') + '/api/oauth/token'
        group_vars['chorus_api_url'] = url.rstrip('/')
    inventory = {
        'hosts': {h: {'ansible_connection': 'local', 'corail_config_path': os.path.join('servers', h, 'corail.ini')}
                  for h in host_names},
        'group_vars': group_vars,
        'host_vars': host_vars,
    }
    return {'world': world, 'inventory': inventory, 'expected': expected,
            'counts': dict(collections.Counter(expected.values()))}


def with_qualification_ids(result, share=0.3, seed=0):
    """The same world with ``share`` of its qualification structures renumbered with identifiers that fail
    Luhn, as real qualification identifiers do (API brief section 8); production ones keep Luhn.

    Renumbering replaces each chosen SIRET everywhere (world, inventory, logins that embed it, expected),
    so every status stays what it was. Returns a new result; ``result['qualification_ids']`` lists them.
    """
    rng = random.Random(seed)
    apps = result['inventory']['group_vars']['chorus_piste_apps']
    qualification = []
    for hostvars in result['inventory']['host_vars'].values():
        for structure in hostvars['corail_structures']:
            app = structure.get('piste_app') or hostvars.get('chorus_piste_app')
            if apps.get(app, {}).get('environment') == 'qualification' and structure['siret'] not in qualification:
                qualification.append(structure['siret'])
    taken = set(result['expected'])
    for item in result['world']['structures']:
        taken.add(item['siret'])
    renamed = {}
    for siret in rng.sample(qualification, int(round(share * len(qualification)))):
        while True:
            other = siret[:13] + str((int(siret[13]) + rng.randint(1, 9)) % 10)
            if not luhn_ok(other) and other not in taken:
                break
        taken.add(other)
        renamed[siret] = other
    text = json.dumps({k: result[k] for k in ('world', 'inventory', 'expected')})
    for old, new in renamed.items():
        text = text.replace(old, new)  # 14-digit SIRETs: unique, never part of another value
    out = dict(result, **json.loads(text))
    out['qualification_ids'] = sorted(renamed.values())
    return out


# The C emitter when PyYAML has libyaml (same output, several times faster).
_YAML_DUMPER = getattr(yaml, 'CSafeDumper', yaml.SafeDumper)


def _dump(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as handle:
        handle.write('---\n')
        yaml.dump(data, handle, Dumper=_YAML_DUMPER, allow_unicode=True, sort_keys=False, default_flow_style=False,
                  width=160)


def _iso(value):
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise TypeError('not JSON serialisable: %r' % type(value).__name__)


def _dump_json(path, data):
    """JSON is YAML too: the sandbox reads the world in 0.1 s at 20,000 structures instead of 8 to 25 s."""
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(data, handle, default=_iso, separators=(',', ':'))
        handle.write('\n')


def write_world(result, out):
    """Write the files of make_world()'s result under `out` (absolute config paths)."""
    out = os.path.abspath(out)
    inventory = result['inventory']
    hosts = {}
    for host, hvars in inventory['hosts'].items():
        hvars = dict(hvars)
        hvars['corail_config_path'] = os.path.join(out, hvars['corail_config_path'])
        os.makedirs(os.path.dirname(hvars['corail_config_path']), exist_ok=True)
        hosts[host] = hvars
    _dump_json(os.path.join(out, 'world.yml'), result['world'])
    _dump(os.path.join(out, 'inventory', 'hosts.yml'), {'all': {
        'vars': {'ansible_python_interpreter': '{{ ansible_playbook_python }}'},
        'children': {'corail': {'hosts': hosts}}}})
    _dump(os.path.join(out, 'inventory', 'group_vars', 'all', 'chorus.yml'), inventory['group_vars'])
    for host, hvars in inventory['host_vars'].items():
        _dump(os.path.join(out, 'inventory', 'host_vars', host + '.yml'), hvars)
    with open(os.path.join(out, 'expected.json'), 'w', encoding='utf-8') as handle:
        json.dump(result['expected'], handle, indent=1, sort_keys=True)
        handle.write('\n')
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description='write a seeded sandbox world and its inventory')
    parser.add_argument('--structures', type=int, required=True, help='number of inventory structures')
    parser.add_argument('--hosts', type=int, default=None, help='Corail servers (default: one per 25 structures)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--url', default=None, help='sandbox base URL for chorus_oauth_url / chorus_api_url')
    parser.add_argument('--today', default=None, help='YYYY-MM-DD written into the world (default: real today)')
    parser.add_argument('--out', required=True)
    parser.add_argument('--qualification-ids', type=float, default=0.0, metavar='SHARE',
                        help='share of qualification structures renumbered with identifiers that fail Luhn')
    for kind in SHARE_KINDS:
        parser.add_argument('--share-' + kind.replace('_', '-'), dest=kind, type=float, default=DEFAULT_SHARES[kind])
    args = parser.parse_args(argv)
    try:
        result = make_world(args.structures, hosts=args.hosts, seed=args.seed, url=args.url, today=args.today,
                            shares={k: getattr(args, k) for k in SHARE_KINDS})
        if args.qualification_ids:
            result = with_qualification_ids(result, args.qualification_ids, seed=args.seed)
    except ValueError as exc:
        sys.stderr.write('make_world: %s\n' % exc)
        return 2
    out = write_world(result, args.out)
    print(json.dumps({'out': out, 'counts': result['counts']}, sort_keys=True))
    return 0


if __name__ == '__main__':
    sys.exit(main())
