// Postd console: the little the pages cannot do as plain forms.
// - The overview's live part reloads every 5 s without a full reload.
// - A component upload is checked first (the verdict shown), then served on request.
// - Buttons marked data-confirm ask before they submit.
"use strict";
(function () {
  const csrf = document.body ? document.body.dataset.csrf : "";

  const live = document.querySelector("[data-live]");
  if (live) {
    setInterval(async () => {
      try {
        const answer = await fetch(live.dataset.live, { credentials: "same-origin" });
        if (answer.ok) live.innerHTML = await answer.text();
      } catch (_) { /* the next tick tries again */ }
    }, 5000);
  }

  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  document.querySelectorAll("form[data-upload]").forEach((form) => {
    const file = form.querySelector("input[type=file]");
    const verdict = form.querySelector(".verdict");
    const serve = form.querySelector("button[data-serve]");
    const post = (path) =>
      fetch(path, {
        method: "POST",
        credentials: "same-origin",
        headers: { "x-csrf-token": csrf, "content-type": "application/wasm" },
        body: file.files[0],
      });
    const show = (text, ok) => {
      verdict.textContent = text;
      verdict.className = "verdict " + (ok ? "notice" : "error");
    };
    file.addEventListener("change", async () => {
      serve.disabled = true;
      if (!file.files.length) return;
      show("Checking…", true);
      const answer = await post(form.dataset.check);
      const body = await answer.json();
      if (!answer.ok) return show(body.message || "The check failed.", false);
      if (!body.compatible) return show("Refused: " + body.problem, false);
      show(`Compatible: ${body.display_name} ${body.version} (SDK ${body.sdk_version}), ` +
        `${body.size_bytes} bytes, sha256 ${body.sha256.slice(0, 12)}…; ` +
        `serving now: ${body.serving_version || "nothing"}.`, true);
      serve.disabled = false;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      serve.disabled = true;
      const answer = await post(form.dataset.upload);
      const body = await answer.json();
      if (!answer.ok) return show(body.message || "The upload failed.", false);
      window.location.assign("/console/plugins?notice=" +
        encodeURIComponent(`${body.id} ${body.version} is serving`));
    });
  });
})();
