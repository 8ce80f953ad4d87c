/* The scoreboard as a navigator: filter the claims of every `table.lw-scoreboard` by chapter, verdict
   and provenance (the `data-chapter`, `data-verdict`, `data-provenance` of each body row), search their
   text, and sort by clicking a column header (again: the other way). Plain JavaScript, no library, no
   network: it works from the built site's own files. Loaded on every page; does nothing elsewhere. */
(function () {
  "use strict";

  var FILTERS = [["chapter", "Chapter"], ["verdict", "Verdict"], ["provenance", "Provenance"]];

  function text(el) { return (el.textContent || "").replace(/\s+/g, " ").trim(); }

  function number(s) {
    var m = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?/i.exec(s.replace(/[\u2212\u2013]/g, "-"));
    return m ? parseFloat(m[0]) : NaN;
  }

  function compare(a, b) {
    var x = number(a), y = number(b);
    if (!isNaN(x) && !isNaN(y) && x !== y) return x - y;
    return a.localeCompare(b, undefined, {numeric: true, sensitivity: "base"});
  }

  function navigator(table) {
    var body = table.tBodies[0];
    if (!body || table.dataset.lwNavigator) return;
    table.dataset.lwNavigator = "1";
    var rows = Array.prototype.slice.call(body.rows);
    var heads = table.tHead ? Array.prototype.slice.call(table.tHead.rows[0].cells) : [];
    rows.forEach(function (row, i) {
      row.dataset.lwOrder = String(i);
      Array.prototype.forEach.call(row.cells, function (cell, j) {
        if (heads[j] && !cell.dataset.label) cell.dataset.label = text(heads[j]);
      });
    });

    var bar = document.createElement("div");
    bar.className = "lw-navigator";
    bar.setAttribute("role", "search");
    var state = {query: ""};
    var selects = {};
    FILTERS.forEach(function (f) {
      var key = f[0];
      var values = [];
      rows.forEach(function (r) {
        var v = r.dataset[key];
        if (v && values.indexOf(v) < 0) values.push(v);
      });
      if (!values.length) return;
      values.sort(compare);
      var label = document.createElement("label");
      label.appendChild(document.createTextNode(f[1]));
      var select = document.createElement("select");
      select.name = "lw-" + key;
      select.setAttribute("aria-label", f[1]);
      select.appendChild(new Option("all", ""));
      values.forEach(function (v) { select.appendChild(new Option(v, v)); });
      select.addEventListener("change", apply);
      label.appendChild(select);
      bar.appendChild(label);
      selects[key] = select;
    });
    var search = document.createElement("input");
    search.type = "search";
    search.name = "lw-search";
    search.placeholder = "Search claims";
    search.setAttribute("aria-label", "Search claims");
    search.addEventListener("input", function () { state.query = search.value.trim().toLowerCase(); apply(); });
    bar.appendChild(search);
    var count = document.createElement("span");
    count.className = "lw-count";
    count.setAttribute("aria-live", "polite");
    bar.appendChild(count);
    table.parentNode.insertBefore(bar, table);

    function apply() {
      var shown = 0;
      var words = state.query ? state.query.split(/\s+/) : [];
      rows.forEach(function (r) {
        var ok = Object.keys(selects).every(function (k) {
          return !selects[k].value || r.dataset[k] === selects[k].value;
        });
        if (ok && words.length) {
          var t = text(r).toLowerCase();
          ok = words.every(function (w) { return t.indexOf(w) >= 0; });
        }
        r.hidden = !ok;
        if (ok) shown += 1;
      });
      count.textContent = shown + " of " + rows.length + " shown";
    }

    heads.forEach(function (th, j) {
      th.classList.add("lw-sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      function sort() {
        var up = th.getAttribute("aria-sort") !== "ascending";
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var sorted = rows.slice().sort(function (a, b) {
          var c = compare(a.cells[j] ? text(a.cells[j]) : "", b.cells[j] ? text(b.cells[j]) : "");
          if (!up) c = -c;
          return c || (+a.dataset.lwOrder - +b.dataset.lwOrder);  // stable: ties keep the page's order
        });
        sorted.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
    apply();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table.lw-scoreboard"), navigator);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
