// A wrong code must not cost the new password typed twice. The form (data-keeps-passwords) is
// sent in the background; when the answer is the same form again with its passwords accepted
// (a refused code), the page takes the answer's content and the password fields keep what was
// typed, in this page's memory only: the server never writes a password back into HTML, and
// nothing is stored. Any other answer is shown as the browser would show it. Without script,
// the form posts as usual.
(function () {
  function showInstead(html) {
    document.open();
    document.write(html);
    document.close();
  }

  function keepPasswords(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.DOMParser) {
        return;
      }
      event.preventDefault();
      var typed = {};
      form.querySelectorAll("input[type=password]").forEach(function (field) {
        typed[field.name] = field.value;
      });
      var sent = fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin", redirect: "manual",
      });
      sent.then(function (response) {
        if (response.type === "opaqueredirect") {
          window.location.assign(form.dataset.doneUrl); // done: where the form leads
          return;
        }
        response.text().then(function (html) {
          var answer = new DOMParser().parseFromString(html, "text/html");
          var again = answer.querySelector("form[data-keeps-passwords]");
          if (response.status !== 200 || !again || again.querySelector("input[type=password][aria-invalid=true]")) {
            showInstead(html);
            return;
          }
          document.title = answer.title;
          document.querySelector("main").replaceWith(document.adoptNode(answer.querySelector("main")));
          var live = document.querySelector("form[data-keeps-passwords]");
          live.querySelectorAll("input[type=password]").forEach(function (field) {
            field.value = typed[field.name] || "";
          });
          keepPasswords(live);
          window.showFormErrors();
          window.startCountdowns();
        });
      }, function () {
        form.submit(); // the network failed: post it the ordinary way
      });
    });
  }

  var form = document.querySelector("form[data-keeps-passwords]");
  if (form) {
    keepPasswords(form);
  }
})();
