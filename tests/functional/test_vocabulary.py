# -*- coding: utf-8 -*-
"""One status vocabulary: the docs, severities, labels and remediation texts all follow _statuses.py."""
import os
import subprocess
import sys

from conftest import REPO

from ansible_collections.chorus.corail.plugins.module_utils import _statuses as st

DESIGN_ORDER = ('invalid_input', 'missing_account', 'unchecked', 'piste_auth_failed', 'account_rejected',
                'password_expired', 'access_forbidden', 'api_unavailable', 'structure_unknown',
                'not_attached', 'password_expiring', 'ok')


def test_precedence_is_the_design_order():
    assert st.STATUSES == DESIGN_ORDER
    assert st.first_status(['ok', 'not_attached', 'api_unavailable']) == 'api_unavailable'
    assert st.first_status(['password_expiring', 'ok']) == 'password_expiring'


def test_every_status_has_severity_label_and_french_remediation():
    for status in st.STATUSES:
        assert st.SEVERITY[status] in ('ok', 'warning', 'error', 'unknown')
        assert st.LABELS[status]
        text = st.remediation(status, siret='21750001600019', account='TECH_1_x@cpro.fr', piste_app='app',
                              environment='production', detail='d', password_expires_on='2027-01-01', days_left=3)
        assert '{' not in text and '}' not in text, status
    assert set(st.SEVERITY) == set(st.LABELS) == set(st.REMEDIATION) == set(st.STATUSES)


def test_remediation_fills_context_and_defaults():
    text = st.remediation('password_expiring', account='TECH_1_x@cpro.fr', password_expires_on='2027-01-01', days_left=12)
    assert 'TECH_1_x@cpro.fr' in text and '01/01/2027' in text and '12 jours' in text
    assert 'Réinitialiser' in text
    missing = st.remediation('missing_account', siret='21750001600019')
    assert 'Créer un utilisateur technique' in missing and '21750001600019' in missing
    forbidden = st.remediation('access_forbidden', piste_app='corail-paris')
    assert 'Raccordement EDI et API' in forbidden and 'corail-paris' in forbidden
    assert 'date inconnue' in st.remediation('password_expired')


def test_statuses_doc_is_generated_from_the_vocabulary():
    proc = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'gen_status_doc.py'), '--check'],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    assert proc.returncode == 0, proc.stdout


def test_every_cause_kind_has_an_actor_a_label_and_a_french_sentence():
    assert set(st.CAUSE_KINDS) == set(st.CAUSE_LABELS)
    for kind, (actor, subject) in st.CAUSE_KINDS.items():
        assert actor in ('gestionnaire', 'integrator') and subject in ('piste_app', 'login', 'siret', 'run')
        sentence = st.cause_detail_fr({'kind': kind, 'subject': 'X'}, password_expires_on='2027-01-31',
                                      piste_app='app', account='TECH_1_x@cpro.fr', environment='production')
        assert sentence and '{' not in sentence and '2027-01-31' not in sentence
    assert set(st.STATUS_CAUSES.values()) <= set(st.CAUSE_KINDS)
    assert set(st.STATUS_CAUSES) == set(st.STATUSES) - {'ok', 'unchecked'}
    for warning in st.WARNINGS:
        assert st.WARNING_LABELS[warning]
