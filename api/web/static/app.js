"use strict";
// The verification page: send a file or a text to /v1/verify and explain the report.
// No framework, no build step, nothing fetched from outside this server.

const $ = (id) => document.getElementById(id);
let chosenFile = null;
let lastReport = null;

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function row(dl, term, value, cls) {
  if (value === undefined || value === null || value === "") return;
  dl.append(el("dt", term), el("dd", value, cls));
}

function fmtP(p) {
  if (p === null || p === undefined) return "–";
  return p < 1e-4 ? p.toExponential(1) : p.toPrecision(2);
}

function chooseFile(file) {
  if (!file) return;
  chosenFile = file;
  $("text").value = "";
  const img = $("preview");
  img.src = URL.createObjectURL(file);
  img.alt = "The image to check: " + file.name;
  img.hidden = false;
  $("status").textContent = "Ready to check " + file.name + ".";
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function check() {
  const text = $("text").value.trim();
  if (!chosenFile && !text) { setStatus("Drop an image or paste a text first.", true); return; }
  const headers = {};
  const key = $("apikey").value.trim() || sessionStorage.getItem("assay-api-key");
  if (key) headers["Authorization"] = "Bearer " + key;
  let body;
  if (text && !chosenFile) { body = text; headers["Content-Type"] = "text/plain; charset=utf-8"; }
  else { body = new FormData(); body.append("file", chosenFile, chosenFile.name); }
  $("check").disabled = true;
  setStatus("Checking…", false);
  try {
    const response = await fetch("/v1/verify", { method: "POST", headers, body });
    const data = await response.json().catch(() => ({ detail: response.statusText }));
    if (response.status === 401 || response.status === 403) {
      sessionStorage.removeItem("assay-api-key");
      $("auth").hidden = false;
      setStatus("This server needs an API key with the verify scope: " + (data.detail || ""), true);
      return;
    }
    if (!response.ok) { setStatus("Could not check this: " + (data.detail || data.title || response.status), true); return; }
    if (key) sessionStorage.setItem("assay-api-key", key);
    setStatus("", false);
    show(data, text && !chosenFile ? text : null);
  } catch (err) {
    setStatus("The server could not be reached: " + err.message, true);
  } finally {
    $("check").disabled = false;
  }
}

function highlight(text, spans) {
  const out = $("highlighted");
  out.replaceChildren();
  let at = 0;
  for (const s of [...spans].sort((a, b) => a.start - b.start)) {
    if (s.start < at) continue;
    out.append(document.createTextNode(text.slice(at, s.start)));
    const m = el("mark", text.slice(s.start, s.end));
    m.title = "watermarked passage, p = " + fmtP(s.p_value);
    out.append(m);
    at = s.end;
  }
  out.append(document.createTextNode(text.slice(at)));
}

function showProvenance(p) {
  const card = $("provenance-card"), dl = $("provenance");
  dl.replaceChildren();
  if (!p) { card.hidden = true; return; }
  card.hidden = false;
  if (p.manifest_present === false) { row(dl, "Manifest", "none in this file"); return; }
  if (p.error) { row(dl, "Manifest", "could not be read: " + p.error, "bad"); return; }
  const state = p.validation_state === "Invalid" ? "fails validation (tampered or damaged)" :
    p.trusted ? "valid, signer trusted" : "valid signature, signer not publicly trusted";
  row(dl, "State", state, p.validation_state === "Invalid" ? "bad" : p.trusted ? "good" : "");
  const signer = p.signer || {};
  row(dl, "Signed by", [signer.common_name, signer.organization].filter(Boolean).join(", ") +
    (p.development_signer ? " (development signer)" : ""));
  row(dl, "Made with", p.claim_generator);
  row(dl, "Source type", (p.digital_source_type || "").split("/").pop());
  row(dl, "Actions", (p.actions || []).map((a) => a.action).join(", "));
  if (p.failures && p.failures.length) row(dl, "Failures", p.failures.join(", "), "bad");
}

function showWatermarks(report, text) {
  const box = $("watermarks");
  box.replaceChildren();
  const marks = report.watermarks || [];
  $("watermark-card").hidden = marks.length === 0;
  for (const w of marks) {
    const hit = w.detected || w.found;
    let line;
    if (w.scheme === "invisible-watermark-dwtdct") {
      if (!w.found) continue;
      line = `Carries the ${w.generator} watermark (${w.matched_bits}/${w.total_bits} bits match).`;
    } else if (hit) {
      line = `Found: key "${w.key_id}" (${w.scheme}), p = ${fmtP(w.p_value)} — the chance of this in unmarked content.`;
      if (w.payload && w.payload.record_id) line += ` Record ${w.payload.record_id}.`;
    } else {
      line = `Not found for key "${w.key_id || "any"}" (${w.verdict}).`;
    }
    box.append(el("p", line, hit ? "bad" : ""));
  }
  let spans = marks.flatMap((w) => w.spans || []);
  const whole = marks.find((w) => w.detected);
  if (!spans.length && whole) spans = [{ start: 0, end: text ? text.length : 0, p_value: whole.p_value }];
  $("marked-note").textContent = spans.length === 1 && whole && spans[0].start === 0 && text && spans[0].end === text.length
    ? "The whole text carries the watermark." : "Highlighted: passages where the watermark is concentrated.";
  $("marked-text").hidden = !(text && spans.length);
  if (text && spans.length) highlight(text, spans);
}

function showRecovered(r) {
  const dl = $("recovered");
  dl.replaceChildren();
  $("recovered-card").hidden = !r;
  if (!r) return;
  row(dl, "Summary", r.summary);
  row(dl, "Signed by", (r.signer || {}).common_name + (r.development_signer ? " (development signer)" : ""));
  row(dl, "Source type", (r.digital_source_type || "").split("/").pop());
  row(dl, "Manifest", r.manifest_id);
}

function show(report, text) {
  lastReport = report;
  $("result").hidden = false;
  const label = $("label");
  label.textContent = report.label;
  label.className = "label " + report.verdict;
  $("verdict-note").textContent = {
    "ai": "Verdict: AI-made (strong evidence).",
    "no-evidence": "Verdict: no evidence of AI origin found.",
    "inconclusive": "Verdict: inconclusive.",
  }[report.verdict] || "";
  const ev = $("evidence");
  ev.replaceChildren(...(report.evidence || []).map((e) => el("li", `${e.summary} (${e.kind}, ${e.strength})`)));
  const dis = report.disagreements || [];
  $("disagreements").hidden = dis.length === 0;
  $("disagreements").textContent = dis.length ? "Signals disagree: " + dis.join("; ") : "";
  showProvenance(report.provenance);
  showWatermarks(report, text);
  showRecovered(report.recovered);
  const ai = report.ai_likelihood;
  $("ai-card").hidden = !ai;
  if (ai) $("ai").textContent = ai.meaning + (ai.classifier_probability != null ?
    ` A trained classifier puts it at ${Math.round(ai.classifier_probability * 100)}% machine-written.` : "");
  $("not-checked").textContent = (report.not_checked || []).length ? "Not checked: " + report.not_checked.join(", ") : "";
  $("result").scrollIntoView({ behavior: "smooth" });
}

function download() {
  if (!lastReport) return;
  const blob = new Blob([JSON.stringify(lastReport, null, 2)], { type: "application/json" });
  const a = el("a");
  a.href = URL.createObjectURL(blob);
  a.download = "assay-report.json";
  document.body.append(a);
  a.click();
  a.remove();
}

document.addEventListener("DOMContentLoaded", () => {
  const drop = $("drop");
  drop.addEventListener("click", (e) => { if (e.target.tagName !== "LABEL") $("file").click(); });
  drop.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") $("file").click(); });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); chooseFile(e.dataTransfer.files[0]); });
  $("file").addEventListener("change", (e) => chooseFile(e.target.files[0]));
  $("text").addEventListener("input", () => {
    if ($("text").value) { chosenFile = null; $("preview").hidden = true; $("file").value = ""; }
  });
  $("check").addEventListener("click", check);
  $("download").addEventListener("click", download);
});
