/* Inside the survey iframe: tell the partner page our height and when the survey is complete.
   Messages go only to the parent's origin, and only if it is one of the brand's embed origins. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var config = document.getElementById("embed-config");
  if (!config) return;
  var allowed = [];
  try { allowed = JSON.parse(config.getAttribute("data-allowed-origins") || "[]"); } catch (e) { allowed = []; }
  var target = config.getAttribute("data-parent-origin") || "";
  if (!target && document.referrer) {
    try { target = new URL(document.referrer).origin; } catch (e) { target = ""; }
  }
  if (!target || allowed.indexOf(target) === -1) return;

  function post(message) { window.parent.postMessage(message, target); }

  var last = -1;
  function sendHeight() {
    var style = window.getComputedStyle(document.body);
    var height = Math.ceil(document.body.getBoundingClientRect().height +
      parseFloat(style.marginTop || "0") + parseFloat(style.marginBottom || "0"));
    if (height !== last) {
      last = height;
      post({ type: "star-survey:height", height: height });
    }
  }
  sendHeight();
  window.addEventListener("load", sendHeight);
  window.addEventListener("resize", sendHeight);
  if (window.ResizeObserver) new ResizeObserver(sendHeight).observe(document.body);
  if (config.getAttribute("data-complete") === "1") post({ type: "star-survey:complete" });
})();
