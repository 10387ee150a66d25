// Charts from the numbers the server put in the page (a JSON data block beside each canvas),
// with the same numbers as a table next to them for screen readers and copy-paste.
(function () {
  "use strict";
  function drawCharts(root) {
    if (!window.Chart) { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var data = JSON.parse(document.getElementById(canvas.dataset.chart).textContent);
      canvas.dataset.drawn = "1";
      new window.Chart(canvas, {
        type: data.type || "bar",
        data: { labels: data.labels, datasets: data.datasets },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
                   plugins: { legend: { position: "bottom" } },
                   scales: { y: { beginAtZero: data.type !== "line", ticks: { precision: 0 } } } }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
  document.addEventListener("htmx:afterSwap", function (event) { drawCharts(event.target); });
})();

// The flow studio's phone panel: each keypad button adds its action to the caller's answers.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-key][data-target]");
    if (!button) { return; }
    var input = document.getElementById(button.dataset.target);
    if (!input) { return; }
    input.value = (input.value.trim() + " " + button.dataset.key).trim();
    input.focus();
  });

  // The speak box and the record control add one action, quoted whole, to the caller's answers:
  // "say:<words>@<confidence>" and "rec:<seconds>:<transcript>", as flask simulate takes them.
  function quoted(action) {
    return /[\s"'\\]/.test(action) ? '"' + action.replace(/["\\]/g, "\\$&") + '"' : action;
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-add]");
    if (!button) { return; }
    var box = button.closest("fieldset[data-action]");
    var input = box && document.getElementById(box.dataset.target);
    if (!input) { return; }
    var part = function (name) { return box.querySelector('[data-part="' + name + '"]').value.trim(); };
    var action;
    if (box.dataset.action === "say") {
      if (!part("words")) { box.querySelector('[data-part="words"]').focus(); return; }
      action = "say:" + part("words") + (part("confidence") ? "@" + part("confidence") : "");
    } else {
      action = "rec:" + (part("seconds") || "0") + (part("transcript") ? ":" + part("transcript") : "");
    }
    input.value = (input.value.trim() + " " + quoted(action)).trim();
    input.focus();
  });
})();
