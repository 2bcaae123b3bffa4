// Case page: zoomable evidence, reasons filtered by the chosen outcome, audit entries toggle.
// Plain JavaScript, no framework, no inline handlers (works under a strict CSP).
(function () {
  "use strict";

  // --- zoom -------------------------------------------------------------------------------
  var overlay = document.getElementById("bo-zoom");
  var img = document.getElementById("bo-zoom-img");
  var scale = 1;
  function apply() {
    img.style.width = Math.round(img.naturalWidth * scale) + "px";
    img.style.height = "auto";
  }
  function fit() {
    var stage = overlay.querySelector(".bo-zoom-stage");
    scale = Math.min(1, (stage.clientWidth - 20) / img.naturalWidth, (stage.clientHeight - 20) / img.naturalHeight) || 1;
    apply();
  }
  // A modal dialog for screen readers and keyboards: named, focus moved in and kept in (Tab and
  // Shift+Tab cycle through its buttons), Esc closes, focus goes back to the thumbnail.
  var opener = null;
  function open(src, label, from) {
    opener = from || document.activeElement;
    document.getElementById("bo-zoom-title").textContent = label ? "Evidence: " + label : "Evidence";
    img.alt = label || "";
    img.onload = function () { overlay.hidden = false; scale = 1; fit(); };
    img.src = src;
    overlay.hidden = false;
    overlay.querySelector("[data-zoom=close]").focus();
  }
  function close() {
    overlay.hidden = true;
    img.removeAttribute("src");
    if (opener && opener.focus) { opener.focus(); }
    opener = null;
  }
  function trapTab(event) {
    var focusable = Array.prototype.slice.call(overlay.querySelectorAll("button"));
    var first = focusable[0], last = focusable[focusable.length - 1];
    if (!overlay.contains(document.activeElement)) { event.preventDefault(); first.focus(); }
    else if (event.shiftKey && document.activeElement === first) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && document.activeElement === last) { event.preventDefault(); first.focus(); }
  }
  document.querySelectorAll(".bo-zoomable").forEach(function (button) {
    button.addEventListener("click", function () {
      // The thumbnail's own bytes: no second (audited) request for the same image.
      var thumb = button.querySelector("img");
      open(thumb && thumb.currentSrc ? thumb.currentSrc : button.dataset.full, thumb && thumb.alt, button);
    });
  });
  if (overlay) {
    overlay.addEventListener("click", function (event) {
      var action = event.target.dataset && event.target.dataset.zoom;
      if (action === "in") { scale = Math.min(8, scale * 1.5); apply(); }
      else if (action === "out") { scale = Math.max(0.1, scale / 1.5); apply(); }
      else if (action === "fit") { fit(); }
      else if (action === "close" || event.target === overlay) { close(); }
    });
    overlay.addEventListener("wheel", function (event) {
      if (!event.ctrlKey && !event.metaKey) { return; }
      event.preventDefault();
      scale = Math.min(8, Math.max(0.1, scale * (event.deltaY < 0 ? 1.2 : 1 / 1.2)));
      apply();
    }, { passive: false });
    img.addEventListener("click", function () { scale = Math.min(8, scale * 1.5); apply(); });
    document.addEventListener("keydown", function (event) {
      if (overlay.hidden) { return; }
      if (event.key === "Escape") { event.preventDefault(); close(); return; }
      if (event.key === "Tab") { trapTab(event); return; }
      if (event.key === "+" || event.key === "=") { scale = Math.min(8, scale * 1.5); apply(); }
      if (event.key === "-") { scale = Math.max(0.1, scale / 1.5); apply(); }
    });
  }

  // --- reasons follow the outcome ---------------------------------------------------------
  var form = document.getElementById("review-form");
  if (form) {
    var select = form.querySelector("select[name=reason]");
    var filter = function () {
      var chosen = form.querySelector("input[name=outcome]:checked");
      var outcome = chosen ? chosen.value : "";
      Array.prototype.forEach.call(select.options, function (option) {
        var fits = !option.value || !outcome || !option.dataset.outcome || option.dataset.outcome === outcome;
        option.hidden = !fits;
        option.disabled = !fits;
        if (!fits && option.selected) { select.value = ""; }
      });
    };
    form.querySelectorAll("input[name=outcome]").forEach(function (radio) { radio.addEventListener("change", filter); });
    filter();
  }

  // --- audit entries in the timeline ------------------------------------------------------
  var toggle = document.getElementById("toggle-audit");
  var timeline = document.querySelector(".bo-timeline");
  if (toggle && timeline) {
    toggle.addEventListener("change", function () { timeline.classList.toggle("bo-hide-audit", !toggle.checked); });
  }
})();
