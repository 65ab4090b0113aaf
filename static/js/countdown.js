// Buttons with data-wait-seconds stay disabled, counting down, until the server's cooldown
// has passed (the server enforces it anyway). data-wait-label holds the text, with {s}.
// keep-new-password.js calls it again when it puts a new answer in the page.
window.startCountdowns = function () {
  document.querySelectorAll("[data-wait-seconds]").forEach(function (button) {
    var left = parseInt(button.dataset.waitSeconds, 10);
    var ready = button.textContent;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = ready;
        return;
      }
      button.disabled = true;
      button.textContent = button.dataset.waitLabel.replace("{s}", left);
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  });
};
window.startCountdowns();
