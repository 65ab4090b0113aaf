// Mailed links carry what their page's form needs in the fragment (the sign-in link
// #code=.., the undo link #token=..), which the browser never sends to the server.
// Fill it into the form, then drop the fragment from the address bar and history. Nothing is
// submitted: the person presses the button.
(function () {
  var params = new URLSearchParams(window.location.hash.slice(1));
  // Never the address: a link someone else sent would sign this browser in to their account.
  ["code", "token"].forEach(function (name) {
    var field = document.getElementById("id_" + name);
    if (field && params.get(name)) {
      field.value = params.get(name);
    }
  });
  // Whose account the sign-in page signs in to, always as the field says (a link someone
  // else sent would fill in their own address).
  var email = document.getElementById("id_email");
  var shown = document.getElementById("signing-in-as-address");
  if (email && shown) {
    var show = function () {
      shown.textContent = email.value;
      shown.parentNode.hidden = !email.value;
    };
    show();
    email.addEventListener("input", show);
  }
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
})();
