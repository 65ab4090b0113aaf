// "Did you mean lin@qq.com?" under an address field whose domain is a near miss of a common
// provider's (a letter wrong, missing, added, or two swapped). One click fills it in; nothing
// is blocked. The field's data-typo-hint holds the sentence, with {address}.
(function () {
  var DOMAINS = [
    "qq.com", "vip.qq.com", "foxmail.com", "163.com", "vip.163.com", "126.com", "yeah.net",
    "139.com", "188.com", "sina.com", "sina.cn", "sohu.com", "aliyun.com", "gmail.com",
    "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com",
  ];

  function distance(a, b) {  // Damerau-Levenshtein, optimal string alignment
    var d = [], i, j;
    for (i = 0; i <= a.length; i++) d[i] = [i];
    for (j = 0; j <= b.length; j++) d[0][j] = j;
    for (i = 1; i <= a.length; i++) {
      for (j = 1; j <= b.length; j++) {
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length][b.length];
  }

  function suggestion(address) {
    var at = address.lastIndexOf("@");
    var domain = address.slice(at + 1).trim().toLowerCase();
    if (at < 1 || !domain || DOMAINS.indexOf(domain) >= 0) return "";
    var best = "", nearest = 3;
    DOMAINS.forEach(function (known) {
      var d = distance(domain, known);
      if (d <= (known.length >= 9 ? 2 : 1) && d < nearest) {
        best = known;
        nearest = d;
      }
    });
    return best && address.slice(0, at + 1).trim() + best;
  }

  document.querySelectorAll("input[data-typo-hint]").forEach(function (field) {
    var hint = document.createElement("p");
    hint.className = "form-text typo-hint";
    hint.setAttribute("aria-live", "polite");
    hint.hidden = true;
    var button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-link p-0 align-baseline";
    var parts = field.dataset.typoHint.split("{address}");
    hint.append(parts[0], button, parts[1] || "");
    field.insertAdjacentElement("afterend", hint);
    function check() {
      var better = suggestion(field.value);
      button.textContent = better;
      hint.hidden = !better;
    }
    button.addEventListener("click", function () {
      field.value = button.textContent;
      hint.hidden = true;
      field.focus();
    });
    field.addEventListener("change", check);
    field.addEventListener("blur", check);
  });
})();
