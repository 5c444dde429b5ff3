# -*- coding: utf-8 -*-
"""Headless Chromium driven through the DevTools protocol over a pipe (no extra package).

``--remote-debugging-pipe``: Chromium reads NUL-terminated JSON commands on fd 3 and answers on
fd 4. Enough to load a page at a given width, measure it from the DOM, switch to print media and
take screenshots; PDFs come from ``--print-to-pdf`` itself (see ``print_pdf``).
"""
import base64
import fcntl
import json
import os
import select
import subprocess
import tempfile
import time

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync']


class Browser(object):

    def __init__(self, tmp):
        self.profile = tempfile.mkdtemp(dir=str(tmp), prefix='chromium-')
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():  # in the child: fd 3 reads our commands, fd 4 carries the answers
            # Out of the way first: a pipe end may already be fd 3 or 4 (dup2 onto itself keeps close-on-exec).
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.proc = subprocess.Popen(  # pylint: disable=subprocess-popen-preexec-fn
            [CHROMIUM] + FLAGS + ['--remote-debugging-pipe', '--user-data-dir=%s' % self.profile, 'about:blank'],
            preexec_fn=wire, close_fds=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b''
        self._id = 0
        self.events = []
        target = self.call('Target.createTarget', url='about:blank')['targetId']
        self.session = self.call('Target.attachToTarget', targetId=target, flatten=True)['sessionId']
        self.call('Page.enable', session=True)
        self.call('Runtime.enable', session=True)

    def _read_message(self, deadline):
        while b'\0' not in self._buffer:
            left = deadline - time.time()
            if left <= 0:
                raise TimeoutError('Chromium did not answer')
            ready, _w, _x = select.select([self._from_chrome], [], [], left)
            if ready:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError('Chromium closed the pipe')
                self._buffer += chunk
        raw, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(raw.decode('utf-8'))

    def call(self, method, session=False, timeout=60, **params):
        self._id += 1
        message = {'id': self._id, 'method': method, 'params': params}
        if session:
            message['sessionId'] = self.session
        os.write(self._to_chrome, json.dumps(message).encode('utf-8') + b'\0')
        deadline = time.time() + timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get('id') == self._id:
                if 'error' in answer:
                    raise RuntimeError('%s: %s' % (method, answer['error']))
                return answer.get('result', {})
            self.events.append(answer)

    def wait_event(self, name, timeout=60):
        deadline = time.time() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get('method') == name:
                    return self.events.pop(i)
            self.events.append(self._read_message(deadline))

    def open(self, path, width=1280, height=900, media='screen'):
        self.call('Emulation.setDeviceMetricsOverride', session=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)
        self.call('Emulation.setEmulatedMedia', session=True, media=media)
        self.events = []
        self.call('Page.navigate', session=True, url='file://' + path)
        self.wait_event('Page.loadEventFired')

    def media(self, media):
        self.call('Emulation.setEmulatedMedia', session=True, media=media)

    def js(self, expression):
        answer = self.call('Runtime.evaluate', session=True, expression=expression, returnByValue=True)
        if 'exceptionDetails' in answer:
            raise RuntimeError('%s: %s' % (expression[:80], answer['exceptionDetails']))
        return answer['result'].get('value')

    def screenshot(self, path, full_page=True):
        shot = self.call('Page.captureScreenshot', session=True, format='png', captureBeyondViewport=full_page)
        with open(path, 'wb') as handle:
            handle.write(base64.b64decode(shot['data']))
        return path

    def close(self):
        try:
            self.call('Browser.close', timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def print_pdf(page, pdf, tmp):
    """``chromium --headless --print-to-pdf``: the page's own @page size and margins, no browser header."""
    profile = tempfile.mkdtemp(dir=str(tmp), prefix='chromium-')
    proc = subprocess.run([CHROMIUM] + FLAGS + ['--user-data-dir=%s' % profile, '--no-pdf-header-footer',
                                                '--print-to-pdf=%s' % pdf, 'file://' + page],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and os.path.getsize(pdf) > 1000, proc.stderr[-3000:]
    return pdf


# Measures taken in the page: every table's narrowest column, the overflow of the page and of each cell.
MEASURE = r"""
(function () {
  var tables = Array.prototype.map.call(document.querySelectorAll('table'), function (t) {
    var ths = Array.prototype.slice.call(t.tHead ? t.tHead.rows[0].cells : []);
    return {id: t.id || (t.closest('section') || {}).id || '',
            widths: ths.map(function (th) { return Math.round(th.getBoundingClientRect().width); }),
            headers: ths.map(function (th) { return th.textContent.trim(); })};
  });
  var cut = [];
  Array.prototype.forEach.call(document.querySelectorAll('td, th, p, li, h1, h2, h3'), function (el) {
    if (el.offsetParent === null) { return; }
    if (el.scrollWidth > el.clientWidth + 1) {
      cut.push(el.textContent.trim().slice(0, 60));
    }
    var r = el.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 1) { cut.push('right edge: ' + el.textContent.trim().slice(0, 60)); }
  });
  return {tables: tables, cut: cut, height: document.documentElement.scrollHeight,
          scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
          text: document.body.innerText};
}())
"""
