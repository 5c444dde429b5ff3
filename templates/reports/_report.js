(function () {
  'use strict';
  var table = document.getElementById('structures');
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var keys = ['host', 'status', 'contact'];
  var inputs = {host: document.getElementById('f-host'), status: document.getElementById('f-status'),
                contact: document.getElementById('f-contact'), q: document.getElementById('f-q')};
  var sortState = {key: null, dir: 'ascending'};
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);

  function cellValue(row, index, type) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    if (type === 'num') { return raw === '' ? Infinity : parseFloat(raw); }
    return raw.toLowerCase();
  }

  function sortBy(key, dir) {
    var index = -1, type = 'text';
    headers.forEach(function (th, i) {
      if (th.getAttribute('data-key') === key) { index = i; type = th.getAttribute('data-type'); }
      th.removeAttribute('aria-sort');
    });
    if (index < 0 || type === 'none') { return; }
    sortState = {key: key, dir: dir};
    headers[index].setAttribute('aria-sort', dir);
    var sign = dir === 'descending' ? -1 : 1;
    rows.sort(function (a, b) {
      var x = cellValue(a, index, type), y = cellValue(b, index, type);
      if (x < y) { return -sign; }
      if (x > y) { return sign; }
      return 0;
    });
    rows.forEach(function (row) { tbody.appendChild(row); });
  }

  function writeHash() {
    var parts = [];
    keys.concat(['q']).forEach(function (k) {
      if (inputs[k].value) { parts.push(k + '=' + encodeURIComponent(inputs[k].value)); }
    });
    if (sortState.key) { parts.push('sort=' + sortState.key, 'dir=' + sortState.dir); }
    try { history.replaceState(null, '', parts.length ? '#' + parts.join('&') : location.pathname); } catch (e) {}
  }

  function apply() {
    var q = inputs.q.value.trim().toLowerCase();
    var shown = 0;
    rows.forEach(function (row) {
      var visible = keys.every(function (k) {
        return !inputs[k].value || row.getAttribute('data-' + k) === inputs[k].value;
      }) && (!q || row.textContent.toLowerCase().indexOf(q) >= 0);
      row.hidden = !visible;
      if (visible) { shown += 1; }
    });
    document.getElementById('shown').textContent = String(shown);
    Array.prototype.forEach.call(document.querySelectorAll('.card[data-status]'), function (card) {
      card.classList.toggle('active', card.getAttribute('data-status') === inputs.status.value);
    });
  }

  function readHash() {
    var wanted = {};
    location.hash.replace(/^#/, '').split('&').forEach(function (pair) {
      var i = pair.indexOf('=');
      if (i > 0) { wanted[pair.slice(0, i)] = decodeURIComponent(pair.slice(i + 1)); }
    });
    keys.concat(['q']).forEach(function (k) {
      var value = wanted[k] || '';
      if (k !== 'q' && value && !inputs[k].querySelector('option[value="' + CSS.escape(value) + '"]')) { value = ''; }
      inputs[k].value = value;
    });
    if (wanted.sort) { sortBy(wanted.sort, wanted.dir === 'descending' ? 'descending' : 'ascending'); }
    apply();
  }

  // The header cells themselves sort (a button inside would not print in the repeated header).
  headers.forEach(function (th) {
    if (!th.classList.contains('sortable')) { return; }
    function toggle() {
      var key = th.getAttribute('data-key');
      var dir = (sortState.key === key && sortState.dir === 'ascending') ? 'descending' : 'ascending';
      sortBy(key, dir);
      writeHash();
    }
    th.addEventListener('click', toggle);
    th.addEventListener('keydown', function (event) {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); toggle(); }
    });
  });
  keys.concat(['q']).forEach(function (k) {
    inputs[k].addEventListener(k === 'q' ? 'input' : 'change', function () { apply(); writeHash(); });
  });
  Array.prototype.forEach.call(document.querySelectorAll('.card[data-status]'), function (card) {
    card.addEventListener('click', function () {
      if (card.classList.contains('zero')) { return; }
      var status = card.getAttribute('data-status');
      inputs.status.value = inputs.status.value === status ? '' : status;
      apply();
      writeHash();
    });
  });
  document.getElementById('f-reset').addEventListener('click', function () {
    keys.concat(['q']).forEach(function (k) { inputs[k].value = ''; });
    apply();
    writeHash();
  });
  // Browsers without ::details-content still print the steps.
  window.addEventListener('beforeprint', function () {
    Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.setAttribute('open', ''); });
  });
  window.addEventListener('hashchange', readHash);
  readHash();
  document.body.setAttribute('data-ready', 'true');
}());
