"use strict";
// The docs page when nobody is signed in: an API key typed here is checked against the schema
// endpoint, then handed to Swagger UI's own authorization (the API key scheme), which sends it
// with the schema request (drf-spectacular's init script) and with every "Try it out".
(() => {
  const form = document.getElementById("docs-key-form");
  if (!form) return;
  const panel = document.getElementById("docs-signin");
  const error = document.getElementById("docs-key-error");
  const scheme = form.dataset.scheme;

  const accepted = async (value) => {
    try {
      const response = await fetch(form.dataset.schema, {
        headers: { Authorization: value, Accept: "application/vnd.oai.openapi+json" },
        credentials: "omit",
      });
      return response.ok ? "ok" : response.status === 401 || response.status === 403 ? "refused" : "failed";
    } catch {
      return "failed";
    }
  };
  const say = (message) => {
    error.textContent = message;
    error.hidden = false;
    panel.hidden = false;
    form.elements.key.focus();
  };
  const REFUSED = "This key was not accepted. Check that it is complete and not revoked (a key with the read scope is enough).";
  const FAILED = "The API description could not be loaded. Try again in a moment.";

  // A key kept from an earlier visit: used at once if it still works, forgotten if not.
  let saved;
  try {
    saved = JSON.parse(localStorage.authorized || "{}")[scheme];
  } catch {
    saved = undefined;
  }
  if (saved && saved.value) {
    panel.hidden = true;
    accepted(saved.value).then((answer) => {
      if (answer === "ok") return;
      localStorage.removeItem("authorized");
      say(answer === "refused" ? "The key kept in this browser is no longer accepted. " + REFUSED : FAILED);
    });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const raw = form.elements.key.value.trim();
    if (!raw) {
      say("Type or paste an API key first.");
      return;
    }
    const value = /^api-key\s/i.test(raw) ? "Api-Key " + raw.replace(/^api-key\s+/i, "") : "Api-Key " + raw;
    const answer = await accepted(value);
    if (answer !== "ok") {
      say(answer === "refused" ? REFUSED : FAILED);
      return;
    }
    const security = { [scheme]: { name: scheme, schema: { type: "apiKey", in: "header", name: "Authorization" }, value } };
    const actions = ui.authActions;
    (actions.authorizeWithPersistOption || actions.authorize)(security);
    form.reset();
    panel.hidden = true;
  });
})();
