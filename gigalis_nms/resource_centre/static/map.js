// The public map of Gigalis: draws the public API's GeoJSON as SVG, with no library, no
// tile server and nothing fetched from anywhere but this server (the page's
// Content-Security-Policy allows only 'self').
//
// Projection: equirectangular scaled by cos(latitude) at the region's middle latitude.
// Over the 2.5° of latitude the Pays de la Loire spans, shapes are off by under 2 % — well
// within what a regional overview needs; distances are never measured on the map.
"use strict";

(() => {
  const API = "/api/v1/public";
  const SVG_NS = "http://www.w3.org/2000/svg";
  const STATUSES = ["identified", "studied", "planned", "connected"];
  const UNIT = 1000; // SVG units per degree of latitude
  const RADIUS = { pop: 5, need: 3.2 }; // on-screen pixels, kept whatever the zoom

  const svg = document.getElementById("map");
  const tooltip = document.getElementById("tooltip");
  const statusBox = document.getElementById("status");
  const failures = [];
  const features = new Map(); // "layer:id" → properties, for tooltips and details
  let project = null;
  let home = null; // the whole region, with a margin: {x, y, w, h} in SVG units
  let view = null; // the current viewBox
  let atHome = true; // not panned or zoomed since the region was last shown whole

  // A blocked resource would mean the page tried to load something outside this server.
  let violations = 0;
  document.addEventListener("securitypolicyviolation", () => {
    violations += 1;
    document.body.dataset.cspViolations = String(violations);
  });

  function element(name, attributes, parent) {
    const made = document.createElementNS(SVG_NS, name);
    for (const [key, value] of Object.entries(attributes)) made.setAttribute(key, value);
    if (parent) parent.appendChild(made);
    return made;
  }

  function layer(name) {
    return element("g", { id: `layer-${name}`, "data-layer": name }, svg);
  }

  // Layers in drawing order: areas first, points last so they stay clickable, the network
  // sites (few, and what the map is about) above the sites needing THD.
  const layers = {};
  for (const name of ["communes", "departements", "cables", "sites", "pops"]) {
    layers[name] = layer(name);
  }

  // --- loading ------------------------------------------------------------------------------

  // Every page of a collection; ``next`` is followed by its path only, on this server.
  async function fetchAll(path, key) {
    const items = [];
    let url = `${API}${path}${path.includes("?") ? "&" : "?"}limit=0`;
    let total = 0;
    while (url) {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const page = await response.json();
      items.push(...page[key]);
      total = page.count;
      url = page.next ? sameOrigin(page.next) : null;
    }
    return { items, total };
  }

  function sameOrigin(absolute) {
    const parsed = new URL(absolute, window.location.href);
    return parsed.pathname + parsed.search;
  }

  async function load(name, path, key) {
    try {
      return await fetchAll(path, key);
    } catch (error) {
      failures.push(`${name}: ${error.message}`);
      return null;
    }
  }

  function reportFailures() {
    if (failures.length === 0) return;
    statusBox.hidden = false;
    statusBox.textContent =
      `Some data failed to load, the map is incomplete — ${failures.join("; ")}. ` +
      "Reload the page to try again.";
  }

  // --- projection and geometry --------------------------------------------------------------

  function projection(bounds) {
    const middle = (bounds.south + bounds.north) / 2;
    const scale = Math.cos((middle * Math.PI) / 180);
    return ([longitude, latitude]) => [
      (longitude - bounds.west) * scale * UNIT,
      (bounds.north - latitude) * UNIT,
    ];
  }

  function boundsOf(collections) {
    const bounds = { west: 180, east: -180, south: 90, north: -90 };
    const visit = (coordinates) => {
      if (typeof coordinates[0] === "number") {
        bounds.west = Math.min(bounds.west, coordinates[0]);
        bounds.east = Math.max(bounds.east, coordinates[0]);
        bounds.south = Math.min(bounds.south, coordinates[1]);
        bounds.north = Math.max(bounds.north, coordinates[1]);
      } else {
        coordinates.forEach(visit);
      }
    };
    for (const items of collections) for (const feature of items) visit(feature.geometry.coordinates);
    return bounds.west <= bounds.east ? bounds : { west: -2.6, east: 0.95, south: 46.25, north: 48.6 };
  }

  function ring(points) {
    return points.map((p, i) => `${i ? "L" : "M"}${project(p).map((v) => v.toFixed(1)).join(",")}`).join("") + "Z";
  }

  function pathOf(geometry) {
    switch (geometry.type) {
      case "Polygon":
        return geometry.coordinates.map(ring).join("");
      case "MultiPolygon":
        return geometry.coordinates.map((polygon) => polygon.map(ring).join("")).join("");
      case "LineString":
        return geometry.coordinates
          .map((p, i) => `${i ? "L" : "M"}${project(p).map((v) => v.toFixed(1)).join(",")}`)
          .join("");
      default:
        return "";
    }
  }

  // --- drawing ------------------------------------------------------------------------------

  function remember(layerName, id, title, properties, shape) {
    const key = `${layerName}:${id}`;
    features.set(key, { title, properties });
    shape.setAttribute("data-key", key);
    shape.setAttribute("data-id", String(id));
  }

  function drawCommunes(outlines, services) {
    const byInsee = new Map(services.map((commune) => [commune.insee, commune]));
    for (const feature of outlines) {
      const commune = byInsee.get(feature.properties.insee);
      const offered = commune ? commune.services : [];
      let tone = "none";
      if (offered.includes("ethernet_eline")) tone = "lit";
      else if (offered.includes("dark_fibre") || offered.includes("hosting")) tone = "dark";
      else if (offered.includes("on_study")) tone = "study";
      const shape = element("path", { d: pathOf(feature.geometry), class: `commune ${tone}`, "vector-effect": "non-scaling-stroke" }, layers.communes);
      const properties = commune ? communeFields(commune) : feature.properties;
      remember("communes", feature.id, feature.properties.name, properties, shape);
    }
  }

  function communeFields(commune) {
    const nearest = commune.nearest_pop;
    return {
      insee: commune.insee,
      département: commune.departement,
      population: commune.population,
      services: commune.services.join(", ") || "none yet",
      "network sites": commune.pops.join(", ") || "none",
      "nearest PoP": nearest ? `${nearest.name} (${nearest.code}), ${nearest.distance_km} km` : "none",
      "sites needing THD": STATUSES.map((s) => `${s} ${commune.sites_needing_thd[s]}`).join(", "),
    };
  }

  function drawDepartements(outlines) {
    for (const feature of outlines) {
      element("path", { d: pathOf(feature.geometry), class: "departement", "vector-effect": "non-scaling-stroke", "data-id": feature.id }, layers.departements);
    }
  }

  function drawCables(cables) {
    for (const feature of cables) {
      const p = feature.properties;
      const shape = element("path", { d: pathOf(feature.geometry), class: `cable ${p.status}`, "vector-effect": "non-scaling-stroke" }, layers.cables);
      remember("cables", feature.id, p.code, { status: p.status, "length (km)": p.length_km, ends: p.ends.join(" – "), "simplified (m)": p.simplified_m }, shape);
    }
  }

  function drawPops(pops) {
    for (const feature of pops) {
      const p = feature.properties;
      const [x, y] = project(feature.geometry.coordinates);
      const shape = element("rect", { class: `net-site ${p.kind} ${p.status}`, "data-x": x, "data-y": y, "vector-effect": "non-scaling-stroke" }, layers.pops);
      remember("pops", feature.id, `${p.name} (${p.code})`, { kind: p.kind, status: p.status, commune: p.commune, département: p.departement, services: p.services.join(", ") || "none" }, shape);
    }
  }

  function drawSites(sites) {
    for (const feature of sites) {
      const p = feature.properties;
      const [x, y] = project(feature.geometry.coordinates);
      const shape = element("circle", { cx: x.toFixed(1), cy: y.toFixed(1), class: `need-site ${p.status}`, "vector-effect": "non-scaling-stroke" }, layers.sites);
      const fields = { category: p.category, status: p.status };
      for (const key of ["uai", "finess", "siret", "commune", "departement", "located_by", "identified_on", "studied_on", "planned_on", "connected_on", "nearest_pop", "distance_to_network_m"]) {
        if (p[key] !== null && p[key] !== undefined) fields[key] = p[key];
      }
      remember("sites", feature.id, p.name, fields, shape);
    }
  }

  // Points keep their size on screen: their radius follows the zoom.
  function resizePoints() {
    const perPixel = view.w / Math.max(svg.clientWidth, 1);
    const side = RADIUS.pop * 2 * perPixel;
    for (const shape of layers.pops.children) {
      shape.setAttribute("x", (Number(shape.dataset.x) - side / 2).toFixed(2));
      shape.setAttribute("y", (Number(shape.dataset.y) - side / 2).toFixed(2));
      shape.setAttribute("width", side.toFixed(2));
      shape.setAttribute("height", side.toFixed(2));
    }
    const radius = (RADIUS.need * perPixel).toFixed(2);
    for (const shape of layers.sites.children) shape.setAttribute("r", radius);
  }

  // --- pan and zoom -------------------------------------------------------------------------

  // The viewBox takes the drawing's proportions, so that a screen pixel is the same
  // distance across and down and pans follow the pointer; the centre stays where it was.
  function setView(next) {
    const aspect = svg.clientHeight / Math.max(svg.clientWidth, 1) || next.h / next.w;
    let { w, h } = next;
    if (h / w < aspect) h = w * aspect;
    else w = h / aspect;
    view = { x: next.x + (next.w - w) / 2, y: next.y + (next.h - h) / 2, w, h };
    svg.setAttribute("viewBox", `${view.x} ${view.y} ${view.w} ${view.h}`);
    resizePoints();
  }

  function showHome() {
    atHome = true;
    setView(home);
  }

  function zoom(factor, centre) {
    atHome = false;
    const cx = centre ? centre[0] : view.x + view.w / 2;
    const cy = centre ? centre[1] : view.y + view.h / 2;
    const w = Math.min(Math.max(view.w * factor, home.w / 64), home.w * 2);
    const h = (view.h * w) / view.w;
    setView({ x: cx - ((cx - view.x) * w) / view.w, y: cy - ((cy - view.y) * h) / view.h, w, h });
  }

  function pointAt(event) {
    const box = svg.getBoundingClientRect();
    return [view.x + ((event.clientX - box.left) / box.width) * view.w, view.y + ((event.clientY - box.top) / box.height) * view.h];
  }

  function enablePanAndZoom() {
    // The pointer is captured only once it has moved: a click stays on the shape under it.
    let drag = null;
    let dragged = false; // the click that ends a drag must not select
    svg.addEventListener("pointerdown", (event) => {
      drag = { x: event.clientX, y: event.clientY, view, moved: false, pointer: event.pointerId };
      dragged = false;
    });
    svg.addEventListener("pointermove", (event) => {
      if (!drag) return;
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      if (!drag.moved) {
        if (Math.abs(dx) + Math.abs(dy) <= 3) return;
        drag.moved = true;
        atHome = false;
        try {
          svg.setPointerCapture(drag.pointer); // keep the drag when the pointer leaves the map
        } catch (error) {
          // a pointer the browser no longer tracks: the drag goes on without capture
        }
        svg.classList.add("dragging");
      }
      const scale = view.w / svg.getBoundingClientRect().width;
      setView({ ...drag.view, x: drag.view.x - dx * scale, y: drag.view.y - dy * scale });
    });
    const end = () => {
      dragged = Boolean(drag && drag.moved);
      drag = null;
      svg.classList.remove("dragging");
    };
    svg.addEventListener("pointerup", end);
    svg.addEventListener("pointercancel", end);
    svg.addEventListener("wheel", (event) => {
      event.preventDefault();
      zoom(event.deltaY > 0 ? 1.25 : 0.8, pointAt(event));
    }, { passive: false });
    document.getElementById("zoom-in").addEventListener("click", () => zoom(0.67));
    document.getElementById("zoom-out").addEventListener("click", () => zoom(1.5));
    document.getElementById("zoom-reset").addEventListener("click", showHome);
    // The page's layout may settle after the first drawing, and windows get resized: the
    // region stays whole on screen until the user moves it.
    new ResizeObserver(() => (atHome ? showHome() : setView(view))).observe(svg);
    svg.addEventListener("click", (event) => {
      if (dragged) return;
      select(event.target.closest("[data-key]"));
    });
  }

  // --- tooltip, details, layers -------------------------------------------------------------

  function enableTooltip() {
    svg.addEventListener("mousemove", (event) => {
      const shape = event.target.closest("[data-key]");
      if (!shape) { tooltip.hidden = true; return; }
      const box = svg.getBoundingClientRect();
      tooltip.textContent = features.get(shape.dataset.key).title;
      tooltip.style.left = `${event.clientX - box.left + 12}px`;
      tooltip.style.top = `${event.clientY - box.top + 12}px`;
      tooltip.hidden = false;
    });
    svg.addEventListener("mouseleave", () => { tooltip.hidden = true; });
  }

  function select(shape) {
    for (const old of svg.querySelectorAll(".selected")) old.classList.remove("selected");
    const list = document.getElementById("details");
    list.replaceChildren();
    document.getElementById("details-hint").hidden = Boolean(shape);
    if (!shape) return;
    shape.classList.add("selected");
    const { title, properties } = features.get(shape.dataset.key);
    const rows = [["name", title], ...Object.entries(properties)];
    for (const [key, value] of rows) {
      const term = document.createElement("dt");
      term.textContent = key;
      const description = document.createElement("dd");
      description.textContent = String(value);
      list.append(term, description);
    }
  }

  function enableLayerToggles() {
    for (const box of document.querySelectorAll("input[data-layer]")) {
      box.addEventListener("change", () => {
        layers[box.dataset.layer].classList.toggle("hidden", !box.checked);
      });
    }
  }

  function showCounts(loaded) {
    const parts = [];
    if (loaded.pops) parts.push(`${loaded.pops.total} network sites`);
    if (loaded.cables) parts.push(`${loaded.cables.total} cable routes`);
    if (loaded.sites) parts.push(`${loaded.sites.total} sites needing THD`);
    if (loaded.services) {
      const lit = loaded.services.items.filter((c) => c.services.includes("ethernet_eline")).length;
      parts.push(`${lit} of ${loaded.services.total} communes with Ethernet`);
    }
    document.getElementById("counts").textContent = parts.join(" · ") || "No data";
    if (loaded.sites) {
      for (const status of STATUSES) {
        const count = loaded.sites.items.filter((f) => f.properties.status === status).length;
        document.querySelector(`[data-count="${status}"]`).textContent = `(${count})`;
      }
    }
  }

  function showOutlineNote(outlines) {
    const first = outlines && outlines.items[0];
    if (!first) return;
    const { precision, source } = first.properties;
    document.getElementById("outline-note").textContent =
      precision === "approximate"
        ? `Commune and département outlines are approximate — ${source}.`
        : `Outlines: ${source}.`;
  }

  // --- start --------------------------------------------------------------------------------

  async function start() {
    const [departements, communes, services, cables, pops, sites] = await Promise.all([
      load("départements", "/boundaries/departements", "features"),
      load("communes", "/boundaries/communes", "features"),
      load("services per commune", "/communes", "results"),
      load("cables", "/cables", "features"),
      load("network sites", "/pops", "features"),
      load("sites needing THD", "/sites", "features"),
    ]);
    const drawn = [departements, communes, cables, pops].filter(Boolean).map((c) => c.items);
    const bounds = boundsOf(drawn);
    project = projection(bounds);
    const [x0, y0] = project([bounds.west, bounds.north]);
    const [x1, y1] = project([bounds.east, bounds.south]);
    const margin = (x1 - x0) * 0.03;
    home = { x: x0 - margin, y: y0 - margin, w: x1 - x0 + 2 * margin, h: y1 - y0 + 2 * margin };
    showHome();

    if (communes) drawCommunes(communes.items, services ? services.items : []);
    if (departements) drawDepartements(departements.items);
    if (cables) drawCables(cables.items);
    if (pops) drawPops(pops.items);
    if (sites) drawSites(sites.items);
    resizePoints();
    showCounts({ cables, pops, sites, services });
    showOutlineNote(communes || departements);
    reportFailures();
    enablePanAndZoom();
    enableTooltip();
    enableLayerToggles();
    document.body.dataset.state = failures.length ? "error" : "ready";
  }

  start().catch((error) => {
    failures.push(`map: ${error.message}`);
    reportFailures();
    document.body.dataset.state = "error";
  });
})();
