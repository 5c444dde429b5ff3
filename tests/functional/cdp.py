# -*- coding: utf-8 -*-
"""Drive the system's headless Chromium through the DevTools protocol over a pipe.

``--remote-debugging-pipe`` makes Chromium read commands on fd 3 and answer on fd 4, each JSON message
ended by a NUL byte: no WebSocket library, no open port, no chromedriver. Enough to open a page at a
given width and media (screen or print), type in it, click, wait for the page's asynchronous code,
read values back and take screenshots. Shared by the enrolment-kit and the report tests.
"""

import base64
import fcntl
import json
import os
import subprocess
import tempfile
import time

CHROMIUM = '/usr/bin/chromium'


def _high(fds):
    """The pipe's ends moved above 10, so that dup2 onto 3 and 4 never overwrites one of them."""
    moved = tuple(fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in fds)
    for fd in fds:
        os.close(fd)
    return moved


class Browser(object):
    """One headless Chromium with a fresh profile; ``net_log`` is its own record of every request."""

    def __init__(self, tmp, javascript=True):
        if not os.path.exists(CHROMIUM):
            raise RuntimeError('%s is missing: run tools/system_deps.sh (apt-get install chromium)' % CHROMIUM)
        self.profile = tempfile.mkdtemp(dir=str(tmp), prefix='chromium-')
        self.net_log = os.path.join(str(tmp), 'netlog-%s.json' % os.path.basename(self.profile))
        to_browser_r, self._to_browser = _high(os.pipe())
        self._from_browser, from_browser_w = _high(os.pipe())
        self.proc = subprocess.Popen(
            [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync',
             '--disable-default-apps', '--disable-extensions', '--remote-debugging-pipe',
             '--log-net-log=%s' % self.net_log, '--net-log-capture-mode=Everything',
             '--user-data-dir=%s' % self.profile, 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            close_fds=False, preexec_fn=self._fds(to_browser_r, from_browser_w))
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b''
        self._next = 0
        self.session = None
        self.javascript = javascript

    @staticmethod
    def _fds(read_end, write_end):
        # Chromium expects its ends on fds 3 (commands in) and 4 (answers out); dup2 makes them
        # inheritable, every other descriptor of ours is close-on-exec (PEP 446).
        def setup():
            os.dup2(read_end, 3)
            os.dup2(write_end, 4)
        return setup

    def send(self, method, params=None, session=True, timeout=30):
        self._next += 1
        message = {'id': self._next, 'method': method, 'params': params or {}}
        if session and self.session:
            message['sessionId'] = self.session
        os.write(self._to_browser, json.dumps(message).encode() + b'\0')
        deadline = time.time() + timeout
        while time.time() < deadline:
            answer = self._read()
            if answer.get('id') == self._next:
                if 'error' in answer:
                    raise RuntimeError('%s: %s' % (method, answer['error']))
                return answer.get('result', {})
        raise RuntimeError('%s: no answer in %ss' % (method, timeout))

    def _read(self):
        while b'\0' not in self._buffer:
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise RuntimeError('Chromium closed the pipe: %s' % self.proc.stderr.read().decode()[-2000:])
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(raw.decode())

    def open(self, url, width=None, height=900, media=None):
        """A new tab on ``url``; ``width`` (CSS px) and ``media`` (``screen``, ``print``) as a reader's."""
        target = self.send('Target.createTarget', {'url': 'about:blank'}, session=False)['targetId']
        self.session = self.send('Target.attachToTarget', {'targetId': target, 'flatten': True}, session=False)['sessionId']
        if not self.javascript:
            self.send('Emulation.setScriptExecutionDisabled', {'value': True})
        if width:
            self.send('Emulation.setDeviceMetricsOverride', {'width': width, 'height': height,
                                                             'deviceScaleFactor': 1, 'mobile': False})
        if media:
            self.send('Emulation.setEmulatedMedia', {'media': media})
        self.send('Page.enable')
        self.send('Page.navigate', {'url': url})
        self.wait_for('document.readyState === "complete"', javascript_needed=False)

    def evaluate(self, expression):
        answer = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True, 'awaitPromise': True})
        if 'exceptionDetails' in answer:
            raise RuntimeError('%s: %s' % (expression, answer['exceptionDetails']))
        return answer['result'].get('value')

    def wait_for(self, expression, timeout=20, javascript_needed=True):
        """Poll ``expression`` until true. Runtime.evaluate runs even when the page's scripts are disabled."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.evaluate('!!(%s)' % expression):
                return
            time.sleep(0.1)
        raise AssertionError('timed out waiting for %s' % expression)

    def type_into(self, element_id, text):
        """Focus a field and type as a person does (Input.insertText fires the input events)."""
        self.evaluate('document.getElementById(%s).focus()' % json.dumps(element_id))
        self.send('Input.insertText', {'text': text})

    def click(self, element_id):
        self.evaluate('document.getElementById(%s).click()' % json.dumps(element_id))

    def screenshot(self, path, full_page=True):
        """A PNG of the page (all of it, or what the window shows)."""
        shot = self.send('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': full_page})
        with open(path, 'wb') as handle:
            handle.write(base64.b64decode(shot['data']))
        return path

    def close(self):
        try:
            self.send('Browser.close', session=False, timeout=10)
        except (RuntimeError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass

    def page_requests(self):
        """URLs the pages asked for, from Chromium's own net log. Its background services (updates,
        time, accounts) start their jobs with the initiator "not an origin"; a page's requests carry
        the page's origin ("null" for a file:// page)."""
        with open(self.net_log, encoding='utf-8', errors='replace') as handle:
            text = handle.read().rstrip()
        log = json.loads(text if text.endswith('}') else text.rstrip(',') + ']}')  # cut at exit: close it
        start = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
        # A job's BEGIN event carries its URL and initiator; its END event carries nothing.
        jobs = [e['params'] for e in log['events'] if e['type'] == start and 'url' in (e.get('params') or {})]
        if not jobs:
            raise AssertionError('the net log recorded no request at all: is it the log of this browser?')
        return [job['url'] for job in jobs if job.get('initiator') != 'not an origin']

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
