// Approving builds and checks a whole new release before the answer comes (seconds): say so while the
// editor waits, and send the decision once, however often the buttons are pressed meanwhile.
(function () {
  var form = document.querySelector("form[data-decide]");
  var status = document.getElementById("decide-status");
  if (!form || !status) return;
  var sent = false;
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    sent = true;
    // should the answer never come (the browser's Stop, a lost connection), the form works again later
    window.setTimeout(function () { sent = false; form.removeAttribute("aria-busy"); }, 120000);
    form.setAttribute("aria-busy", "true");
    if (event.submitter && event.submitter.value === "approve") {
      status.textContent = "Publishing: the graph is being rebuilt and checked with this change. This takes a few seconds; the page changes when it is live.";
    } else {
      status.textContent = "Sending your decision…";
    }
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;  // back to this page from the browser's cache: the form is usable again
    sent = false;
    form.removeAttribute("aria-busy");
    status.textContent = "";
  });
})();
