// A Cuca: draws the dashboard's charts with the vendored Chart.js. The numbers and their
// formatted text come from the page's JSON block (formatted by the server through Babel);
// colours come from the theme's custom properties. Without JavaScript the tables remain.
(function () {
  "use strict";

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  function palette() {
    var colours = [];
    for (var i = 1; i <= 8; i++) {
      var colour = cssVar("--chart-" + i);
      if (colour) colours.push(colour);
    }
    return colours.length ? colours : ["#3fbf6f"];
  }

  // Axis ticks only; every value a reader sees in full (tooltips, tables) is the server's.
  function tickFormat(unit) {
    var lang = document.documentElement.lang || "en";
    var options = { notation: "compact", maximumFractionDigits: 2 };
    if (unit === "money") {
      options.style = "currency";
      options.currency = "USD";
    }
    var format = new Intl.NumberFormat(lang, options);
    // Below one unit (a few cents of tokens), compact notation would round every tick to 0.
    var small = new Intl.NumberFormat(
      lang,
      Object.assign({}, options, { notation: "standard", maximumSignificantDigits: 2 })
    );
    return function (value) {
      var text = Math.abs(value) > 0 && Math.abs(value) < 1 ? small.format(value) : format.format(value);
      return text + (unit === "ms" ? " ms" : "");
    };
  }

  function draw(spec, holder) {
    var canvas = holder.querySelector("canvas");
    if (!canvas || !window.Chart) return;
    var colours = palette();
    var text = cssVar("--text");
    var muted = cssVar("--muted");
    var grid = cssVar("--border");
    var horizontal = spec.kind === "hbar";
    var valueAxis = {
      stacked: spec.stacked,
      beginAtZero: true,
      ticks: { color: muted, callback: tickFormat(spec.unit) },
      grid: { color: grid },
    };
    var labelAxis = { stacked: spec.stacked, ticks: { color: muted }, grid: { display: false } };
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          return {
            label: s.label,
            data: s.data,
            shown: s.shown,
            backgroundColor: colours[i % colours.length],
            borderWidth: 0,
          };
        }),
      },
      options: {
        indexAxis: horizontal ? "y" : "x",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: horizontal ? { x: valueAxis, y: labelAxis } : { x: labelAxis, y: valueAxis },
        plugins: {
          legend: { display: spec.series.length > 1, labels: { color: text } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                return ctx.dataset.label + ": " + ctx.dataset.shown[ctx.dataIndex];
              },
            },
          },
        },
      },
    });
    holder.classList.add("chart-drawn");
    // The chart now carries the picture; its table stays one click away.
    var table = holder.parentNode.querySelector("details.chart-table");
    if (table) table.open = false;
  }

  function init() {
    var block = document.getElementById("dashboard-data");
    if (!block) return;
    var specs;
    try {
      specs = JSON.parse(block.textContent);
    } catch (e) {
      return;
    }
    specs.forEach(function (spec) {
      var holder = document.querySelector('[data-chart="' + spec.id + '"]');
      if (holder && spec.labels.length) draw(spec, holder);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
