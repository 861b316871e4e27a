// Plan measures: show the fields of the kind of measure chosen (a course, or supervision)
// and hide the other kind's. Without JavaScript every field is shown, in groups named by
// the kind they belong to, and the form works the same.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-measure]").forEach(function (measure) {
    var kind = measure.querySelector("select[name$='-kind']");
    if (!kind) {
      return;
    }
    var show = function () {
      measure.querySelectorAll("[data-kind]").forEach(function (group) {
        group.hidden = kind.value !== "" && group.getAttribute("data-kind") !== kind.value;
      });
    };
    kind.addEventListener("change", show);
    show();
  });
});
