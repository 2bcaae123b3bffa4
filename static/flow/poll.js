// Follows a verification's status and reloads the page when there is something new to show.
// The page also has a <meta refresh> for browsers without JavaScript.
(function () {
  var script = document.currentScript;
  var url = script.dataset.statusUrl;
  var when = script.dataset.when;
  var current = script.dataset.current;
  function check() {
    fetch(url, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if ((when === "ready" && (data.ready || data.provider_unavailable || data.final)) ||
            (when === "change" && data.status !== current)) {
          window.location.reload();
        }
      })
      .catch(function () {})
      .finally(function () { window.setTimeout(check, 1500); });
  }
  window.setTimeout(check, 1000);
})();
