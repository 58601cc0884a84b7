// Progressive enhancement only: the form works without this file (method=get, server-rendered).
// While the answer page loads, show that the question is being worked on.
(function () {
  "use strict";
  var form = document.getElementById("ask");
  if (!form) return;
  var button = document.getElementById("ask-button");
  var input = document.getElementById("q");
  form.addEventListener("submit", function () {
    if (!input.value.trim()) return;
    form.classList.add("busy");
    button.disabled = true;
    button.textContent = "Searching…";
  });
  // Back/forward cache restores the page as it was left: make the button usable again.
  window.addEventListener("pageshow", function () {
    form.classList.remove("busy");
    button.disabled = false;
    button.textContent = "Ask";
  });
})();
