// migrate report, in the page: filter by status, search by name, copy commands,
// highlight the diffs (diff2html's UI bundle, inlined before this) and place each
// review item, warning and removed-block label at its line of the side-by-side diff.
(function () {
  'use strict';
  var articles = Array.prototype.slice.call(document.querySelectorAll('article.agent'));
  var buttons = Array.prototype.slice.call(document.querySelectorAll('button.filter'));
  var search = document.getElementById('search');
  var shown = document.getElementById('shown');
  var chartRows = Array.prototype.slice.call(document.querySelectorAll('svg g.row[data-agent]'));
  var status = 'all';
  var query = '';

  function apply() {
    var n = 0;
    var visible = {};
    articles.forEach(function (a) {
      var hit = (status === 'all' || a.getAttribute('data-status') === status) &&
        (!query || a.getAttribute('data-name').indexOf(query) >= 0 || a.getAttribute('data-file').indexOf(query) >= 0);
      a.hidden = !hit;
      if (hit) { n++; visible[a.getAttribute('data-agent')] = true; }
    });
    chartRows.forEach(function (g) { g.classList.toggle('dim', !visible[g.getAttribute('data-agent')]); });
    shown.textContent = 'Showing ' + n + ' of ' + articles.length + ' agents';
  }
  buttons.forEach(function (b) {
    b.addEventListener('click', function () {
      status = b.getAttribute('data-status');
      buttons.forEach(function (x) { x.setAttribute('aria-pressed', String(x === b)); });
      apply();
    });
  });
  search.addEventListener('input', function () { query = search.value.trim().toLowerCase(); apply(); });

  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('button.copy');
    if (!b) return;
    var text = b.parentNode.querySelector('code').textContent;
    var done = function () { b.textContent = 'Copied'; setTimeout(function () { b.textContent = 'Copy'; }, 1200); };
    if (navigator.clipboard && window.isSecureContext) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
    function fallback() {
      var range = document.createRange();
      range.selectNodeContents(b.parentNode.querySelector('code'));
      var sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      try { document.execCommand('copy'); done(); } catch (err) { /* the text stays selected for Ctrl-C */ }
    }
  });

  function lineRows(table) {
    var map = {};
    Array.prototype.forEach.call(table.querySelectorAll('tbody tr'), function (tr, i) {
      var num = tr.querySelector('td.d2h-code-side-linenumber');
      var n = num && parseInt(num.textContent, 10);
      if (n && !(n in map)) map[n] = i;
    });
    return map;
  }

  function noteRow(note, id, mirror) {
    var tr = document.createElement('tr');
    tr.className = 'note-row ' + note.kind + (mirror ? ' mirror' : '');
    if (id && !mirror) tr.id = id;
    var td = document.createElement('td');
    td.colSpan = 2;
    var tag = document.createElement('span');
    tag.className = 'tag ' + note.kind;
    tag.textContent = note.label;
    var box = document.createElement('div');
    box.appendChild(tag);
    box.appendChild(document.createTextNode(' ' + note.text));
    td.appendChild(box);
    tr.appendChild(td);
    return tr;
  }

  function placeNotes(host) {
    var data = host.parentNode.querySelector('script.notes-data');
    var notes = data ? JSON.parse(data.textContent) : [];
    var sides = host.querySelectorAll('.d2h-file-side-diff table');
    if (sides.length < 2) return;
    var left = sides[0];
    var right = sides[1];
    var index = lineRows(left);
    var agent = host.getAttribute('data-agent');
    var placed = 0;
    var unplaced = [];
    // Bottom-up, so inserting a row never shifts the rows still to be used.
    notes.slice().sort(function (a, b) { return (b.line || 0) - (a.line || 0) || (a.kind === 'removed' ? 1 : -1); }).forEach(function (note) {
      var i = note.line ? index[note.line] : undefined;
      if (i === undefined) { unplaced.unshift(note); return; }
      var lrows = left.querySelectorAll('tbody tr');
      var rrows = right.querySelectorAll('tbody tr');
      var id = agent + '-L' + note.line;
      if (document.getElementById(id)) id = null;
      var at = note.kind === 'removed' ? i : i + 1; // a removed block's label goes above it
      lrows[0].parentNode.insertBefore(noteRow(note, id, false), lrows[at] || null);
      if (rrows[0]) rrows[0].parentNode.insertBefore(noteRow(note, null, true), rrows[at] || null);
      placed++;
    });
    host.setAttribute('data-notes-placed', String(placed));
    var list = host.parentNode.querySelector('.unplaced');
    if (list && unplaced.length) {
      unplaced.forEach(function (note) {
        var li = document.createElement('li');
        var tag = document.createElement('span');
        tag.className = 'tag ' + note.kind;
        tag.textContent = note.label;
        li.appendChild(tag);
        li.appendChild(document.createTextNode(' ' + (note.line ? 'line ' + note.line + ' (not in the diff): ' : '') + note.text));
        list.appendChild(li);
      });
      list.hidden = false;
    }
  }

  Array.prototype.forEach.call(document.querySelectorAll('.diff-host'), function (host) {
    try {
      if (window.Diff2HtmlUI) {
        new window.Diff2HtmlUI(host, undefined, {
          highlight: true, synchronisedScroll: true, fileListToggle: false, fileContentToggle: false, stickyFileHeaders: false,
        }).draw();
        host.setAttribute('data-highlighted', 'true');
      }
    } catch (err) {
      host.setAttribute('data-highlight-error', String(err && err.message || err));
    }
    placeNotes(host);
  });
  apply();
  document.body.setAttribute('data-ready', 'true');
})();
