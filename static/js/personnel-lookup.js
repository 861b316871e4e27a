// Type-ahead for the issue form: find health personnel by HPR number or name, and suggest
// the municipality from the register. Plain progressive enhancement: without JavaScript the
// form still takes an HPR number and validates it on the server.
(function () {
  const input = document.getElementById("id_hpr_number");
  const municipality = document.getElementById("id_municipality_number");
  const status = document.getElementById("personnel-lookup-status");
  if (!input || !input.dataset.lookupUrl) return;
  const list = document.createElement("datalist");
  list.id = "hpr-suggestions";
  input.after(list);
  input.setAttribute("list", list.id);
  input.setAttribute("autocomplete", "off");
  let found = [];
  let timer = null;

  function describe(p) {
    return p.name + " – " + p.profession + ", " + p.municipality_number + " " + p.municipality;
  }

  async function lookup(term) {
    const response = await fetch(input.dataset.lookupUrl + "?q=" + encodeURIComponent(term), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (!response.ok) return;
    found = (await response.json()).results;
    list.replaceChildren(
      ...found.map((p) => {
        const option = document.createElement("option");
        option.value = p.hpr;
        option.label = describe(p);
        option.textContent = describe(p);
        return option;
      })
    );
    if (status) status.textContent = found.length ? status.dataset.found.replace("%s", found.length) : status.dataset.none;
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    const term = input.value.trim();
    if (term.length < 2) return;
    timer = setTimeout(() => lookup(term), 200);
    const match = found.find((p) => p.hpr === term);
    if (match && municipality && !municipality.value) {
      municipality.value = match.municipality_number;
      if (status) status.textContent = status.dataset.suggested.replace("%s", describe(match));
    }
  });
})();
