/* STAR recruitment survey: paste one line where the survey should appear:
     <script src="https://SURVEY-HOST/embed/static/embed.js" data-survey-launch="LAUNCH-JWT"></script>
   data-survey-launch is the signed launch JWT (or a full /embed/... URL). The script inserts the
   iframe, resizes it from the survey's height messages and fires a "star-survey:complete"
   DOM event on the iframe (it bubbles) when the respondent has sent the answers. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var surveyOrigin = new URL(script.src, document.baseURI).origin;
  var launch = script.getAttribute("data-survey-launch") || "";
  var src;
  if (/^https?:\/\//.test(launch)) {
    src = new URL(launch);
    if (src.origin !== surveyOrigin) return;
  } else {
    src = new URL("/embed/launch", surveyOrigin);
    src.searchParams.set("jwt", launch);
  }
  src.searchParams.set("origin", window.location.origin);

  var frame = document.createElement("iframe");
  frame.src = src.toString();
  frame.title = script.getAttribute("data-survey-title") || "Rekrutteringssurvey";
  frame.className = "star-survey-frame";
  frame.setAttribute("scrolling", "no");
  frame.style.width = "100%";
  frame.style.border = "0";
  frame.style.minHeight = "200px";
  frame.style.height = "600px";
  script.parentNode.insertBefore(frame, script.nextSibling);

  window.addEventListener("message", function (event) {
    if (event.origin !== surveyOrigin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data.type !== "string") return;
    if (data.type === "star-survey:height" && typeof data.height === "number" && data.height > 0) {
      frame.style.height = Math.ceil(data.height) + "px";
    } else if (data.type === "star-survey:complete") {
      frame.setAttribute("data-complete", "1");
      frame.dispatchEvent(new CustomEvent("star-survey:complete", { bubbles: true }));
    }
  });
})();
