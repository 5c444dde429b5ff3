# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""credentials_info results for the report tests (data and HTML)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime

from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st

T0 = datetime.datetime(2025, 3, 1, 2, 0, 0, tzinfo=datetime.timezone.utc)
T1 = T0 + datetime.timedelta(days=1)
T2 = T0 + datetime.timedelta(days=2)

SECRET = 'S3cr3t-P@ssw0rd-never-shown'


def entry(host, siret, status, **kw):
    """One credentials_info structure entry (the shape of docs/internals.md)."""
    base = {
        'host': host, 'siret': siret, 'name': 'Commune %s' % siret[-4:], 'account': 'TECH_1_a@cpro.fr',
        'piste_app': 'corail-prod', 'environment': 'production', 'contact': 'dgs@mairie.fr',
        'service_code': None, 'status': status, 'warnings': [], 'detail': 'detail of %s' % status,
        'remediation': st.remediation(status, siret=siret, account='TECH_1_a@cpro.fr', piste_app='corail-prod',
                                      environment='production', detail='detail of %s' % status),
        'id_structure_cpp': 1000 + int(siret[-4:]), 'designation': 'COMMUNE', 'password_expires_on': '2025-12-31',
        'days_left': 305,
    }
    base.update(kw)
    return base


def result_of(entries, accounts=None):
    by_host = {}
    for e in entries:
        by_host.setdefault(e['host'], []).append(e)
    counts = dict((s, 0) for s in st.STATUSES)
    for e in entries:
        counts[e['status']] += 1
    return {'changed': False, 'structures': entries, 'by_host': by_host, 'counts': counts,
            'accounts': accounts if accounts is not None else [
                {'login': 'TECH_1_a@cpro.fr', 'environment': 'production', 'piste_app': 'corail-prod',
                 'status': 'ok', 'structures': len(entries), 'password_expires_on': '2025-12-31',
                 'days_left': 305, 'detail': 'account accepted'}],
            'api_calls': {'/api/oauth/token': 1, 'cpro/transverses/v1/recuperer/tauxtva': 1}}


def sample():
    return result_of([
        entry('srv01', '21750001600019', 'ok', name='Ville de Paris'),
        entry('srv01', '21690123100011', 'missing_account', account=None, name='Ville de Lyon',
              remediation=None, contact='maire@lyon.fr', password_expires_on=None, days_left=None,
              id_structure_cpp=None),
        entry('srv02', '21130055300016', 'access_forbidden', name='Ville de Marseille', contact='maire@lyon.fr'),
        entry('srv02', '21310555400017', 'password_expiring', name='Ville de Toulouse', days_left=12,
              password_expires_on='2025-03-13', contact=''),
        entry('srv03', '21330063500017', 'not_attached', name='Ville de Bordeaux', warnings=['password_expiring']),
    ])


SCOPE = {'limit': 'none', 'hosts': ['srv01', 'srv02', 'srv03', 'srv04'], 'failed_before': []}
