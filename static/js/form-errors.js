// A form sent back with errors: its summary (role="alert", templates/form_errors.html) is read
// out, and the focus moves to the first field in error. An error about the whole form (a wrong
// sign-in) marks no field: the focus goes to the form's first field, which the summary describes.
// keep-new-password.js calls it again when it puts a new answer in the page.
window.showFormErrors = function () {
  var summary = document.getElementById("form-errors");
  if (!summary) {
    return;
  }
  var field = document.querySelector("main [aria-invalid='true']");
  if (!field) {
    field = document.querySelector("main form input:not([type=hidden]), main form textarea");
    if (field) {
      var described = field.getAttribute("aria-describedby");
      field.setAttribute("aria-describedby", (described ? described + " " : "") + "form-errors");
    }
  }
  if (field) {
    field.focus();
  }
};
window.showFormErrors();
