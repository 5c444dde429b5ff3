# -*- coding: utf-8 -*-
"""A credentials_info result with every status, shaped as the real check writes it (English details).

Used by the browser tests of the reports: rendering it needs no sandbox, and its details carry the
English internals that must never reach a contact page.
"""
import datetime

from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st

SECRETS = ('Pw-never-shown-1!', 'csec-never-shown-2', 'tok-never-shown-3')
APP = 'CORAIL_PAU'
APP_REFUSED = 'CORAIL_OLD'

# (status, account, piste_app, detail, expires_on, days_left, warnings)
KINDS = (
    ('piste_auth_failed', 'TECH_1_refus@cpro.fr', APP_REFUSED,
     'PISTE token refused: HTTP 401 invalid_client on /api/oauth/token', None, None, []),
    ('account_rejected', 'TECH_1_rejete@cpro.fr', APP,
     'HTTP 401 on /cpro/transverses/v1/recuperer/structures/actives/destinataire after one retry with a fresh token; '
     'password expires on 2028-01-30 (424 days left; from password_changed_on + 424 days)', '2028-01-30', 424, []),
    ('access_forbidden', 'TECH_1_ok@cpro.fr', APP,
     'HTTP 403 on /cpro/factures/v1/rechercher/recipiendaire (empty body: no API raccordement for this application '
     'and SIRET?); password expires on 2028-01-30 (424 days left; from password_changed_on + 424 days)',
     '2028-01-30', 424, []),
    ('missing_account', None, APP, 'no account is set for this structure', None, None, []),
    ('not_attached', 'TECH_1_ok@cpro.fr', APP,
     'account accepted but the SIRET is not among its 3 active structures; password expires on 2027-05-02 '
     '(150 days left; from API dateExpirationMotPasseCompteTech)', '2027-05-02', 150, []),
    ('password_expiring', 'TECH_1_bientot@cpro.fr', APP,
     'password expires on 2026-12-20 (18 days left; from password_changed_on + 424 days)', '2026-12-20', 18, []),
    ('password_expired', 'TECH_1_expire@cpro.fr', APP,
     'HTTP 401 on /cpro/transverses/v1/recuperer/structures/actives/destinataire; password expires on 2026-11-02 '
     '(-30 days left; from API dateExpirationMotPasseCompteTech)', '2026-11-02', -30, []),
    ('api_unavailable', 'TECH_1_ok@cpro.fr', APP, 'HTTP 503 on /cpro/structures/v1/rechercher after 3 retries',
     None, None, ['retried']),
    ('structure_unknown', 'TECH_1_ok@cpro.fr', APP, 'SIRET not found by structures/v1/rechercher', None, None, []),
    ('invalid_input', 'TECH_1_ok@cpro.fr', APP, 'field siret: checksum fails (Luhn)', None, None, []),
    ('unchecked', 'TECH_1_ok@cpro.fr', APP, 'not checked online: online is false', None, None, []),
    ('ok', 'TECH_1_ok@cpro.fr', APP,
     'password expires on 2027-05-02 (150 days left; from API dateExpirationMotPasseCompteTech)', '2027-05-02', 150, []),
)


def luhn_siret(n):
    base = '2175%09d' % n
    for last in '0123456789':
        digits = [int(c) for c in base + last]
        total = 0
        for i, d in enumerate(reversed(digits)):
            if i % 2:
                d *= 2
                d = d - 9 if d > 9 else d
            total += d
        if total % 10 == 0:
            return base + last
    raise AssertionError(n)


def make_result(rows=30, hosts=4):
    """``rows`` structures over ``hosts`` servers, every status at least once when rows >= 12."""
    structures = []
    for i in range(rows):
        status, account, app, detail, expires, days, warnings = KINDS[i % len(KINDS)]
        siret = luhn_siret(1000 + i)
        # Long names and e-mails, as real ones: they must wrap inside their column.
        contact = 'secretariat.general.mairie-de-la-commune-%d@collectivite-exemple.fr' % (i % 5)
        structures.append({
            'host': 'corail-%02d' % (i % hosts + 1), 'siret': siret,
            'name': 'Communauté de communes du Pays de la Vallée numéro %d' % i,
            'contact': contact, 'service_code': None, 'account': account, 'piste_app': app,
            'environment': 'production', 'status': status, 'warnings': list(warnings), 'detail': detail,
            'remediation': st.remediation(status, siret=siret, account=account, piste_app=app,
                                          environment='production', detail=detail, password_expires_on=expires,
                                          days_left=days),
            'id_structure_cpp': 26000000 + i, 'designation': 'COMMUNE', 'password_expires_on': expires,
            'days_left': days,
        })
    return {'changed': False, 'structures': structures,
            'accounts': [{'login': 'TECH_1_ok@cpro.fr', 'environment': 'production', 'piste_app': APP,
                          'status': 'ok', 'structures': rows, 'password_expires_on': '2027-05-02', 'days_left': 150,
                          'detail': 'account accepted, 3 active structure(s) visible'}],
            'api_calls': {'/api/oauth/token': 2}}


GENERATED_AT = datetime.datetime(2026, 12, 14, 2, 0, 0, tzinfo=datetime.timezone.utc)
