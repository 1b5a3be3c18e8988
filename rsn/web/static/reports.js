// RSN report pages, progressively enhanced: without JS every input shows and the server decides.
(() => {
  // Show (and send) only the distribution inputs the chosen TLP takes; hidden ones are disabled
  // so they are not posted. Capture phase: this runs before HTMX asks "who will see this".
  const fitDistribution = (form) => {
    const checked = form.querySelector('input[name="tlp"]:checked');
    const tlp = checked ? checked.value : "";
    form.querySelectorAll("[data-tlp]").forEach((part) => {
      const fits = part.dataset.tlp.split(" ").includes(tlp);
      part.hidden = !fits;
      part.querySelectorAll("input, select").forEach((input) => { input.disabled = !fits; });
    });
  };
  document.addEventListener("change", (event) => {
    const target = event.target;
    if (target.name === "tlp" && target.form && target.form.id === "report-form") fitDistribution(target.form);
  }, true);
  const reportForm = document.getElementById("report-form");
  if (reportForm) fitDistribution(reportForm);

  // "Add observable": a new row from the template, numbered after the last one.
  const add = document.getElementById("add-observable");
  if (add) {
    add.hidden = false; // without JS the three rows are all there is, so the button hides
    add.addEventListener("click", () => {
      const rows = document.getElementById("obs-rows");
      const template = document.getElementById("obs-template");
      const next = rows.querySelectorAll(".obs-row").length;
      const holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replaceAll("__i__", String(next));
      const row = holder.firstElementChild;
      rows.appendChild(row);
      if (window.htmx) window.htmx.process(row);
      row.querySelector("select").focus();
    });
  }

  // A 422 (a filter that needs fixing) carries the page to show: swap it like a 200.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  // Filter messages arrive out of band; keep each input's aria-invalid in step with its message.
  document.addEventListener("htmx:afterSettle", () => {
    document.querySelectorAll("#filters [aria-describedby]").forEach((input) => {
      const ids = input.getAttribute("aria-describedby").split(" ");
      const note = document.getElementById(ids[ids.length - 1]);
      if (note && note.textContent.trim()) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  });
})();
