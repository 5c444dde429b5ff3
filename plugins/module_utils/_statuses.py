# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""The one status vocabulary: names, precedence, severity, warnings and French remediation.

Modules, roles, reports and docs all read it from here (see docs/statuses.md).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Precedence order: a structure gets the first status of this list that applies.
STATUSES = (
    'invalid_input',
    'missing_account',
    'unchecked',
    'piste_auth_failed',
    'account_rejected',
    'password_expired',
    'access_forbidden',
    'api_unavailable',
    'structure_unknown',
    'not_attached',
    'password_expiring',
    'ok',
)

WARNINGS = (
    'password_expiring',   # expires within the warning window (next to another status)
    'password_expired',    # the expiry date has passed but the API still accepts the account
    'expiry_unknown',      # neither the API nor password_changed_on gives an expiry date
    'login_shape_unusual',  # not TECH_...@cpp2017.fr, TECH_1_...@cpro.fr or DEV_...@cpp2017.fr
    'retried',             # transient errors were retried before the answer came
    'siret_checksum_unusual',  # qualification identifier that fails Luhn (normal there, refused in production)
    'reception_space_disabled',  # attached, but the "factures reçues" space is not enabled for the account
    'config_drift',        # a Corail server's deployed settings differ from the inventory
)

# Short French labels for the warnings, for reports.
WARNING_LABELS = {
    'password_expiring': 'Mot de passe bientôt expiré',
    'password_expired': "Date d'expiration du mot de passe dépassée",
    'expiry_unknown': "Date d'expiration du mot de passe inconnue",
    'login_shape_unusual': 'Identifiant de forme inhabituelle',
    'retried': 'Réponse obtenue après nouvel essai',
    'siret_checksum_unusual': 'Identifiant de qualification hors clé de contrôle',
    'reception_space_disabled': 'Espace « Factures reçues » non activé',
    'config_drift': "Configuration du serveur différente de l'inventaire",
}

# -- who must act, on what (contracts.md) ---------------------------------------------------------------

ACTORS = ('gestionnaire', 'integrator', 'nobody')
ACTOR_LABELS = {'gestionnaire': 'Gestionnaire principal', 'integrator': 'Intégrateur', 'nobody': 'Personne'}

# Each cause kind, who acts on it and what its subject is (what one action fixes).
CAUSE_KINDS = {
    'piste_app_refused': ('integrator', 'piste_app'),
    'piste_app_unreachable': ('integrator', 'piste_app'),
    'api_route': ('integrator', 'piste_app'),
    'api_unavailable': ('integrator', 'run'),
    'account_rejected': ('gestionnaire', 'login'),
    'password_expired': ('gestionnaire', 'login'),
    'password_expiring': ('gestionnaire', 'login'),
    'raccordement_missing': ('gestionnaire', 'siret'),
    'not_attached': ('gestionnaire', 'siret'),
    'structure_unknown': ('integrator', 'siret'),
    'missing_account': ('gestionnaire', 'siret'),
    'invalid_input': ('integrator', 'siret'),
}

# One line of "Actions à mener" per cause: what to do, in French ({subject} is the cause's subject).
CAUSE_LABELS = {
    'piste_app_refused': "Corriger les identifiants de l'application PISTE {subject}",
    'piste_app_unreachable': "Rétablir l'accès à PISTE pour l'application {subject}",
    'api_route': "Corriger l'adresse de l'API ou les souscriptions de l'application PISTE {subject}",
    'api_unavailable': 'Relancer la vérification quand PISTE et Chorus Pro répondent',
    'account_rejected': 'Vérifier ou réinitialiser le mot de passe du compte technique {subject}',
    'password_expired': 'Renouveler le mot de passe expiré du compte technique {subject}',
    'password_expiring': 'Renouveler bientôt le mot de passe du compte technique {subject}',
    'raccordement_missing': 'Créer le raccordement API de la structure {subject}',
    'not_attached': 'Rattacher un compte technique à la structure {subject}',
    'structure_unknown': 'Corriger le SIRET {subject}, inconnu de Chorus Pro',
    'missing_account': 'Créer le compte technique de la structure {subject}',
    'invalid_input': 'Corriger la donnée invalide de la structure {subject}',
}

# A short French sentence for the cause when the check gave none (cause_detail_fr).
CAUSE_DETAIL_FR = {
    'piste_app_refused': "PISTE refuse l'identifiant ou le secret de l'application.",
    'piste_app_unreachable': "PISTE n'a pas pu être joint pour cette application.",
    'api_route': "Chorus Pro ne reconnaît pas les appels de cette application (adresse ou souscription).",
    'api_unavailable': "PISTE ou Chorus Pro n'a pas donné de réponse exploitable pendant la vérification.",
    'account_rejected': "Chorus Pro refuse l'identifiant ou le mot de passe du compte technique.",
    'password_expired': 'Le mot de passe du compte technique a expiré.',
    'password_expiring': 'Le mot de passe du compte technique expire bientôt.',
    'raccordement_missing': "Chorus Pro refuse l'accès API : le raccordement de la structure manque.",
    'not_attached': "Le compte technique n'est pas rattaché à cette structure.",
    'structure_unknown': "Ce SIRET n'existe pas dans Chorus Pro.",
    'missing_account': "Aucun compte technique n'est enregistré pour cette structure.",
    'invalid_input': 'Une donnée de la structure est invalide dans le registre.',
}

# The cause a status gives when nothing more is known (the check knows more: application-wide causes).
STATUS_CAUSES = {
    'invalid_input': 'invalid_input',
    'missing_account': 'missing_account',
    'piste_auth_failed': 'piste_app_refused',
    'account_rejected': 'account_rejected',
    'password_expired': 'password_expired',
    'access_forbidden': 'raccordement_missing',
    'api_unavailable': 'api_unavailable',
    'structure_unknown': 'structure_unknown',
    'not_attached': 'not_attached',
    'password_expiring': 'password_expiring',
}

# What a report shows and what a CI gate may fail on.
SEVERITY = {
    'invalid_input': 'error',
    'missing_account': 'error',
    'unchecked': 'unknown',
    'piste_auth_failed': 'error',
    'account_rejected': 'error',
    'password_expired': 'error',
    'access_forbidden': 'error',
    'api_unavailable': 'unknown',
    'structure_unknown': 'error',
    'not_attached': 'error',
    'password_expiring': 'warning',
    'ok': 'ok',
}

# Short French labels for reports.
LABELS = {
    'invalid_input': 'Donnée invalide',
    'missing_account': 'Compte technique manquant',
    'unchecked': 'Non vérifié en ligne',
    'piste_auth_failed': 'Application PISTE refusée',
    'account_rejected': 'Compte technique refusé',
    'password_expired': 'Mot de passe expiré',
    'access_forbidden': 'Accès API refusé (raccordement)',
    'api_unavailable': 'API indisponible',
    'structure_unknown': 'SIRET inconnu de Chorus Pro',
    'not_attached': 'Compte non rattaché à la structure',
    'password_expiring': 'Mot de passe bientôt expiré',
    'ok': 'OK',
}

_RESET_PATH = (
    "le gestionnaire principal se connecte à Chorus Pro (https://chorus-pro.gouv.fr), ouvre "
    "« Activités du gestionnaire », choisit la structure, clique sur l'utilisateur technique {account} "
    "dans la liste des utilisateurs rattachés, puis « Réinitialiser » et confirme ; le nouveau mot de "
    "passe s'affiche une seule fois : le copier aussitôt et le transmettre à l'intégrateur par un canal "
    "sûr, qui l'enregistre{record_renew}."
)

REMEDIATION = {
    'invalid_input': (
        "Corriger la donnée signalée ({detail}) dans le registre des collectivités ou l'inventaire, "
        "puis relancer la vérification. Rien n'a été écrit sur le serveur Corail pour cette structure."
    ),
    'missing_account': (
        "Aucun compte technique n'est enregistré pour cette structure. Le gestionnaire principal de la "
        "structure (SIRET {siret}) doit en créer un dans Chorus Pro : "
        "1) se connecter à Chorus Pro (https://chorus-pro.gouv.fr) ; "
        "2) « Mon Compte », cadre « Mes rattachements aux structures » : cliquer sur le crayon de la structure ; "
        "3) cadre « Utilisateurs rattachés à la structure » : « Créer un utilisateur technique » ; "
        "4) saisir l'adresse électronique de connexion et valider ; "
        "5) copier immédiatement l'identifiant (TECH_…) et le mot de passe affichés : ils ne sont montrés "
        "qu'une fois et ne sont pas envoyés par courriel ; "
        "6) les transmettre à l'intégrateur par un canal sûr, qui les enregistre{record_enroll}."
    ),
    'unchecked': (
        "Contrôles hors ligne réussis ; la connexion à Chorus Pro n'a pas été testée (online: false). "
        "Relancer la vérification en ligne pour confirmer."
    ),
    'piste_auth_failed': (
        "PISTE refuse l'application {piste_app} ({detail}). Vérifier, sur https://piste.gouv.fr, le "
        "client_id et le client_secret de l'onglet « Authentification » de l'application, et qu'ils "
        "correspondent à l'environnement {environment} (bac à sable = qualification). Corriger "
        "chorus_piste_apps puis relancer."
    ),
    'account_rejected': (
        "Chorus Pro refuse l'identifiant ou le mot de passe du compte technique {account}. Vérifier qu'il "
        "a été copié sans erreur ; sinon, " + _RESET_PATH
    ),
    'password_expired': (
        "Le mot de passe du compte technique {account} a expiré le {password_expires_on} (il doit être "
        "changé tous les 424 jours). Pour le renouveler, " + _RESET_PATH
    ),
    'access_forbidden': (
        "Chorus Pro refuse l'accès API (HTTP 403 : {detail}). Cause la plus probable : pas de raccordement "
        "API entre l'application PISTE {piste_app} et la structure {siret}. Sur https://chorus-pro.gouv.fr, "
        "un utilisateur habilité sur l'espace « Raccordements EDI et API » : "
        "1) ouvre « Raccordement EDI et API » ; "
        "2) choisit « Gérer le raccordement API » et crée un raccordement en mode API pour la structure ; "
        "3) déclare l'application PISTE {piste_app} (son nom ou code) et le compte technique {account} ; "
        "4) sur https://piste.gouv.fr, vérifie que l'application a souscrit aux API Chorus Pro "
        "(Factures, Structures, Utilisateurs, Transverses) et accepté leurs CGU pour l'environnement "
        "{environment}. Le raccordement se fait d'abord en qualification, puis en production."
    ),
    'api_unavailable': (
        "PISTE ou Chorus Pro n'a pas donné de réponse exploitable ({detail}). C'est en général passager "
        "(maintenance, surcharge) : relancer la vérification plus tard. Si cela persiste, vérifier le "
        "proxy et les adresses configurées (chorus_oauth_url, chorus_api_url)."
    ),
    'structure_unknown': (
        "Le SIRET {siret} n'existe pas dans Chorus Pro ({environment}). Vérifier le SIRET saisi dans le "
        "registre, et l'environnement : une structure de production n'existe pas en qualification."
    ),
    'not_attached': (
        "Le compte technique {account} fonctionne mais n'est pas rattaché à la structure {siret} "
        "(ou l'espace « Factures reçues » n'y est pas activé). Un compte technique ne voit que les "
        "structures de son gestionnaire principal : le gestionnaire principal de cette structure doit "
        "créer son propre compte technique (Mon Compte → Mes rattachements aux structures → crayon → "
        "« Créer un utilisateur technique ») et le transmettre à l'intégrateur, ou corriger le compte "
        "indiqué pour cette structure dans le registre."
    ),
    'password_expiring': (
        "Tout fonctionne, mais le mot de passe du compte technique {account} expire le "
        "{password_expires_on} (dans {days_left} jours). Avant cette date, " + _RESET_PATH
    ),
    'ok': "Rien à faire : la connexion à Chorus Pro fonctionne pour cette structure.",
}

_DEFAULTS = {
    'detail': 'non précisé',
    'siret': '?',
    'account': '(aucun)',
    'piste_app': '(aucune)',
    'environment': '?',
    'password_expires_on': 'date inconnue',
    'days_left': '?',
    # The integrator's own step; a mairie's page leaves it out (remediation(..., audience='gestionnaire')).
    'record_renew': ' avec « ansible-playbook chorus.corail.renew » (redéploiement des seuls serveurs concernés)',
    'record_enroll': ' avec « ansible-playbook chorus.corail.enroll »',
}
_GESTIONNAIRE = {'record_renew': ' et met à jour les serveurs Corail concernés', 'record_enroll': ''}


class _Blank(dict):
    def __missing__(self, key):
        return '?'


def status_rank(status):
    """Position of a status in the precedence order (lower wins)."""
    return STATUSES.index(status)


def first_status(candidates):
    """The status that wins among ``candidates`` (any iterable of status names)."""
    return min(candidates, key=status_rank)


def _subject(entry, field):
    """The subject of a cause from a structure entry (check result or report row)."""
    if field == 'run':
        return 'run'
    names = {'piste_app': ('piste_app', 'application'), 'login': ('account', 'login'), 'siret': ('siret',)}[field]
    for name in names:
        value = entry.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def make_cause(kind, entry, subject=None):
    """``{"kind", "subject"}`` of a cause kind for one structure entry."""
    return {'kind': kind, 'subject': subject if subject is not None else _subject(entry, CAUSE_KINDS[kind][1])}


def cause_of(entry):
    """``(action_by, cause)`` of a structure entry: its own fields when the check set them, else the
    fallback its ``status`` gives (for results of an older check). ``cause`` is None when nobody acts."""
    action_by, cause = entry.get('action_by'), entry.get('cause')
    if action_by in ACTORS and (cause is None or (isinstance(cause, dict) and cause.get('kind') in CAUSE_KINDS)):
        return action_by, cause
    kind = STATUS_CAUSES.get(entry.get('status'))
    if kind is None:
        return 'nobody', None
    return CAUSE_KINDS[kind][0], make_cause(kind, entry)


def _fr_date(iso):
    """DD/MM/YYYY from YYYY-MM-DD; the text unchanged otherwise."""
    text = str(iso or '')
    if len(text) >= 10 and text[4] == '-' and text[7] == '-':
        return '%s/%s/%s' % (text[8:10], text[5:7], text[:4])
    return text


# A short French sentence per cause, for reports and notifications (no English, dates as DD/MM/YYYY).
_CAUSE_SENTENCES = {
    'piste_app_refused': "PISTE refuse l'application {subject} : identifiant ou secret incorrect, ou autre environnement.",
    'piste_app_unreachable': ("Le jeton de l'application PISTE {subject} n'a pas pu être obtenu (pas de réponse "
                              "exploitable de PISTE : réseau, proxy ou adresse chorus_oauth_url)."),
    'api_route': ("Tous les appels de l'application PISTE {subject} reçoivent la même réponse, celle d'une adresse "
                  "que la passerelle ne connaît pas ou d'une API non souscrite : ce n'est pas le fait des structures."),
    'api_unavailable': "PISTE ou Chorus Pro n'a pas donné de réponse exploitable pendant la vérification : la relancer.",
    'account_rejected': "Chorus Pro refuse l'identifiant ou le mot de passe du compte technique {subject}.",
    'password_expired': "Le mot de passe du compte technique {subject} a expiré le {password_expires_on}.",
    'password_expiring': "Le mot de passe du compte technique {subject} expire le {password_expires_on}.",
    'raccordement_missing': "Pas de raccordement API entre l'application PISTE {piste_app} et la structure {subject}.",
    'not_attached': "Le compte technique {account} n'est pas rattaché à la structure {subject}.",
    'structure_unknown': "Le SIRET {subject} n'existe pas dans Chorus Pro ({environment}).",
    'missing_account': "Aucun compte technique utilisable n'est enregistré pour la structure {subject}.",
    'invalid_input': "Une donnée de la structure {subject} est à corriger dans l'inventaire ou le registre.",
}


def cause_detail_fr(cause, **context):
    """French sentence for a cause, filled from the structure's context; None without a cause."""
    if not cause or cause.get('kind') not in _CAUSE_SENTENCES:
        return None
    values = _Blank(_DEFAULTS)
    values.update((key, value) for key, value in context.items() if value not in (None, ''))
    values['subject'] = cause.get('subject') or '?'
    if context.get('password_expires_on'):
        values['password_expires_on'] = _fr_date(context['password_expires_on'])
    return _CAUSE_SENTENCES[cause['kind']].format_map(values)


# Remediation of the integrator-side causes that a status alone would misread as the gestionnaire's.
CAUSE_REMEDIATION = {
    'api_route': (
        "Action de l'intégrateur, pas de la collectivité : tous les comptes de l'application PISTE {piste_app} "
        "reçoivent la même réponse ({detail}). Vérifier l'adresse de l'API (chorus_api_url, sans « /cpro » "
        "final ; https://api.piste.gouv.fr en production, https://sandbox-api.piste.gouv.fr en qualification), "
        "que l'application a souscrit aux API Chorus Pro (Factures, Structures, Utilisateurs, Transverses) et "
        "accepté leurs CGU pour l'environnement {environment} sur https://piste.gouv.fr, puis relancer."
    ),
    'piste_app_unreachable': (
        "Action de l'intégrateur : le jeton de l'application PISTE {piste_app} n'a pas pu être obtenu, sans "
        "refus de PISTE ({detail}). C'est souvent passager (maintenance de PISTE) : relancer la vérification "
        "plus tard. Si cela persiste, vérifier le proxy (chorus_proxy, HTTPS_PROXY), l'adresse chorus_oauth_url "
        "et l'accès réseau à PISTE depuis le contrôleur."
    ),
    'missing_account': (
        "Action de l'intégrateur : le compte {account} indiqué pour la structure {siret} n'est pas dans "
        "chorus_accounts. S'il existe, l'enregistrer avec « ansible-playbook chorus.corail.enroll » (ou corriger "
        "le compte indiqué dans le registre), puis relancer. S'il n'existe pas encore : "
    ) + REMEDIATION['missing_account'],
}


def remediation(status, cause=None, action_by=None, audience='integrator', **context):
    """French remediation text for ``status``, filled from the structure's context.

    The text follows who must act: an integrator-side cause (``cause`` kind ``api_route``,
    ``piste_app_unreachable``, or a missing account the inventory names) gets the integrator's text.
    ``audience='gestionnaire'``: the text for a mairie's page, without the integrator's commands.
    """
    values = _Blank(_DEFAULTS)
    if audience == 'gestionnaire':
        values.update(_GESTIONNAIRE)
    values.update((key, value) for key, value in context.items() if value not in (None, ''))
    if context.get('password_expires_on'):
        values['password_expires_on'] = _fr_date(context['password_expires_on'])  # French dates for French readers
    kind = cause.get('kind') if isinstance(cause, dict) else None
    if kind in CAUSE_REMEDIATION and (kind != 'missing_account' or action_by == 'integrator'):
        return CAUSE_REMEDIATION[kind].format_map(values)
    return REMEDIATION[status].format_map(values)
