/* The error summary at the top of a page with validation errors: it takes focus when the page
   loads (so it is read out), and each of its links moves focus to the field it names, with the
   question's text scrolled into view above it. */
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) {
      return;
    }
    var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!field) {
      return;
    }
    event.preventDefault();
    var question = field.closest(".question") || field;
    question.scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
