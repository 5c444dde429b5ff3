# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Keep in step with CONNECTION_ARGSPEC in plugins/module_utils/_connection.py.
    DOCUMENTATION = r'''
options:
  oauth_url:
    description:
      - PISTE token endpoint used for every application, instead of the one of its O(piste_apps) environment
        (C(https://oauth.piste.gouv.fr/api/oauth/token) in production,
        C(https://sandbox-oauth.piste.gouv.fr/api/oauth/token) in qualification).
      - Set it to reach a sandbox or a reverse proxy. The inventory variable is C(chorus_oauth_url).
      - If not set, the environment variable E(CHORUS_OAUTH_URL) is used.
    type: str
  api_url:
    description:
      - Base URL of the Chorus Pro API (the part before C(/cpro/...)) used for every application, instead of
        the one of its environment (C(https://api.piste.gouv.fr) in production,
        C(https://sandbox-api.piste.gouv.fr) in qualification).
      - The inventory variable is C(chorus_api_url).
      - If not set, the environment variable E(CHORUS_API_URL) is used.
    type: str
  validate_certs:
    description:
      - Verify the TLS certificates of PISTE and Chorus Pro.
      - Only set it to V(false) against a test endpoint; prefer O(ca_path) for a private CA.
      - If not set, the environment variable E(CHORUS_VALIDATE_CERTS) is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM bundle of the certificate authorities to trust, for example the one of a TLS-inspecting proxy.
      - If not set, the environment variable E(CHORUS_CA_PATH) is used, then the usual C(REQUESTS_CA_BUNDLE).
    type: path
  proxy:
    description:
      - Proxy URL for every call, for example C(http://proxy.example.org:3128).
      - If not set, the environment variable E(CHORUS_PROXY) is used; without it the standard
        E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY) variables are honoured.
    type: str
  timeout:
    description:
      - Deadline of each HTTP request, in seconds, from the connection to the last byte of the answer
        (connect, headers and body together, not each socket read), so an answer that trickles in is cut at
        the deadline and counts as a timeout. Each retry gets a new deadline.
      - If not set, the environment variable E(CHORUS_TIMEOUT) is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request is tried again after HTTP 429, 500, 502, 503, 504, a timeout, a connection
        error or an answer that is not recognisably PISTE's or Chorus Pro's (an HTML page, a proxy's status,
        truncated or unexpected JSON, a missing field), with exponential backoff and jitter. C(Retry-After) is
        honoured (at most 60 seconds).
      - V(0) disables retries.
      - If not set, the environment variable E(CHORUS_RETRIES) is used.
    type: int
    default: 3
  rate_limit:
    description:
      - The most calls per second the module sends towards PISTE and Chorus Pro, token requests and
        retries included, whatever O(concurrency) allows in parallel (a sliding window shared by every
        thread of the run). Decimals are allowed (V(0.5) is one call every 2 seconds).
      - With a limit set, an HTTP 429 with C(Retry-After) also holds every other call of the run back for
        that long; the call that got it waits and is retried as without a limit.
      - V(0) (the default) sets no limit.
      - If not set, the environment variable E(CHORUS_RATE_LIMIT) is used.
    type: float
    default: 0
requirements:
  - requests >= 2.25 (on the host that runs the module, usually the controller)
'''
