// After a form comes back with errors, move focus to the summary of what to fix, so a
// keyboard or screen-reader user starts there (the summary's links lead to each field).
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
});
