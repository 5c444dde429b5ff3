# -*- coding: utf-8 -*-
# Copyright: chorus.corail contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of chorus.corail.enroll_kit: the kit pages are rendered and written on the controller,
where the check's report lives; the public key is read here and never leaves it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.chorus.corail.plugins.module_utils import _enroll_kit as ek
from ansible_collections.chorus.corail.plugins.module_utils import _writer
from ansible_collections.chorus.corail.plugins.modules.enroll_kit import ARGUMENT_SPEC

DEFAULT_TEMPLATE = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'check', 'templates',
                                'enroll_kit.html.j2')


def paris_today():
    """Today in Europe/Paris, where the gestionnaires read the kit's dates."""
    try:
        from zoneinfo import ZoneInfo
        return datetime.datetime.now(ZoneInfo('Europe/Paris')).date()
    except Exception:  # pragma: no cover - no tz database: the controller's date
        return datetime.date.today()


class ControllerAction(ActionBase):
    """An action that only works on the controller: no connection, no file sent; ``act`` does the work."""

    TRANSFERS_FILES = False
    _requires_connection = False
    ARGUMENT_SPEC = {}

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerAction, self).run(tmp, task_vars)
        del tmp
        dummy, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
        return self.act(result, args)

    def act(self, result, args):
        raise NotImplementedError


class ActionModule(ControllerAction):

    ARGUMENT_SPEC = ARGUMENT_SPEC

    def act(self, result, args):
        try:
            with open(args['public_key'], 'rb') as handle:
                public_key = ek.load_public_key(handle.read(), 'public_key %s' % args['public_key'])
            with open(args['template'] or DEFAULT_TEMPLATE, 'rb') as handle:
                template = to_text(handle.read())
        except (IOError, OSError) as exc:
            raise AnsibleActionFail('cannot read %s: %s' % (exc.filename, exc.strerror))
        except ek.KitError as exc:
            raise AnsibleActionFail(to_native(exc))

        today = paris_today()
        kits, skipped, seen = [], [], set()
        changed = False
        for entry in args['structures']:
            if not isinstance(entry, dict) or ek.kit_for(entry) is None or entry.get('siret') in seen:
                continue
            seen.add(entry.get('siret'))
            try:
                context = ek.kit_context(entry, public_key, today, args['valid_days'], integrator=args['integrator'])
            except ek.KitError as exc:
                skipped.append({'siret': entry.get('siret'), 'reason': to_native(exc)})
                continue
            path = os.path.join(args['dest'], '%s.html' % entry['siret'])
            if not self._task.check_mode:
                try:
                    _writer.write(_writer.read(path), to_bytes(ek.render_kit(template, context)), secret=False,
                                  create_parents=True)
                except _writer.WriteError as exc:
                    raise AnsibleActionFail(to_native(exc))
            changed = True
            kits.append({'siret': entry['siret'], 'kind': context['kind'], 'path': path, 'host': entry.get('host'),
                         'contact': entry.get('contact'), 'account': context['login'],
                         'status': entry.get('status'), 'expires_on': context['data']['exp']})
        for item in skipped:
            self._display.warning('enrolment kit not made for %s: %s' % (item['siret'], item['reason']))
        result.update(changed=changed, kits=kits, skipped=skipped, dest=args['dest'],
                      fingerprint=ek.display_fingerprint(ek.fingerprint_of(public_key)))
        return result
