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

  // A corrected field loses the error the server gave it, and the summary at the top
  // counts what is left to fix (and goes when nothing is). Observable rows are checked
  // as they are typed: the check's answer decides for them.
  const summary = document.querySelector(".error-summary");
  const unlink = (key) => {
    document.getElementById(`${key}-error`)?.remove();
    const input = document.getElementById(key);
    if (!input) return;
    const ids = (input.getAttribute("aria-describedby") || "").split(" ");
    const rest = ids.filter((id) => id && id !== `${key}-error`);
    if (rest.length) input.setAttribute("aria-describedby", rest.join(" "));
    else input.removeAttribute("aria-describedby");
  };
  const recount = () => {
    const left = summary.querySelectorAll("li").length;
    if (!left) summary.remove();
    else summary.querySelector(".error-count").textContent = `${left} thing${left === 1 ? "" : "s"}`;
  };
  const clearError = (key) => {
    unlink(key);
    document.getElementById(key)?.removeAttribute("aria-invalid");
    const item = summary && summary.querySelector(`li[data-key="${key}"]`);
    if (!item) return;
    item.remove();
    recount();
  };
  // The row's check now shows the problem beside the input; the summary says it too.
  const restate = (key, problem) => {
    const link = summary && summary.querySelector(`li[data-key="${key}"] a`);
    if (!link) return;
    unlink(key);
    link.textContent = `${link.closest("li").dataset.label}: ${problem}`;
  };
  const edited = (event) => {
    const target = event.target;
    if (!target.form || target.form.id !== "report-form" || target.closest(".obs-row")) return;
    const group = target.closest("fieldset[id]");
    if (target.id && document.getElementById(`${target.id}-error`)) clearError(target.id);
    else if (group && document.getElementById(`${group.id}-error`)) clearError(group.id);
  };
  document.addEventListener("input", edited);
  document.addEventListener("change", edited);
  document.addEventListener("htmx:afterSwap", (event) => {
    const found = /^obs-(\d+)-check$/.exec(event.detail.target.id || "");
    if (!found) return;
    const [row, problem] = [found[1], event.detail.target.querySelector(".field-error")];
    if (document.getElementById(`obs-${row}-type`)?.value) clearError(`obs-${row}-type`);
    if (problem) restate(`obs-${row}-value`, problem.textContent.trim());
    else clearError(`obs-${row}-value`);
  });
  // National phone numbers are read in the report's country: a new country, a new check.
  document.addEventListener("change", (event) => {
    if (event.target.id !== "country" || !event.target.form || !window.htmx) return;
    event.target.form.querySelectorAll(".obs-value input").forEach((input) => {
      if (input.value.trim()) window.htmx.trigger(input, "change");
    });
  });

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
