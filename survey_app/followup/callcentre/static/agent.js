// Keyboard shortcuts for the agent's pages, the help overlay, and the lease heartbeat.
(function () {
  "use strict";
  var help = document.getElementById("help");

  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
    if (!help.hidden) help.querySelector("button").focus();
  }

  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }

  document.addEventListener("click", function (ev) {
    if (ev.target.hasAttribute("data-close-help")) toggleHelp(false);
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "Escape") {
      if (help && !help.hidden) { toggleHelp(false); return; }
      if (typing(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (typing(document.activeElement)) return;
    if (ev.key === "?") { ev.preventDefault(); toggleHelp(); return; }
    if (help && !help.hidden) return;
    var key = ev.key.toLowerCase();
    var button = document.querySelector('[data-key="' + key + '"]');
    if (!button) return;
    ev.preventDefault();
    if (button.value === "callback") {
      var date = document.getElementById("callback_date");
      var time = document.getElementById("callback_time");
      if (date && !date.value) { date.focus(); return; }
      if (time && !time.value) { time.focus(); return; }
    }
    if (button.value === "referred") {
      var name = document.getElementById("referred_name");
      var phone = document.getElementById("referred_phone");
      if (name && !name.value && phone && !phone.value) { name.focus(); return; }
    }
    button.click();
  });

  // Click-to-call: place the call without leaving the page, then follow its state.
  var callForm = document.getElementById("call-form");
  var callState = document.getElementById("call-state");
  var polling = null;

  function showState(state) {
    if (!state) return;
    if (state.label !== undefined) callState.textContent = state.label;
    callState.setAttribute("data-status", state.status || "");
    if (!state.live && polling) { clearInterval(polling); polling = null; }
  }

  function poll() {
    fetch(callState.getAttribute("data-state-url"), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).then(function (r) { return r.json(); }).then(showState).catch(function () {});
  }

  function follow() {
    if (!polling) polling = setInterval(poll, 1000);
  }

  if (callForm && callState) {
    callForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var button = document.getElementById("call-button");
      button.disabled = true;
      fetch(callForm.action, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": head.getAttribute("data-csrf") },
        credentials: "same-origin",
        body: new FormData(callForm),
      }).then(function (r) { return r.json(); }).then(function (state) {
        if (state.error) { callState.textContent = state.error; button.disabled = false; return; }
        showState(state);
        if (state.live) follow();
      }).catch(function () { button.disabled = false; });
    });
    if (callState.getAttribute("data-live")) follow();
  }

  // Keep the lease on the case while the page is open.
  var head = document.querySelector("[data-renew-url]");
  if (head) {
    setInterval(function () {
      fetch(head.getAttribute("data-renew-url"), {
        method: "POST",
        headers: { "X-CSRFToken": head.getAttribute("data-csrf") },
        credentials: "same-origin",
      });
    }, 4 * 60 * 1000);
  }
})();
