// The sandbox's stand-in for a device-fingerprint SDK (Solaris's Seon is not available offline):
// it puts a fingerprint in the start form's `device-data` field, as the real SDK's callback would,
// and the sandbox records what the identification was given. Set KYC_DEVICE_FINGERPRINT_SCRIPT
// to /static/flow/device-fingerprint-sandbox.js to use it; never in production.
(function () {
  "use strict";
  var field = document.getElementById("device-data");
  if (!field) {
    return;
  }
  var bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  var hex = Array.prototype.map.call(bytes, function (b) {
    return ("0" + b.toString(16)).slice(-2);
  }).join("");
  field.value = "sandbox-device-" + hex;
})();
