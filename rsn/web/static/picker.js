// Distribution pickers (fieldset.picker): a long checkbox list made searchable from the keyboard.
// The checkboxes stay the form's inputs, so what is posted is what it was without JS. Added here:
// a filter box (type to narrow; Down or Enter reaches the matches), Up/Down between the matches,
// Enter or Space to tick one, Escape back to the filter, and the chosen shown as removable chips.
(() => {
  const visible = (box) => [...box.querySelectorAll(".check:not([hidden]) input")];
  const labelOf = (input) => input.labels[0].firstChild.textContent.trim();

  const enhance = (picker, n) => {
    const box = picker.querySelector(".picker-options");
    const noun = picker.dataset.noun;
    const filterId = `picker-${n}-filter`;
    box.id = `picker-${n}-options`;
    const tools = document.createElement("div");
    tools.className = "picker-tools";
    tools.innerHTML = `<ul class="picker-chips" aria-label="Chosen ${noun}"></ul>
      <label for="${filterId}" class="picker-label">Find ${noun}</label>
      <input id="${filterId}" type="search" class="picker-filter" autocomplete="off" spellcheck="false"
             aria-controls="${box.id}" aria-describedby="picker-${n}-status">
      <p class="hint" id="picker-${n}-status" aria-live="polite"></p>`;
    picker.insertBefore(tools, box);
    const [chips, filter, status] = ["ul", "input", "p"].map((tag) => tools.querySelector(tag));

    const narrow = () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      box.querySelectorAll(".check").forEach((row) => {
        const text = row.textContent.toLowerCase();
        row.hidden = !words.every((word) => text.includes(word));
        row.classList.remove("first");
      });
      const shown = visible(box);
      if (words.length && shown.length) shown[0].closest(".check").classList.add("first");
      status.textContent = !words.length ? ""
        : shown.length ? `${shown.length} ${shown.length === 1 ? "match" : "matches"}; `
          + `Enter ticks ${labelOf(shown[0])}, Down goes to the list.`
        : `No ${noun} match “${filter.value}”.`;
    };

    const drawChips = () => {
      chips.replaceChildren(...[...box.querySelectorAll("input:checked")].map((input) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.className = "chip";
        button.textContent = labelOf(input);
        button.setAttribute("aria-label", `Remove ${labelOf(input)}`);
        button.addEventListener("click", () => {
          input.click();
          filter.focus();
        });
        item.appendChild(button);
        return item;
      }));
    };

    filter.addEventListener("input", narrow);
    filter.addEventListener("change", (event) => event.stopPropagation()); // not a choice
    filter.addEventListener("keydown", (event) => {
      const shown = visible(box);
      if (event.key === "Enter") {
        event.preventDefault(); // never submit the report from the filter box
        if (filter.value.trim() && shown.length) {
          shown[0].click();
          filter.value = "";
          narrow();
        }
      } else if (event.key === "ArrowDown" && shown.length) {
        event.preventDefault();
        shown[0].focus();
      } else if (event.key === "Escape" && filter.value) {
        event.preventDefault();
        filter.value = "";
        narrow();
      }
    });
    box.addEventListener("keydown", (event) => {
      const shown = visible(box);
      const at = shown.indexOf(event.target);
      if (at < 0) return;
      if (event.key === "Enter") {
        event.preventDefault();
        event.target.click();
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        const next = at + (event.key === "ArrowDown" ? 1 : -1);
        (next < 0 ? filter : shown[Math.min(next, shown.length - 1)]).focus();
      } else if (event.key === "Escape") {
        event.preventDefault();
        filter.focus();
      }
    });
    box.addEventListener("change", drawChips);
    picker.classList.add("enhanced");
    drawChips();
  };

  document.querySelectorAll("fieldset.picker").forEach(enhance);
})();
