// The belt screen: one EventSource on /events; every text comes translated from the server.
// Served inline in the page's head (``beltview._page``), with the state it was served at
// (in the head: the body's text is only what the patient reads).
// EventSource reconnects by itself; while it cannot, the "waiting for the treadmill" cover
// shows. No controls: this page only reads.
"use strict";
const $ = (id) => document.getElementById(id);
// no shape for a heart rate not found: its words say it ("?" beside a number read as one)
const SHAPES = { below: "▼", in: "●", above: "▲", missing: "" };
const VERDICTS = ["below", "in", "above"];

// a running clock or countdown is m:ss (3:05), as on the console; an amount of time told
// after the fact comes from the server as "5 min 3 s" (i18n.format_duration)
function mmss(s) {
  if (s === null || s === undefined) return "-:--";
  const m = Math.floor(s / 60), r = s % 60;
  return String(m) + ":" + String(r).padStart(2, "0");
}

function waiting(on) {
  document.body.classList.toggle("waiting", on);
  $("waiting").classList.toggle("hidden", !on);
}

// A stream that drops while the page shows a session (a loaded service, a reconnect) keeps
// the last screen for COVER_AFTER_MS before the grey "waiting" cover; after a stop by the
// board, the e-stop or the key (latched: a person re-arms the belt) its calm line stays, never
// the cover: it is still true, and a grey "waiting" screen read as broken (the trial).
const COVER_AFTER_MS = 3000;
let last = null, coverTimer = null;

function lost() {
  if (coverTimer !== null || (last && last.stopped)) return;
  coverTimer = setTimeout(() => { coverTimer = null; waiting(true); },
                          last ? COVER_AFTER_MS : 0);
}

function list(ul, texts) {
  ul.replaceChildren(...(texts || []).map((t) => {
    const li = document.createElement("li");
    li.textContent = t;
    return li;
  }));
}

function timeline(t) {
  $("timeline").classList.toggle("hidden", !t);
  if (!t) return;
  $("blocks").replaceChildren(...t.blocks.map((b) => {
    const div = document.createElement("div");
    div.className = "block kind-" + b.kind + " at-" + b.at;
    div.style.flex = b.w + " 0 0";
    if (b.at === "now") {
      const fill = document.createElement("div");
      fill.className = "fill";
      fill.style.width = (t.progress * 100) + "%";
      div.append(fill);
    }
    return div;
  }));
  $("timeleft").textContent = t.text;
}

function render(d) {
  clearTimeout(coverTimer);
  coverTimer = null;
  last = d;
  waiting(false);
  document.body.dataset.phase = d.phase;
  $("phase").textContent = d.phase_label;
  $("pseudonym").textContent = d.pseudonym;
  $("countdown").textContent = mmss(d.remaining_s);
  const kind = d.kind || "missing";
  // a heart rate not found shows no number: a greyed dash beside its words
  $("hr").textContent = kind === "missing" ? "–" : d.hr_bpm === null ? "---" : String(d.hr_bpm);
  const heart = $("heart");
  const verdict = VERDICTS.includes(kind);
  heart.className = verdict ? "zone-" + kind : (kind === "missing" ? "missing" : "calm");
  $("shape").textContent = kind in SHAPES ? SHAPES[kind] : "○";
  $("zonetext").textContent = d.zone_text;
  $("target").textContent = d.target_text;
  $("load").textContent = d.load || "";
  timeline(d.timeline);
  $("counter").textContent = d.counter || "";
  $("summary").textContent = d.summary || "";
  $("celebrate").textContent = d.celebrate || "";
  $("celebrate").classList.toggle("hidden", !d.celebrate);
  $("guidance").classList.toggle("hidden", !!d.celebrate);  // the moment has the footer
  const lo = d.zone_low_bpm, hi = d.zone_high_bpm;
  $("band").classList.toggle("hidden", lo === null || hi === null);
  if (lo !== null && hi !== null) {
    const span = Math.max(hi - lo, 1), bottom = lo - span, top = hi + span;
    const pos = (x) => Math.min(Math.max((x - bottom) / (top - bottom), 0), 1) * 100;
    $("bandzone").style.left = pos(lo) + "%";
    $("bandzone").style.width = (pos(hi) - pos(lo)) + "%";
    $("marker").classList.toggle("hidden", d.hr_bpm === null || kind === "missing");
    if (d.hr_bpm !== null) $("marker").style.left = pos(d.hr_bpm) + "%";
  }
  $("guidance").textContent = d.guidance;
  const c = d.change;
  const counting = c && c.in_s <= 3 && c.in_s >= 1;
  // «↑ Båndet blir tyngre om 8 s»: the words and the seconds come translated as one text
  $("coming").textContent = c && !counting ? c.arrow + " " + c.coming : "";
  $("change").classList.toggle("hidden", !counting);
  if (counting) {
    $("changearrow").textContent = c.arrow;
    $("changecount").textContent = String(c.in_s);
    $("changetext").textContent = c.text;
  }
  list($("celebrationlines"), d.celebration);
  const lines = $("masterylines");
  $("mastery").classList.toggle("hidden", !d.mastery);
  $("masterytitle").textContent = d.mastery_title;
  lines.replaceChildren(...(d.mastery || []).map((t) => {
    const li = document.createElement("li");
    li.textContent = t;
    return li;
  }));
}

function connect() {
  const es = new EventSource("/events");
  es.onmessage = (e) => render(JSON.parse(e.data));
  es.onerror = () => {
    lost();
    if (es.readyState === EventSource.CLOSED) setTimeout(connect, 1000);  // a browser gave up
  };
}
// The page comes with the state of the moment it was served (and this script inline), so
// its first paint is the session, never the waiting cover (issue 21: «Venter på
// tredemøllen» on a fresh load while a session ran); the stream carries on from there.
// start() is called at the end of the body (the page's elements are there by then).
function start() {
  try {
    const first = JSON.parse($("state").textContent || "null");
    if (first && first.phase !== undefined) render(first);
  } catch (e) { /* no state with the page: the stream's first document draws it */ }
  connect();
}
