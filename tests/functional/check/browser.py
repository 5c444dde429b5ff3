# -*- coding: utf-8 -*-
"""Headless Chromium for the report tests: PDFs from ``--print-to-pdf`` itself, and the measures a
page gives of itself (run through tests/functional/cdp.py, the DevTools protocol over a pipe).
"""
import os
import subprocess
import tempfile

import pytest

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')


def chromium(args, url, tmp):
    """One headless Chromium run on ``url`` (``--dump-dom``, ``--screenshot``, ``--print-to-pdf``...); its stdout."""
    if not os.path.exists(CHROMIUM):
        pytest.fail('%s is missing: run tools/system_deps.sh (apt-get install chromium)' % CHROMIUM)
    profile = tempfile.mkdtemp(dir=str(tmp), prefix='chromium-')
    cmd = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync',
           '--user-data-dir=%s' % profile] + list(args) + [url]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def print_pdf(page, pdf, tmp):
    """``chromium --headless --print-to-pdf``: the page's own @page size and margins, no browser header."""
    chromium(['--no-pdf-header-footer', '--print-to-pdf=%s' % pdf], 'file://' + page, tmp)
    assert os.path.getsize(pdf) > 1000
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
