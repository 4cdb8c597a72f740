// ensuresec dashboard: live updates over Server-Sent Events and the rate chart.
// Loaded as a file (the Content-Security-Policy allows no inline script); pages carry their
// data in <script type="application/json"> blocks and data-* attributes.
"use strict";

(function () {
  const SEVERITIES = ["info", "low", "medium", "high", "critical"];

  function el(tag, attrs, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const c of children || []) e.appendChild(c);
    return e;
  }

  function link(href, text) {
    return el("a", { href: href, text: text });
  }

  // One incident row, built with DOM calls (no HTML strings): same columns as rows in macros.html.
  function incidentRow(r) {
    const url = "/ui/incidents/" + r.id;
    const assets = el("td", {}, []);
    for (const a of r.assets) {
      assets.appendChild(el("a", { class: "chip", href: "/ui/assets/" + encodeURIComponent(a), text: a }));
      assets.appendChild(document.createTextNode(" "));
    }
    return el("tr", { "data-incident": String(r.id), class: "sev-" + r.severity + " fresh" }, [
      el("td", {}, [link(url, "#" + r.id)]),
      el("td", {}, [el("span", { class: "badge sev-" + r.severity, text: r.severity })]),
      el("td", {}, [link(url, r.title)]),
      el("td", { text: r.status }),
      el("td", {}, [el("code", { text: r.entity })]),
      el("td", { text: r.modules }),
      assets,
      el("td", { text: String(r.alerts) }),
      el("td", { text: r.last_seen }),
    ]);
  }

  function upsertRow(r) {
    const table = document.querySelector("table[data-live='prepend'] tbody");
    if (!table) return;
    const row = incidentRow(r);
    const old = table.querySelector("tr[data-incident='" + r.id + "']");
    if (old) old.replaceWith(row); else table.prepend(row);
  }

  function colourAssets(r) {
    if (r.status === "resolved" || r.status === "false_positive") return;
    for (const id of r.assets) {
      for (const node of document.querySelectorAll("g.node[data-asset='" + CSS.escape(id) + "']")) {
        const current = SEVERITIES.findIndex((s) => node.classList.contains("status-" + s));
        if (SEVERITIES.indexOf(r.severity) > current) {
          for (const s of SEVERITIES) node.classList.remove("status-" + s);
          node.classList.remove("status-ok");
          node.classList.add("status-" + r.severity);
        }
      }
    }
  }

  function toast(r) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const t = el("div", { class: "toast sev-" + r.severity }, [
      link("/ui/incidents/" + r.id, "#" + r.id + " " + r.title),
    ]);
    box.prepend(t);
    setTimeout(() => t.remove(), 8000);
  }

  function live() {
    const badge = document.getElementById("live");
    const source = new EventSource("/ui/live");
    source.onopen = () => { if (badge) { badge.classList.remove("off"); badge.classList.add("on"); } };
    source.onerror = () => { if (badge) { badge.classList.remove("on"); badge.classList.add("off"); } };
    source.addEventListener("incident", (m) => {
      const r = JSON.parse(m.data);
      upsertRow(r);
      colourAssets(r);
      toast(r);
    });
    source.addEventListener("alerts", (m) => {
      const n = document.getElementById("live-alerts");
      if (n) n.textContent = String(Number(n.textContent) + Number(m.data));
    });
  }

  function chart() {
    const data = document.getElementById("activity-data");
    const target = document.getElementById("rates");
    if (!data || !target || typeof uPlot === "undefined") return;
    const a = JSON.parse(data.textContent);
    if (!a) return;
    const series = [a.times, a.events, a.alerts];
    const opts = {
      width: Math.max(320, target.clientWidth - 10),
      height: 220,
      series: [
        {},
        { label: "events/min", stroke: "#2563eb", width: 2 },
        { label: "alerts/min", stroke: "#dc2626", width: 2, scale: "alerts" },
      ],
      axes: [{}, { label: "events" }, { label: "alerts", side: 1, scale: "alerts", grid: { show: false } }],
    };
    new uPlot(opts, series, target);
  }

  document.addEventListener("DOMContentLoaded", () => {
    chart();
    if (document.getElementById("live")) live();
  });
})();
