// RSN maps: the regional map (#map) and the report form's point picker (#point-picker).
// Country shapes are the node's own copy of Natural Earth (world-atlas, ids are ISO 3166
// numeric codes); there is no tile layer, so the browser asks no other host for anything.
// Text from the server is put in the page with textContent, never as HTML.
(function () {
  "use strict";

  const ATLAS = "/static/vendor/world-atlas-2.0.2-countries-50m.json";
  const LEVEL = { low: "#d1fae5", moderate: "#fde68a", elevated: "#fdba74", high: "#f87171" };
  const REGION = "/map/region.json";
  const SEVERITY = { low: "#4a7c59", medium: "#b7791f", high: "#c2410c", critical: "#9b1c1c" };
  const SHADES = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
  const ZERO = "#f7fbff";
  const OUTSIDE = "#e5e7eb";
  const atlases = {};

  // ---------------------------------------------------------------- shared helpers

  function shapes(url) {
    if (!atlases[url]) {
      atlases[url] = fetchJson(url).then((topo) => topojson.feature(topo, topo.objects.countries).features);
    }
    return atlases[url];
  }

  async function fetchJson(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`${url} answered ${response.status}`);
    return response.json();
  }

  function element(tag, text, attrs) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
    return node;
  }

  function baseMap(el) {
    const map = L.map(el, { zoomSnap: 0.25, minZoom: 2, maxZoom: 10, fadeAnimation: false });
    map.attributionControl.setPrefix("Leaflet");
    map.attributionControl.addAttribution("Natural Earth");
    map.setView([20, 90], 3);
    return map;
  }

  function fitTo(map, features, numerics) {
    const chosen = features.filter((f) => numerics.has(f.id));
    if (chosen.length) map.fitBounds(L.geoJSON(chosen).getBounds(), { padding: [8, 8] });
  }

  // ---------------------------------------------------------------- the regional map

  // Up to five classes of equal width up to the largest count, so a legend can name them.
  function classes(max) {
    const out = [];
    let low = 1;
    for (let i = 1; i <= 5 && low <= max; i += 1) {
      const high = Math.max(low, Math.ceil((max * i) / 5));
      out.push({ low, high, colour: "" });
      low = high + 1;
    }
    const step = SHADES.length / Math.max(out.length, 1);
    out.forEach((c, i) => { c.colour = SHADES[Math.min(SHADES.length - 1, Math.floor(step * (i + 1)) - 1)]; });
    return out;
  }

  function shade(count, scale) {
    if (!count) return ZERO;
    const found = scale.find((c) => count <= c.high);
    return found ? found.colour : SHADES[SHADES.length - 1];
  }

  // The legend sits under the map, not on it: on a phone it would hide half the region.
  function drawLegend(box, scale) {
    if (!box) return;
    const group = (title) => {
      const part = element("div", null, { class: "legend-group" });
      part.append(element("strong", title));
      box.append(part);
      return part;
    };
    const swatch = (part, colour, label, round) => {
      const item = element("span", null, { class: "legend-item" });
      const mark = element("i", null, { class: round ? "round" : "" });
      mark.style.background = colour;
      item.append(mark, label);
      part.append(item);
    };
    box.replaceChildren();
    const counts = group("Reports shared with you");
    swatch(counts, ZERO, "none");
    scale.forEach((c) => swatch(counts, c.colour, c.low === c.high ? `${c.low}` : `${c.low}–${c.high}`));
    swatch(counts, OUTSIDE, "outside the region");
    const severity = group("Severity of located reports and open alerts (ringed)");
    Object.entries(SEVERITY).forEach(([name, colour]) => swatch(severity, colour, name, true));
    const seas = group("Maritime threat level");
    Object.entries(LEVEL).forEach(([name, colour]) => swatch(seas, colour, name));
  }

  function countryText(country) {
    const n = country.count;
    return `${country.name}: ${n} report${n === 1 ? "" : "s"}`;
  }

  function memberLayer(feature, layer, state) {
    layer.bindTooltip(() => element("span", countryText(state.byNumeric[feature.id])), { sticky: true });
    const open = () => {
      const country = state.byNumeric[feature.id];
      if (country) window.location.href = country.url;
    };
    layer.on("click", open);
    layer.on("add", () => {
      const path = layer.getElement();
      if (!path) return;
      path.setAttribute("tabindex", "0");
      path.setAttribute("role", "link");
      path.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); open(); }
      });
      state.paths[feature.id] = path;
    });
  }

  function drawCountries(map, features, state) {
    const style = (feature) => {
      const country = state.byNumeric[feature.id];
      if (!country || !country.member) {
        return { fillColor: OUTSIDE, fillOpacity: 1, color: "#b8c0c8", weight: 0.6, className: "country", interactive: false };
      }
      return {
        fillColor: shade(country.count, state.scale), fillOpacity: 1, color: "#334155", weight: 1.2,
        className: `country member country-${country.code}`,
      };
    };
    return L.geoJSON(features, {
      style,
      onEachFeature: (feature, layer) => {
        const country = state.byNumeric[feature.id];
        if (country && country.member) memberLayer(feature, layer, state);
      },
    }).addTo(map);
  }

  function popup(point) {
    const box = element("div", null, { class: "map-popup" });
    box.append(element("strong", point.title), element("br"));
    box.append(element("span", `${point.severity} · ${point.country} · ${point.occurred_at.slice(0, 10)}`));
    box.append(element("br"), element("a", "Open the report", { href: point.url }));
    return box;
  }

  function drawPoints(layer, points) {
    layer.clearLayers();
    points.forEach((p) => {
      L.circleMarker([p.lat, p.lon], {
        radius: 6, color: "#ffffff", weight: 1.5, fillColor: SEVERITY[p.severity] || "#475569", fillOpacity: 0.95,
        className: `point sev-point-${p.severity}`,
      }).bindPopup(() => popup(p)).addTo(layer);
    });
  }

  function fillTable(data) {
    const body = document.querySelector("#map-counts tbody");
    if (!body) return;
    body.replaceChildren(...data.countries.map((c) => {
      const row = element("tr", null, { "data-code": c.code, "data-count": String(c.count) });
      const name = element("td", `${c.name} `);
      name.append(element("small", c.member ? c.code : `${c.code} · outside the region`, { class: "muted" }));
      const link = element("td");
      if (c.count) link.append(element("a", `Open ${c.count} report${c.count === 1 ? "" : "s"} in ${c.name}`, { href: c.url }));
      else link.append(element("span", "none", { class: "muted" }));
      row.append(name, element("td", c.count), link);
      return row;
    }));
    const all = document.getElementById("map-list");
    const total = Object.values(data.counts).reduce((a, b) => a + b, 0);
    if (all) { all.href = data.list_url; all.textContent = `All ${total} reports in this window`; }
    return total;
  }

  function describe(data, total) {
    const shown = data.points.length;
    const capped = data.points_capped ? ` (the newest ${data.max_points})` : "";
    return `${total} reports since ${data.since_date}; ${shown} located report${shown === 1 ? "" : "s"} shown${capped}.`;
  }

  // ---------------------------------------------------------------- alerts and seas

  function centreOf(layer) {
    return layer.getBounds().getCenter();
  }

  // Sea areas shaded by their maritime threat level, and a marker for each open alert in
  // each country (or sea) it names. Tooltips are built as DOM nodes: server text is
  // never parsed as HTML.
  function drawLayers(group, data, features) {
    group.clearLayers();
    const seaLayers = {};
    data.seas.forEach((sea) => {
      const ring = sea.ring.map(([x, y]) => [y, x]);
      const shape = L.polygon(ring, {
        color: "#1e3a8a", weight: 1, dashArray: "4 3",
        fillColor: LEVEL[sea.level] || LEVEL.low, fillOpacity: 0.45,
      });
      const tip = element("div");
      tip.append(element("strong", sea.name), element("div", `Threat level: ${sea.level} (${sea.count} incident${sea.count === 1 ? "" : "s"}; approximate shape)`));
      shape.bindTooltip(tip, { sticky: true });
      shape.addTo(group);
      seaLayers[sea.name] = shape;
    });
    const byNumeric = {};
    features.forEach((f) => { byNumeric[f.id] = f; });
    data.alerts.forEach((alert) => {
      const places = [];
      if (alert.sea && seaLayers[alert.sea]) places.push(centreOf(seaLayers[alert.sea]));
      alert.countries.forEach((c) => {
        const feature = c.numeric && byNumeric[c.numeric];
        if (feature) places.push(centreOf(L.geoJSON(feature)));
      });
      places.forEach((where) => {
        const marker = L.circleMarker(where, {
          radius: 9, color: "#111827", weight: 2, fillColor: SEVERITY[alert.severity] || SEVERITY.medium, fillOpacity: 0.9,
        });
        const tip = element("div");
        tip.append(element("strong", `Alert: ${alert.title}`), element("div", `${alert.rule} · ${alert.severity} · ${alert.status}`));
        marker.bindTooltip(tip);
        marker.on("click", () => { window.location.href = alert.url; });
        marker.addTo(group);
      });
    });
    fillLayerTables(data);
  }

  function fillLayerTables(data) {
    const alertsBody = document.querySelector("#map-alerts tbody");
    if (alertsBody) {
      alertsBody.replaceChildren();
      data.alerts.forEach((alert) => {
        const row = element("tr");
        const link = element("a", alert.title, { href: alert.url });
        const cell = element("td");
        cell.append(link);
        const where = alert.sea || alert.countries.map((c) => c.code).join(", ");
        row.append(cell, element("td", alert.severity), element("td", where));
        alertsBody.append(row);
      });
      if (!data.alerts.length) {
        const row = element("tr");
        row.append(element("td", "No open alert over reports you may read.", { colspan: "3" }));
        alertsBody.append(row);
      }
    }
    const seasBody = document.querySelector("#map-seas tbody");
    if (seasBody) {
      seasBody.replaceChildren();
      data.seas.forEach((sea) => {
        const row = element("tr", null, { "data-sea": sea.name, "data-level": sea.level });
        row.append(element("td", sea.name), element("td", sea.level), element("td", sea.count), element("td", sea.reasons.join(" ")));
        seasBody.append(row);
      });
    }
  }

  async function regionalMap(el) {
    const form = document.getElementById("map-filters");
    const status = document.getElementById("map-status");
    const map = baseMap(el);
    const state = { byNumeric: {}, paths: {}, scale: [] };
    const features = await shapes(el.dataset.atlas || ATLAS);
    let countries = null;
    const points = L.layerGroup();
    const overlays = L.layerGroup();

    async function refresh(params) {
      if (status) status.textContent = "Loading the map…";
      const data = await fetchJson(`${el.dataset.src}?${params}`);
      state.byNumeric = {};
      data.countries.forEach((c) => { if (c.numeric) state.byNumeric[c.numeric] = c; });
      state.scale = classes(Math.max(0, ...data.countries.filter((c) => c.member).map((c) => c.count)));
      if (!countries) {
        countries = drawCountries(map, features, state);
        points.addTo(map);
        const members = data.countries.filter((c) => c.member).map((c) => c.numeric);
        fitTo(map, features, new Set(members.length ? members : Object.keys(state.byNumeric)));
      } else {
        countries.eachLayer((layer) => countries.resetStyle(layer));
      }
      Object.entries(state.paths).forEach(([numeric, path]) => {
        path.setAttribute("aria-label", countryText(state.byNumeric[numeric]));
      });
      drawPoints(points, data.points);
      drawLegend(document.getElementById("map-legend"), state.scale);
      const total = fillTable(data);
      if (status) status.textContent = describe(data, total);
      if (el.dataset.layers) {
        const days = new URLSearchParams(params).get("days");
        const layers = await fetchJson(`${el.dataset.layers}${days ? `?days=${days}` : ""}`);
        if (!map.hasLayer(overlays)) overlays.addTo(map);
        drawLayers(overlays, layers, features);
        points.eachLayer((layer) => layer.bringToFront());
      }
    }

    const current = () => {
      const params = new URLSearchParams();
      for (const [name, value] of new FormData(form)) if (value) params.append(name, value);
      return params.toString();
    };
    const apply = (event) => {
      if (event) event.preventDefault();
      const params = current();
      window.history.replaceState(null, "", `/map?${params}`);
      refresh(params).catch((error) => failed(status, error));
    };
    if (form) {
      form.addEventListener("submit", apply);
      form.addEventListener("change", () => apply());
    }
    await refresh(form ? current() : "");
  }

  function failed(status, error) {
    if (status) status.textContent = `The map could not be drawn (${error.message}); the table below lists the counts.`;
  }

  // ---------------------------------------------------------------- the point picker

  function pickerClear(el, setPoint) {
    const button = element("button", "Clear the point", { type: "button", class: "picker-clear" });
    button.addEventListener("click", () => setPoint(null));
    el.insertAdjacentElement("afterend", button);
  }

  async function pointPicker(el) {
    const lat = document.getElementById(el.dataset.latInput);
    const lon = document.getElementById(el.dataset.lonInput);
    if (!lat || !lon) return;
    const map = baseMap(el);
    let marker = null;
    const show = (latlng) => {
      if (marker) { marker.remove(); marker = null; }
      if (latlng) marker = L.circleMarker(latlng, { radius: 7, color: "#ffffff", weight: 2, fillColor: "#0b62a4", fillOpacity: 1, interactive: false }).addTo(map);
    };
    const fromInputs = () => {
      const y = parseFloat(lat.value), x = parseFloat(lon.value);
      show(Number.isFinite(y) && Number.isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180 ? [y, x] : null);
    };
    const setPoint = (latlng) => {
      lat.value = latlng ? latlng.lat.toFixed(4) : "";
      lon.value = latlng ? latlng.lng.toFixed(4) : "";
      [lat, lon].forEach((input) => {
        input.dispatchEvent(new Event("input", { bubbles: true }));
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
      show(latlng);
    };
    map.on("click", (event) => setPoint(event.latlng.wrap()));
    [lat, lon].forEach((input) => input.addEventListener("change", fromInputs));
    pickerClear(el, setPoint);
    const [features, region] = await Promise.all([
      shapes(el.dataset.atlas || ATLAS),
      fetchJson(el.dataset.regionSrc || REGION).catch(() => ({ countries: [] })),
    ]);
    const members = new Set(region.countries.map((c) => c.numeric).filter(Boolean));
    L.geoJSON(features, {
      interactive: false,
      style: (f) => (members.has(f.id)
        ? { fillColor: "#dbeafe", fillOpacity: 1, color: "#334155", weight: 1 }
        : { fillColor: OUTSIDE, fillOpacity: 1, color: "#b8c0c8", weight: 0.6 }),
    }).addTo(map);
    fitTo(map, features, members);
    fromInputs();
    if (marker) marker.bringToFront();
  }

  // ---------------------------------------------------------------- start

  function start() {
    if (typeof L === "undefined" || typeof topojson === "undefined") return;
    const regional = document.getElementById("map");
    if (regional && regional.dataset.src) {
      regionalMap(regional).catch((error) => failed(document.getElementById("map-status"), error));
    }
    const picker = document.getElementById("point-picker");
    if (picker) pointPicker(picker).catch(() => picker.setAttribute("hidden", ""));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
