# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# FOR INTERNAL COLLECTION USE ONLY: this module may change in any release.
"""Connection options shared by the modules that talk to PISTE / Chorus Pro.

The argument spec here and ``plugins/doc_fragments/connection.py`` describe the same options;
change them together.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import env_fallback

# chorus-pro-api.md section 2. The PISTE sandbox talks to Chorus Pro qualification.
ENVIRONMENT_URLS = {
    'production': {
        'oauth_url': 'https://oauth.piste.gouv.fr/api/oauth/token',
        'api_url': 'https://api.piste.gouv.fr',
    },
    'qualification': {
        'oauth_url': 'https://sandbox-oauth.piste.gouv.fr/api/oauth/token',
        'api_url': 'https://sandbox-api.piste.gouv.fr',
    },
}

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 3

CONNECTION_ARGSPEC = dict(
    oauth_url=dict(type='str', fallback=(env_fallback, ['CHORUS_OAUTH_URL'])),
    api_url=dict(type='str', fallback=(env_fallback, ['CHORUS_API_URL'])),
    validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['CHORUS_VALIDATE_CERTS'])),
    ca_path=dict(type='path', fallback=(env_fallback, ['CHORUS_CA_PATH'])),
    proxy=dict(type='str', fallback=(env_fallback, ['CHORUS_PROXY'])),
    timeout=dict(type='int', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['CHORUS_TIMEOUT'])),
    retries=dict(type='int', default=DEFAULT_RETRIES, fallback=(env_fallback, ['CHORUS_RETRIES'])),
    rate_limit=dict(type='float', default=0, fallback=(env_fallback, ['CHORUS_RATE_LIMIT'])),
)

CONNECTION_OPTIONS = tuple(CONNECTION_ARGSPEC)


def connection_argspec(**module_options):
    """A fresh argument spec: the connection options plus the module's own ones."""
    spec = copy.deepcopy(CONNECTION_ARGSPEC)
    spec.update(module_options)
    return spec


def connection_params(params):
    """Pick the connection options out of a module's ``params``."""
    return dict((name, params.get(name)) for name in CONNECTION_OPTIONS)


def urls_for(environment, oauth_url=None, api_url=None):
    """Token URL and API base for ``environment``; explicit URLs (sandbox, reverse proxy) win."""
    defaults = ENVIRONMENT_URLS[environment]
    return (oauth_url or defaults['oauth_url'], (api_url or defaults['api_url']).rstrip('/'))
