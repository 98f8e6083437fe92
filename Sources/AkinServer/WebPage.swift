/// The page at `/`: search a collection with an image (picked, dropped or pasted), see the top-k
/// as a grid with label and similarity, "no match" marked under the threshold; with an admin key,
/// add the image with a label. Self-contained: no request leaves the server, nothing is fetched
/// from elsewhere. Hits carry `data-id`, `data-label` and `data-similarity` for programs (and tests).
enum WebPage {
    static let securityPolicy = "default-src 'self'; img-src 'self' data: blob:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'"

    static let html = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Akin — image search</title>
<link rel="icon" href="data:,">
<style>
  :root { font-family: system-ui, sans-serif; color: #1d1d1f; background: #fafafa; }
  body { margin: 0 auto; max-width: 60rem; padding: 1rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .8rem; }
  form, .panel { display: grid; gap: .6rem; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); align-items: end; }
  label { display: grid; gap: .2rem; font-size: .9rem; }
  input, select, button { font: inherit; padding: .45rem; border: 1px solid #999; border-radius: .3rem; background: #fff;
                          box-sizing: border-box; width: 100%; min-width: 0; }
  input[type=file] { width: auto; max-width: 100%; }
  button { background: #0a5bd3; color: #fff; border-color: #0a5bd3; cursor: pointer; }
  button:disabled { background: #999; border-color: #999; }
  :focus-visible { outline: 3px solid #f5a623; outline-offset: 2px; }
  #drop { border: 2px dashed #888; border-radius: .5rem; padding: 1rem; text-align: center; margin: .8rem 0; }
  #drop.over { background: #e8f0fe; }
  #query { height: 7rem; max-width: 100%; object-fit: contain; display: none; margin: .5rem auto 0; image-rendering: pixelated; }
  #status { min-height: 1.4rem; margin: .6rem 0; }
  #status.error { color: #b00020; }
  #verdict.nomatch { color: #b00020; font-weight: 600; }
  #hits { list-style: none; padding: 0; display: grid; gap: .6rem; grid-template-columns: repeat(auto-fill, minmax(8.5rem, 1fr)); }
  .hit { background: #fff; border: 1px solid #ddd; border-radius: .4rem; padding: .4rem; font-size: .85rem; overflow-wrap: anywhere; }
  .hit.below { opacity: .55; }
  .hit img, .hit .noimage { width: 100%; aspect-ratio: 1; object-fit: contain; background: #eee; display: block; }
  .hit .noimage { display: grid; place-items: center; color: #666; font-size: .75rem; }
  .sim { font-variant-numeric: tabular-nums; font-weight: 600; }
  details { margin-top: 1rem; }
</style>
</head>
<body>
<h1>Akin — which images look most like this one</h1>
<form id="search" aria-label="Search">
  <label>Collection <select id="collection" required></select></label>
  <label>Results (k) <input id="k" type="number" min="1" max="100" value="12"></label>
  <label>Only labels (comma-separated) <input id="labels" type="text" autocomplete="off"></label>
  <label>API key (if the server needs one) <input id="key" type="password" autocomplete="off"></label>
</form>
<div id="drop">
  <label for="file">Choose an image, drop one here, or paste one (Ctrl+V)</label><br>
  <input id="file" type="file" accept="image/jpeg,image/png">
  <img id="query" alt="the query image">
</div>
<div class="panel">
  <button id="go" type="button" disabled>Search</button>
</div>
<p id="status" role="status" aria-live="polite"></p>
<p id="verdict"></p>
<ol id="hits" aria-label="Results"></ol>
<details>
  <summary>Add this image to the collection (admin key)</summary>
  <div class="panel">
    <label>Label <input id="newlabel" type="text" autocomplete="off"></label>
    <button id="add" type="button" disabled>Add</button>
  </div>
</details>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
let image = null;
const objectURLs = [];

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const key = $("key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}
function say(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}
async function failure(response) {
  try { const body = await response.json(); return body.detail || response.statusText; } catch (e) { return response.statusText; }
}
async function loadCollections() {
  const response = await fetch("/v1/collections", { headers: headers() });
  if (!response.ok) { say("Cannot list collections: " + await failure(response), true); return; }
  const body = await response.json();
  const select = $("collection");
  const previous = select.value;
  select.textContent = "";
  for (const c of body.collections) {
    const option = document.createElement("option");
    option.value = c.name;
    option.textContent = c.name + " (" + c.items + " items" + (c.model ? ", " + c.model : ", vectors only") + ")";
    option.disabled = !c.model;
    select.appendChild(option);
  }
  const usable = body.collections.filter((c) => c.model);
  if (usable.some((c) => c.name === previous)) select.value = previous;
  else if (usable.length) select.value = usable[0].name;
  if (!usable.length) say("No collection here embeds images: make one for a model first.", true);
  ready();
}
function ready() {
  $("go").disabled = !(image && $("collection").value);
  $("add").disabled = $("go").disabled;
}
function take(file) {
  if (!file || !/^image\/(jpeg|png)$/.test(file.type)) { say("Give a JPEG or PNG image.", true); return; }
  image = file;
  const url = URL.createObjectURL(file);
  $("query").src = url;
  $("query").style.display = "block";
  say("Image ready: " + (file.name || "pasted image") + ".");
  ready();
  search();
}
async function thumbnail(collection, hit) {
  const response = await fetch("/v1/collections/" + collection + "/items/" + hit.id + "/image", { headers: headers() });
  if (!response.ok) return null;
  const url = URL.createObjectURL(await response.blob());
  objectURLs.push(url);
  return url;
}
async function search() {
  if (!image || !$("collection").value) return;
  const collection = $("collection").value;
  const params = new URLSearchParams({ k: String(Math.max(1, Math.min(100, parseInt($("k").value, 10) || 12))) });
  const labels = $("labels").value.split(",").map((s) => s.trim()).filter(Boolean);
  if (labels.length) params.set("label", labels.join(","));
  say("Searching…");
  const response = await fetch("/v1/collections/" + collection + "/search/image?" + params,
                               { method: "POST", headers: headers({ "Content-Type": image.type }), body: image });
  if (!response.ok) { say("Search failed: " + await failure(response), true); return; }
  const result = await response.json();
  while (objectURLs.length) URL.revokeObjectURL(objectURLs.pop());
  const list = $("hits");
  list.textContent = "";
  const verdict = $("verdict");
  if (result.threshold === null) { verdict.textContent = "No threshold is calibrated: every answer counts as a match."; verdict.className = ""; }
  else if (result.match) { verdict.textContent = "Match (best similarity at or above " + result.threshold.toFixed(3) + ")."; verdict.className = "match"; }
  else { verdict.textContent = "No match: the best similarity is below the threshold " + result.threshold.toFixed(3) + "."; verdict.className = "nomatch"; }
  for (const hit of result.hits) {
    const item = document.createElement("li");
    item.className = "hit" + (result.threshold !== null && hit.similarity < result.threshold ? " below" : "");
    item.dataset.id = hit.id;
    item.dataset.label = hit.label;
    item.dataset.similarity = hit.similarity;
    const picture = document.createElement("div");
    picture.className = "noimage";
    picture.textContent = hit.path ? hit.path.split("/").pop() : "#" + hit.id;
    item.appendChild(picture);
    const caption = document.createElement("div");
    const sim = document.createElement("span");
    sim.className = "sim";
    sim.textContent = hit.similarity.toFixed(3);
    caption.append(sim, " ", hit.label || "(no label)");
    item.appendChild(caption);
    list.appendChild(item);
    // Only images added through the API are kept by the server; other items show their file name.
    if (!hit.path.startsWith(collection + ".images/")) continue;
    thumbnail(collection, hit).then((url) => {
      if (!url) return;
      const img = document.createElement("img");
      img.src = url;
      img.alt = hit.label + ", similarity " + hit.similarity.toFixed(3);
      item.replaceChild(img, picture);
    });
  }
  say(result.hits.length + " results from " + collection + ".");
}
async function add() {
  const collection = $("collection").value;
  const params = new URLSearchParams({ label: $("newlabel").value.trim() });
  const response = await fetch("/v1/collections/" + collection + "/items?" + params,
                               { method: "PUT", headers: headers({ "Content-Type": image.type }), body: image });
  if (!response.ok) { say("Adding failed: " + await failure(response), true); return; }
  const body = await response.json();
  say("Added as item " + body.ids[0] + ".");
  loadCollections();
}
$("file").addEventListener("change", (e) => take(e.target.files[0]));
$("go").addEventListener("click", search);
$("add").addEventListener("click", add);
$("collection").addEventListener("change", () => { ready(); search(); });
$("key").addEventListener("change", loadCollections);
$("search").addEventListener("submit", (e) => { e.preventDefault(); search(); });
const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); take(e.dataTransfer.files[0]); });
document.addEventListener("paste", (e) => {
  const file = [...(e.clipboardData || {}).files || []].find((f) => f.type.startsWith("image/"));
  if (file) take(file);
});
loadCollections();
</script>
</body>
</html>
"""#
}
