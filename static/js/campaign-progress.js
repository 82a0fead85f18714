// A campaign under way: the figures and the progress bar follow the outbox every few seconds,
// and the page reloads when the campaign's status changes (it starts, is paused, finishes).
// Without JavaScript the "Reload the figures" link does the same.
(function () {
  "use strict";
  var live = document.querySelector("[data-progress-url]");
  if (!live || !window.fetch) {
    return;
  }
  var url = live.getAttribute("data-progress-url");
  var shownStatus = live.getAttribute("data-status");
  var bar = document.getElementById("progress-bar");
  var updated = document.getElementById("progress-updated");
  var names = ["recipients", "sent", "failed", "suppressed", "left", "cancelled"];
  var EVERY = 2000;

  function show(progress) {
    if (progress.status !== shownStatus) {
      window.location.reload();
      return false;
    }
    if (bar) {
      bar.max = progress.recipients || 1;
      bar.value = progress.done;
      bar.textContent = progress.percent + "%";
    }
    names.forEach(function (name) {
      var figure = document.getElementById("count-" + name);
      if (figure) {
        figure.textContent = Number(progress[name]).toLocaleString("en");
      }
    });
    if (updated) {
      updated.textContent = "(updated " + new Date().toLocaleTimeString() + ")";
    }
    return true;
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (progress) {
        if (show(progress)) {
          window.setTimeout(poll, EVERY);
        }
      })
      .catch(function () { window.setTimeout(poll, EVERY * 3); });
  }

  window.setTimeout(poll, EVERY);
})();
