// The compose page's live preview: while staff type, the HTML and text versions as readers of
// the chosen list get them, made by the server (the same sanitiser and templates as the mail).
// Without JavaScript the Preview button does the same with a page load.
(function () {
  "use strict";
  var form = document.getElementById("compose-form");
  if (!form || !window.fetch) {
    return;
  }
  var url = form.getAttribute("data-preview-url");
  var token = form.querySelector('input[name="csrf_token"]');
  var html = document.getElementById("preview-html");
  var text = document.getElementById("preview-text");
  var status = document.getElementById("preview-status");
  var timer = null;
  var sequence = 0;
  var leaving = false; // the form is being sent: the page it leads to follows

  function fields() {
    return {
      newsletter: form.elements.newsletter.value,
      subject: form.elements.subject.value,
      body: form.elements.body.value
    };
  }

  function show(answer, mine) {
    if (mine !== sequence) {
      return; // a newer request is on its way
    }
    if (!answer.ok) {
      status.textContent = (answer.data.error && answer.data.error.message) ||
        "The preview could not be made.";
      return;
    }
    html.innerHTML = answer.data.html; // sanitised by the server
    text.textContent = answer.data.text;
    status.textContent = "";
  }

  function refresh() {
    var mine = ++sequence;
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRFToken": token ? token.value : ""
      },
      body: JSON.stringify(fields())
    }).then(function (response) {
      return response.json().then(function (data) {
        return { ok: response.ok, data: data };
      });
    }).then(function (answer) {
      show(answer, mine);
    }).catch(function () {
      if (mine === sequence) {
        status.textContent = "The preview could not be refreshed: the Preview button still works.";
      }
    });
  }

  function soon(delay) {
    window.clearTimeout(timer);
    if (!leaving) {
      timer = window.setTimeout(refresh, delay);
    }
  }

  form.addEventListener("input", function () { soon(400); });
  form.addEventListener("change", function () { soon(50); });
  form.addEventListener("submit", function () {
    leaving = true; // the click that sends it also blurs the body ("change")
    window.clearTimeout(timer);
  });
  if (!html.innerHTML.trim() && form.elements.body.value.trim()) {
    soon(0);
  }
})();
