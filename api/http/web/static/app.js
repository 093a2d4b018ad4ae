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
  img.hidden = !file.type.startsWith("image/");
  if (!img.hidden) { img.src = URL.createObjectURL(file); img.alt = "The image to check: " + file.name; }
  $("status").textContent = "Ready to check " + file.name + ".";
}

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function check() {
  // Sent exactly as pasted: signed text credentials bind every character, spaces included.
  const text = $("text").value;
  if (!chosenFile && !text.trim()) { setStatus("Drop an image or paste a text first.", true); return; }
  const headers = {};
  const key = $("apikey").value.trim() || sessionStorage.getItem("assay-api-key");
  if (key) headers["Authorization"] = "Bearer " + key;
  let body;
  if (text.trim() && !chosenFile) { body = text; headers["Content-Type"] = "text/plain; charset=utf-8"; }
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
    show(data, text.trim() && !chosenFile ? text : null);
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

const MANIFEST_STATE = {
  trusted: ["Intact — the signer is on this server's trust list", "good"],
  valid: ["Intact signature — the signer is not on this server's trust list", ""],
  invalid: ["Tampered or damaged — the file or its credentials changed after signing", "bad"],
  unreadable: ["Present, but cannot be read", "bad"],
};

function signerName(m) {
  const name = (m.signer && m.signer.name) || "an unknown signer";
  return m.development_signer ? name + " (a development signer, for testing)" : name;
}

const unique = (xs) => [...new Set(xs)];
const HARD_BINDING = /^assertion\.(data|bmff|boxes)Hash\.mismatch$/;

function manifestRows(dl, m, recovered) {
  const [state, cls] = MANIFEST_STATE[m.verdict] || [m.verdict, ""];
  row(dl, "State", state, cls);
  if (m.verdict === "unreadable") { row(dl, "Why", m.error); return; }
  row(dl, "Signed by", signerName(m));
  row(dl, "Signed at", m.signed_at || "not attested (no time stamp)");
  row(dl, "Title", m.title);
  row(dl, "Declares", m.source_type ? m.source_type.charAt(0).toUpperCase() + m.source_type.slice(1) : "no source type");
  row(dl, "Actions", (m.actions || []).map((a) => a.in_words + (a.software_agent ? " with " + a.software_agent : "")).join("; "));
  row(dl, "Made with", m.claim_generator);
  // For credentials recovered through the watermark, changed pixels are expected (the file was re-encoded).
  const expected = (f) => recovered && HARD_BINDING.test(f.code);
  const problems = (m.failures || []).filter((f) => f.concerns !== "trust" && !expected(f));
  const trust = (m.failures || []).filter((f) => f.concerns === "trust");
  if (problems.length) row(dl, "Problems", unique(problems.map((f) => f.explanation)).join("; "), "bad");
  if (trust.length) row(dl, "Trust", unique(trust.map((f) => f.explanation)).join("; "));
  row(dl, "Manifest id", m.manifest_id, "code");
}

function showProvenance(p, thing) {
  const card = $("provenance-card"), dl = $("provenance");
  dl.replaceChildren();
  if (!p) { card.hidden = true; return; }
  card.hidden = false;
  if (!p.present) { row(dl, "Credentials", `none in this ${thing}`); return; }
  manifestRows(dl, p, false);
}

function keysTried(n) {
  if (!n) return "this server's keys";
  return n === 1 ? "this server's key" : `any of this server's ${n} keys`;
}

function watermarkLine(w) {
  const name = w.kind === "public" ? `the ${w.generator} watermark` : `the Assay watermark (key "${w.key_id}")`;
  if (w.detected) {
    let line = `Found ${name}. The chance of this in unmarked content is p ${w.p_value_kind === "union-bound" ? "≤" : "="} ${fmtP(w.p_value)}.`;
    if (w.record_id) line += ` Record ${w.record_id}.`;
    else if (w.evidence_unit === "alignments") line += " Its record id could not be read (the sound was changed too much), so the mark does not say which signed record it belongs to.";
    return [line, "found"];
  }
  if (w.verdict === "too-small") return ["Not checked: the image is too small to carry a watermark.", "muted"];
  if (w.verdict === "inconclusive") return ["Not checked: " + (w.reason || "the watermark could not be tested") + ".", "muted"];
  // Under one named key (a text), or under every key of this server's ring (an image: key_id is null).
  const under = w.key_id ? `for key "${w.key_id}"` : `under ${keysTried(w.keys_tried)}`;
  if (w.verdict === "too-short") return [`Not checked ${under}: the ${w.kind === "audio" ? "sound" : "text"} is too short.`, "muted"];
  return [`No Assay watermark found ${under}.`, ""];
}

const clock = (t) => `${Math.floor(t / 60)}:${(t % 60).toFixed(1).padStart(4, "0")}`;

// Where in a sound the mark was found: a bar for the stretch read, the marked stretches filled.
function timeline(w) {
  const spans = w.time_spans || [];
  const wrap = el("div", "", "timeline");
  const bar = el("div", "", "timeline-bar");
  bar.setAttribute("role", "img");
  const said = spans.map((s) => `${clock(s.start)}–${clock(s.end)}`).join(", ");
  bar.setAttribute("aria-label", `Marked: ${said || "throughout"} of the ${clock(w.seconds_read)} read`);
  for (const s of spans) {
    const seg = el("span", "", "timeline-mark");
    seg.style.left = `${(100 * s.start) / w.seconds_read}%`;
    seg.style.width = `${Math.max(0.5, (100 * (s.end - s.start)) / w.seconds_read)}%`;
    seg.title = `marked ${clock(s.start)}–${clock(s.end)}`;
    bar.append(seg);
  }
  const ends = el("div", "", "timeline-ends muted");
  ends.append(el("span", "0:00.0"), el("span", clock(w.seconds_read)));
  const note = spans.length ? `Where the sound carries the mark: ${said} (of the first ${clock(w.seconds_read)} read).`
    : "The mark is spread too thinly to say where it is.";
  wrap.append(el("p", note, "muted"), bar, ends);
  return wrap;
}

function showWatermarks(report, text) {
  const box = $("watermarks");
  box.replaceChildren();
  const marks = (report.watermarks || []).filter((w) => w.kind !== "public" || w.detected);
  $("watermark-card").hidden = marks.length === 0;
  for (const w of marks) {
    const [line, cls] = watermarkLine(w);
    box.append(el("p", line, cls));
    if (w.kind === "audio" && w.detected && w.seconds_read) box.append(timeline(w));
  }
  let spans = marks.flatMap((w) => w.spans || []);
  const whole = marks.find((w) => w.detected && w.kind === "text");
  if (!spans.length && whole) spans = [{ start: 0, end: text ? text.length : 0, p_value: whole.p_value }];
  $("marked-note").textContent = spans.length === 1 && whole && spans[0].start === 0 && text && spans[0].end === text.length
    ? "The whole text carries the watermark." : "Highlighted: passages where the watermark is concentrated.";
  $("marked-text").hidden = !(text && spans.length);
  if (text && spans.length) highlight(text, spans);
}

function showRecovered(r, thing) {
  const dl = $("recovered");
  dl.replaceChildren();
  $("recovered-card").hidden = !r;
  if (!r) return;
  const likeness = r.through === "content-code";
  const [kind, alike] = {
    audio: ["sound", "sounds like a recording"],
    video: ["video", "looks like a video"],
  }[r.content_code] || ["picture", "looks like a picture"];
  $("recovered-intro").textContent = likeness
    ? `The ${thing}'s own credentials were missing and no watermark was found; it ${alike} signed here. A likeness is weaker evidence than a watermark: similar ${kind}s can share a content code.`
    : `The ${thing}'s own credentials were missing; the watermark led to the original signed record.`;
  const bits = Math.round(64 * (1 - (r.similarity || 0)));
  const how = thing === "text"
    ? `Found through the watermark and the text's fingerprint (${Math.round(100 * r.similarity)}% of the signed text is here)`
    : likeness ? `Found through the ${kind}'s content code (ISCC; ${bits} of 64 bits differ)` : "Found through the watermark";
  const changed = thing === "text" ? "the text was edited since signing (expected for a copy)"
    : "the file was re-encoded or edited since signing (expected after sharing)";
  row(dl, "How", `${how}; ${r.hard_binding_matches ? `the ${thing} is unchanged since signing` : changed}.`);
  manifestRows(dl, r.manifest, true);
}

const VERDICT_NOTE = {
  "ai": "Strong evidence of AI origin.",
  "no-evidence": "No evidence of AI origin found. This does not show that a person made it.",
  "inconclusive": "Not decided: see the details below.",
};

function show(report, text) {
  lastReport = report;
  $("result").hidden = false;
  const label = $("label");
  label.textContent = report.label;
  label.className = "label " + (report.tampered ? "tampered" : report.verdict);
  $("verdict-note").textContent = VERDICT_NOTE[report.verdict] || "";
  const ev = $("evidence");
  ev.replaceChildren(...(report.evidence || []).map((e) => el("li", e.summary)));
  const dis = report.disagreements || [];
  $("disagreements").hidden = dis.length === 0;
  $("disagreements").textContent = dis.length ? "Signals disagree: " + dis.join("; ") : "";
  const thing = report.content_type === "text/plain" ? "text" : "file";
  showProvenance(report.provenance, thing);
  showWatermarks(report, text);
  showRecovered(report.recovered, thing);
  const ai = report.ai_likelihood;
  $("ai-card").hidden = !ai;
  if (ai) $("ai").textContent = ai.meaning + (ai.classifier_probability != null ?
    ` A trained classifier puts it at ${Math.round(ai.classifier_probability * 100)}% machine-written.` : "");
  showRules(report);
  $("details").replaceChildren(...(report.details || []).map((d) => el("li", d)));
  $("fb-status").textContent = "";
  $("result").scrollIntoView({ behavior: "smooth" });
}

const RULE_NAMES = {
  "eu-ai-act-art50": "EU AI Act Art. 50",
  "cn-gb-45438-2025": "China GB 45438-2025",
  "ca-sb-942": "California SB 942",
};
const STATUS_WORDS = {
  "meets": "meets", "partial": "partly meets", "does-not-meet": "does not meet", "not-applicable": "does not apply",
};

function showRules(report) {
  const rules = report.compliance || [];
  $("rules-card").hidden = rules.length === 0;
  const body = $("rules").tBodies[0];
  body.replaceChildren(...rules.map((c) => {
    const tr = el("tr");
    const what = el("td");
    what.append(el("div", c.summary));
    for (const m of c.missing) what.append(el("div", "Missing: " + m, "missing"));
    tr.append(el("td", RULE_NAMES[c.regime] || c.regime), el("td", STATUS_WORDS[c.status] || c.status, "status " + c.status), what);
    tr.title = c.basis;
    return tr;
  }));
  $("labels").replaceChildren(...(report.labels || []).map((l) =>
    el("li", l.in_words + (l.valid ? "" : " — not valid: " + l.problems.join("; ")), l.valid ? "" : "invalid")));
}

async function sendFeedback() {
  if (!lastReport) return;
  const comment = $("fb-comment").value.trim();
  if (!comment) { $("fb-status").textContent = "Say in a few words what is wrong."; return; }
  const headers = { "Content-Type": "application/json" };
  const key = $("apikey").value.trim() || sessionStorage.getItem("assay-api-key");
  if (key) headers["Authorization"] = "Bearer " + key;
  const body = JSON.stringify({
    content_sha256: lastReport.content_sha256, verdict_seen: lastReport.verdict, topic: $("fb-topic").value, comment,
  });
  try {
    const response = await fetch("/v1/feedback", { method: "POST", headers, body });
    const data = await response.json().catch(() => ({}));
    $("fb-status").textContent = response.ok ? "Thank you: your feedback was kept." : "Not sent: " + (data.detail || response.status);
    if (response.ok) $("fb-comment").value = "";
  } catch (err) {
    $("fb-status").textContent = "The server could not be reached: " + err.message;
  }
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
  $("fb-send").addEventListener("click", sendFeedback);
});
