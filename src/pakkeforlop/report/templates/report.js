// Draws every chart of the report with vega-embed (inline bundle above) and records the outcome
// on the page: body[data-charts="done"] once all have settled, each view's data-rendered
// ("yes" or "failed"), and window.__pakkeforlop {rendered, failed, errors} for tests.
(function () {
  "use strict";
  var state = { rendered: 0, failed: 0, errors: [], done: false };
  window.__pakkeforlop = state;
  window.addEventListener("error", function (event) {
    state.errors.push(String(event.message || event));
  });
  var options = JSON.parse(document.getElementById("embed-options").textContent);
  var views = Array.prototype.slice.call(document.querySelectorAll("[data-spec]"));
  var jobs = views.map(function (view) {
    var spec = JSON.parse(document.getElementById(view.getAttribute("data-spec")).textContent);
    return vegaEmbed(view, spec, options).then(
      function () {
        view.setAttribute("data-rendered", "yes");
        state.rendered += 1;
      },
      function (error) {
        view.setAttribute("data-rendered", "failed");
        view.textContent = view.getAttribute("data-failed-text") + ": " + error;
        state.failed += 1;
        state.errors.push(String(error));
        console.error(error);
      }
    );
  });
  Promise.all(jobs).then(function () {
    state.done = true;
    document.body.setAttribute("data-charts", "done");
  });
})();
