// Submits signup forms in place. Without this file the same forms post and reload the page.
(function () {
  "use strict";

  var FALLBACK_ERROR = "Something went wrong. Please try again.";

  // The page writes the message in its own language on the form.
  function fallbackError(form) {
    return form.dataset.fallbackError || FALLBACK_ERROR;
  }

  function errorBox(form, field) {
    var input = form.querySelector(field === "newsletters" ? "fieldset.choices" : "input[name=email]");
    if (!input) {
      input = form.querySelector("input[name=email]");
      field = "email";
    }
    var idBase = form.querySelector("input[name=form_id]").value;
    return { input: input, box: document.getElementById(idBase + "-" + field + "-error") };
  }

  function clearErrors(form) {
    form.querySelectorAll(".field-error").forEach(function (box) {
      box.textContent = "";
      box.hidden = true;
    });
    form.querySelectorAll("[aria-invalid]").forEach(function (input) {
      input.removeAttribute("aria-invalid");
    });
  }

  function showError(form, field, message) {
    var target = errorBox(form, field);
    if (target.box) {
      target.box.textContent = message;
      target.box.hidden = false;
      target.input.setAttribute("aria-describedby", target.box.id);
    }
    if (target.input.tagName === "INPUT") {
      target.input.setAttribute("aria-invalid", "true");
      target.input.focus();
    } else {
      var first = target.input.querySelector("input");
      if (first) first.focus();
    }
  }

  function showSuccess(form, message) {
    var status = document.getElementById(form.dataset.successTarget);
    form.hidden = true;
    if (status) {
      status.textContent = message;
      status.setAttribute("tabindex", "-1");
      status.focus();
    }
  }

  function submitInPlace(event) {
    var form = event.currentTarget;
    event.preventDefault();
    clearErrors(form);
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            if (response.ok) {
              showSuccess(form, (data && data.message) || "");
            } else if (data && data.error) {
              showError(form, data.error.field || "email", data.error.message);
            } else {
              showError(form, "email", fallbackError(form));
            }
          });
      })
      .catch(function () {
        showError(form, "email", fallbackError(form));
      })
      .finally(function () {
        if (button) button.disabled = false;
      });
  }

  document.querySelectorAll("form.signup-form").forEach(function (form) {
    form.addEventListener("submit", submitInPlace);
  });
})();
