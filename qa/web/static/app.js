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
  // Past the length limit, say so beside the field while typing or after pasting.
  var hint = document.getElementById("q-hint");
  var limit = parseInt(input.getAttribute("data-max"), 10);
  var usual = hint ? hint.textContent : "";
  function count() {
    if (!hint || !limit) return;
    var over = input.value.length - limit;
    hint.classList.toggle("over", over > 0);
    hint.textContent = over > 0
      ? input.value.length + " characters: " + over + " over the " + limit +
        "-character limit. Shorten the question to ask it."
      : usual;
  }
  input.addEventListener("input", count);
  count();
  // Back/forward cache restores the page as it was left: make the button usable again.
  window.addEventListener("pageshow", function () {
    form.classList.remove("busy");
    button.disabled = false;
    button.textContent = "Ask";
  });
})();
