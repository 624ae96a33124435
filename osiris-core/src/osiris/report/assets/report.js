// Osiris run report: filters the events table and adds keyboard shortcuts. No network, no libraries.
(function () {
  "use strict";
  var PAGE = 500;

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = value == null ? "" : String(value);
    return el;
  }

  function eventsTable() {
    var data = document.getElementById("events-data");
    var body = document.querySelector("#events-table tbody");
    if (!data || !body) return;
    var rows = JSON.parse(data.textContent);  // [[line, ms, event, step, fields], ...]
    var stepSel = document.getElementById("ev-step");
    var typeSel = document.getElementById("ev-type");
    var search = document.getElementById("ev-search");
    var count = document.getElementById("ev-count");
    var more = document.getElementById("ev-more");
    var shown = PAGE;
    var steps = {}, types = {};
    rows.forEach(function (r) { if (r[3]) steps[r[3]] = 1; types[r[2]] = 1; });
    Object.keys(steps).sort().forEach(function (s) { stepSel.appendChild(text("option", s)); });
    Object.keys(types).sort().forEach(function (t) { typeSel.appendChild(text("option", t)); });

    function matches(r) {
      if (stepSel.value && r[3] !== stepSel.value) return false;
      if (typeSel.value && r[2] !== typeSel.value) return false;
      var q = search.value.trim().toLowerCase();
      return !q || (r[2] + " " + (r[3] || "") + " " + r[4]).toLowerCase().indexOf(q) >= 0;
    }

    function render() {
      var hits = rows.filter(matches);
      var frag = document.createDocumentFragment();
      hits.slice(0, shown).forEach(function (r) {
        var tr = document.createElement("tr");
        if (/error/.test(r[2])) tr.className = "ev-error";
        tr.appendChild(text("td", "ev:" + r[0], "mono muted"));
        tr.appendChild(text("td", r[1] == null ? "" : (r[1] / 1000).toFixed(3) + " s", "num"));
        tr.appendChild(text("td", r[2], "mono"));
        tr.appendChild(text("td", r[3] || "", "mono"));
        tr.appendChild(text("td", r[4], "f"));
        frag.appendChild(tr);
      });
      body.replaceChildren(frag);
      count.textContent = hits.length === rows.length
        ? rows.length + " events"
        : hits.length + " of " + rows.length + " events";
      more.hidden = hits.length <= shown;
      more.textContent = "Show " + Math.min(PAGE, hits.length - shown) + " more";
    }

    [stepSel, typeSel].forEach(function (el) {
      el.addEventListener("change", function () { shown = PAGE; render(); });
    });
    search.addEventListener("input", function () { shown = PAGE; render(); });
    more.addEventListener("click", function () { shown += PAGE; render(); });
    document.querySelectorAll("a[data-step-events]").forEach(function (a) {
      a.addEventListener("click", function () {
        stepSel.value = a.getAttribute("data-step-events");
        typeSel.value = "";
        shown = PAGE;
        render();
      });
    });
    render();
  }

  function sessionsIndex() {
    var table = document.getElementById("sessions");
    var filter = document.getElementById("session-filter");
    if (!table || !filter) return;
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr"));
    var current = -1;
    function visible() { return rows.filter(function (r) { return !r.hidden; }); }
    function select(i) {
      var list = visible();
      rows.forEach(function (r) { r.classList.remove("sel"); });
      if (!list.length) return;
      current = Math.max(0, Math.min(i, list.length - 1));
      list[current].classList.add("sel");
      list[current].scrollIntoView({ block: "nearest" });
    }
    filter.addEventListener("input", function () {
      var q = filter.value.trim().toLowerCase();
      rows.forEach(function (r) { r.hidden = q && r.textContent.toLowerCase().indexOf(q) < 0; });
      current = -1;
    });
    document.addEventListener("keydown", function (e) {
      if (e.target === filter) { if (e.key === "Escape") filter.blur(); return; }
      if (e.key === "j" || e.key === "ArrowDown") { select(current + 1); e.preventDefault(); }
      else if (e.key === "k" || e.key === "ArrowUp") { select(current - 1); e.preventDefault(); }
      else if (e.key === "Enter" && current >= 0) {
        var link = visible()[current].querySelector("a");
        if (link) location.href = link.href;
      }
    });
  }

  document.addEventListener("keydown", function (e) {
    var tag = (e.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "select" || tag === "textarea") return;
    if (e.key === "/") {
      var box = document.getElementById("ev-search") || document.getElementById("session-filter");
      if (box) { box.focus(); e.preventDefault(); }
    } else if (e.key === "i" && document.getElementById("index-link")) {
      location.href = document.getElementById("index-link").href;
    }
  });

  eventsTable();
  sessionsIndex();
})();
