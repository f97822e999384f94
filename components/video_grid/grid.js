// Kling Lab synchronized comparison grid: a Custom Components v2 inline module.
// review.js (comments, statuses, reviewers' picks) is joined after this file into the one module.
//
// Streamlit calls the default export again every time `data` changes (each status refresh),
// always with the same parentElement (our ShadowRoot). So all state lives in one Grid object per
// parentElement; a call only diffs the clips into the existing cells. <video> elements are never
// recreated for an unchanged URL, which is what keeps playback running across reruns.
//
// Sync model: one transport for all clips. The longest ready clip is the leader and is the clock;
// a frame loop nudges every follower's playbackRate toward the leader (small drift) or seeks it
// (large drift). Starting, user seeks, looping and buffering stalls go through a barrier: pause
// everything, seek, wait until every clip can play, then start them together (see resync).

const FRAME = 1 / 24; // the lab renders at 24 fps; frame step and scrubber step use it
const HARD_DRIFT = 0.15; // s: beyond this a follower seeks instead of being nudged
const SOFT_DRIFT = 0.006; // s: dead band, so rates are not touched for jitter
const NUDGE_GAIN = 6; // relative rate change per second of drift (20 ms off -> 12 % faster)
const MAX_NUDGE = 0.4; // muted followers: recover a stall in a few frames (nobody hears them)
const MAX_NUDGE_HEARD = 0.08; // the soloed follower: keep tempo changes subtle
const REST_NUDGE = 0.004; // the soloed follower idles at base ± 0.4 % (see nudgeFor)
const UI_EVERY_MS = 100; // scrubber/time text refresh while playing; the sync math runs every frame
const END_EPS = 0.05; // s: "at the end" tolerance for clips shorter than the timeline
const WAIT_MS = 4000; // barrier patience per clip before starting without it
const RESYNC_COOLDOWN_MS = 1000; // ignore 'waiting' right after a barrier (start-up stalls)
const START_WAIT_MS = 400; // start silent clips anyway if a clip with sound is this slow to move

// Icons are constant markup (never built from data), sized by the button's font.
const svg = (body) => `<svg viewBox="0 0 24 24" width="1.1em" height="1.1em" aria-hidden="true" focusable="false">${body}</svg>`;
const WAVES = '<path d="M16 8.5a5 5 0 0 1 0 7M18.5 6a8.5 8.5 0 0 1 0 12" stroke="currentColor" stroke-width="2" fill="none"/>';
const ICON = {
  play: svg('<path d="M7 5v14l12-7z" fill="currentColor"/>'),
  pause: svg('<path d="M6 5h4v14H6zM14 5h4v14h-4z" fill="currentColor"/>'),
  muted: svg('<path d="M3 9h4l5-4v14l-5-4H3z" fill="currentColor"/><path d="M16 9l5 6M21 9l-5 6" stroke="currentColor" stroke-width="2"/>'),
  sound: svg(`<path d="M3 9h4l5-4v14l-5-4H3z" fill="currentColor"/>${WAVES}`),
  enlarge: svg('<path d="M4 4h6v2H6v4H4zM20 4v6h-2V6h-4V4zM4 20v-6h2v4h4v2zM20 20h-6v-2h4v-4h2z" fill="currentColor"/>'),
  // "Keep" is a bookmark, never a star: the five stars beside it are the rating.
  keep: svg('<path d="M6 3h12v18l-6-4.5L6 21z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>'),
  kept: svg('<path d="M6 3h12v18l-6-4.5L6 21z" fill="currentColor" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>'),
};

const ASPECT = { "16:9": "16 / 9", "9:16": "9 / 16", "1:1": "1 / 1" };

const instances = new WeakMap(); // parentElement -> Grid
const live = new Set(); // mounted grids, for shortcuts typed while focus is on <body>
let lastActive = null; // the grid the user touched last

const noop = () => {};
const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

function fmt(t) {
  const s = Math.max(0, t || 0);
  const m = Math.floor(s / 60);
  return `${m}:${(s - m * 60).toFixed(2).padStart(5, "0")}`;
}

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

// Resolve when pred() holds (checked now and on each event) or after ms; never rejects.
function waitFor(target, pred, events, ms) {
  if (pred()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ok) => {
      clearTimeout(timer);
      events.forEach((ev) => target.removeEventListener(ev, check));
      resolve(ok);
    };
    const check = () => pred() && done(true);
    const timer = setTimeout(() => done(pred()), ms);
    events.forEach((ev) => target.addEventListener(ev, check));
  });
}

// Whether a clip has an audio track (Chromium/WebKit, Firefox, Safari spellings); unknown = no.
function hasSound(v) {
  return v.webkitAudioDecodedByteCount > 0 || v.mozHasAudio === true || (v.audioTracks?.length ?? 0) > 0;
}

// Keys typed into these belong to the control, not to the grid.
function ownsKeys(node) {
  if (!node || !node.tagName) return false;
  if (node.isContentEditable) return true;
  const tag = node.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["range", "button", "checkbox", "radio"].includes(node.type);
}

function onDocumentKey(e) {
  // Only when nothing is focused: a grid's own keys arrive through its root listener.
  if (e.target !== document.body && e.target !== document.documentElement) return;
  const grid = lastActive && live.has(lastActive) ? lastActive : live.size === 1 ? [...live][0] : null;
  if (grid && grid.handleKey(e)) e.preventDefault();
}

class Grid {
  constructor(parentElement, root) {
    this.parent = parentElement;
    this.root = root;
    this.ac = new AbortController();
    this.cells = new Map(); // clip_id -> cell
    this.order = []; // cells in display order
    this.playing = false; // transport intent
    this.syncing = false; // a barrier is in progress
    this.syncGen = 0; // bumps to abandon a running barrier
    this.lastSyncAt = 0;
    this.lastUiAt = 0;
    this.position = 0; // timeline seconds while paused / at the last tick
    this.rate = 1;
    this.loop = false;
    this.soloId = null; // the take chosen to be heard; null = the first take (see heardId)
    this.silenced = false; // the person muted every take
    this.soundBlocked = false; // the browser refused sound without a click
    this.enlargedId = null;
    this.fsMode = null; // "grid" or "take" while the browser shows this grid fullscreen
    this.pseudoFs = false; // the in-page fallback when the Fullscreen API is refused
    this.seekLead = 0.1; // s: learned seek latency; follower seeks aim this far ahead
    this.spread = 0;
    this.scrubbing = false;
    this.showCost = true;
    this.allowPick = true;
    this.setTriggerValue = noop;

    const q = (sel) => root.querySelector(sel);
    this.cellsEl = q(".kl-cells");
    this.playBtn = q(".kl-play");
    this.playText = q(".kl-play-text");
    this.playIcon = q(".kl-icon");
    this.backBtn = q(".kl-step-back");
    this.fwdBtn = q(".kl-step-fwd");
    this.scrub = q(".kl-scrub");
    this.timeEl = q(".kl-time");
    this.loopBtn = q(".kl-loop");
    this.speedSel = q(".kl-speed-select");
    this.liveEl = q(".kl-live");
    this.soundEl = q(".kl-sound");
    this.fsBtn = q(".kl-fullscreen");
    this.fsText = q(".kl-fullscreen-text");

    const opt = { signal: this.ac.signal };
    this.playBtn.addEventListener("click", () => this.togglePlay(), opt);
    this.backBtn.addEventListener("click", () => this.step(-1), opt);
    this.fwdBtn.addEventListener("click", () => this.step(1), opt);
    this.scrub.addEventListener("input", () => this.seekTo(Number(this.scrub.value)), opt);
    this.scrub.addEventListener("pointerdown", () => (this.scrubbing = true), opt);
    this.scrub.addEventListener("pointerup", () => (this.scrubbing = false), opt);
    this.scrub.addEventListener("change", () => (this.scrubbing = false), opt);
    this.loopBtn.addEventListener("click", () => this.setLoop(!this.loop), opt);
    this.speedSel.addEventListener("change", () => this.setRate(Number(this.speedSel.value)), opt);
    this.fsBtn.addEventListener("click", () => this.toggleFullscreen(), opt);
    document.addEventListener("fullscreenchange", () => this.onFullscreenChange(), opt);
    root.addEventListener("keydown", (e) => this.handleKey(e) && e.preventDefault(), opt);
    root.addEventListener("pointerdown", () => (lastActive = this), opt);
    root.addEventListener("focusin", () => (lastActive = this), opt);

    // rAF drives the sync loop; the interval keeps it alive where rAF is throttled (hidden tab).
    const frame = () => {
      this.tick();
      this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
    this.interval = setInterval(() => this.tick(), 100);

    if (live.size === 0) document.addEventListener("keydown", onDocumentKey);
    live.add(this);
    this.cleanup = () => this.destroy();
  }

  // ---------------------------------------------------------------- data -> DOM
  update(data) {
    this.showCost = data.show_cost !== false;
    this.allowPick = data.allow_pick !== false;
    this.allowMarks = data.allow_marks !== false;
    this.readReviewOptions(data); // review.js
    const clips = (Array.isArray(data.clips) ? data.clips : []).slice(0, 10);
    const seen = new Set();
    clips.forEach((clip, i) => {
      let cell = this.cells.get(clip.clip_id);
      if (!cell) {
        cell = this.createCell(clip.clip_id);
        this.cells.set(clip.clip_id, cell);
      }
      this.renderCell(cell, clip, i);
      seen.add(clip.clip_id);
    });
    for (const [id, cell] of this.cells) {
      if (!seen.has(id)) {
        this.detachVideo(cell);
        cell.el.remove();
        this.cells.delete(id);
      }
    }
    // Move nodes only where the order changed, so playing videos are left alone.
    this.order = clips.map((clip) => this.cells.get(clip.clip_id));
    this.order.forEach((cell, i) => {
      const at = this.cellsEl.children[i];
      if (at !== cell.el) this.cellsEl.insertBefore(cell.el, at || null);
    });
    if (this.soloId && !this.cells.has(this.soloId)) this.soloId = null;
    if (this.enlargedId && !this.cells.has(this.enlargedId)) this.enlargedId = null;
    this.applyAudio();
    this.applyEnlarged();
    this.updateTransport();
  }

  createCell(id) {
    const cell = { id, clip: null, url: null, video: null, videoAc: null, joined: false, errored: false };
    cell.labelEl = el("span", { class: "kl-label" });
    cell.costEl = el("span", { class: "kl-cost" });
    cell.hostEl = el("span", { class: "kl-host" });
    cell.stateEl = el("span", { class: "kl-state" });
    cell.detailEl = el("p", { class: "kl-detail" }); // changes every refresh: not a live region
    cell.pendingState = el("span", { class: "kl-pending-state" });
    cell.pendingDetail = el("span", { class: "kl-pending-detail" });
    cell.pendingImg = el("img", { alt: "", hidden: "" });
    cell.pendingImg.style.cssText = "position:absolute;inset:0;width:100%;height:100%;object-fit:contain;opacity:.35";
    cell.pending = el("div", { class: "kl-pending" }, cell.pendingImg, cell.pendingState, cell.pendingDetail);
    cell.heldEl = el("span", { class: "kl-held", hidden: "", "aria-hidden": "true", text: "end" });
    cell.media = el("div", { class: "kl-media" }, cell.pending, cell.heldEl);

    cell.soloBtn = el("button", { type: "button", class: "kl-solo", "aria-pressed": "false" });
    cell.starIcon = el("span", { class: "kl-keep-icon", "aria-hidden": "true" });
    cell.starText = el("span", { class: "kl-keep-text" });
    cell.starBtn = el("button", { type: "button", class: "kl-star kl-keep", "aria-pressed": "false" },
      cell.starIcon, cell.starText);
    cell.rateBtns = [1, 2, 3, 4, 5].map((n) => el("button", { type: "button", "aria-pressed": "false", text: "☆" }));
    cell.rating = el("span", { class: "kl-rating", role: "group" }, ...cell.rateBtns);
    cell.enlargeBtn = el("button", { type: "button", class: "kl-enlarge", "aria-pressed": "false" });
    cell.enlargeBtn.innerHTML = ICON.enlarge;
    // Both words sit in one grid cell, so "Pick" and "Picked ✓" give the button the same width.
    cell.pickOff = el("span", { class: "kl-pick-off", text: "Pick" });
    cell.pickOn = el("span", { class: "kl-pick-on", text: "Picked ✓" });
    cell.pickBtn = el("button", { type: "button", class: "kl-pick", "aria-pressed": "false" }, cell.pickOff, cell.pickOn);
    cell.marks = el("div", { class: "kl-marks" }, cell.rating, cell.starBtn);
    this.createReview(cell); // review.js: track, composer, status, picks by name, comment list

    cell.el = el(
      "figure",
      { class: "kl-cell", role: "group", "data-clip-id": id },
      cell.media,
      cell.track,
      cell.composer,
      el(
        "figcaption",
        { class: "kl-caption" },
        el("div", { class: "kl-title-row" }, cell.labelEl, cell.costEl),
        el("div", { class: "kl-meta-row" }, cell.hostEl, cell.stateEl),
        cell.detailEl,
      ),
      cell.reviewEl,
      cell.marks,
      el("div", { class: "kl-actions" }, cell.soloBtn, cell.enlargeBtn, cell.commentBtn, cell.pickBtn),
      cell.listEl,
    );

    const opt = { signal: this.ac.signal };
    cell.soloBtn.addEventListener("click", () => this.toggleSolo(cell.id), opt);
    cell.starBtn.addEventListener("click", () => {
      cell.starred = !cell.starred;
      this.renderMarks(cell);
      this.emit("star", cell, cell.starred);
    }, opt);
    cell.rateBtns.forEach((btn, i) =>
      btn.addEventListener("click", () => {
        cell.ratingValue = cell.ratingValue === i + 1 ? null : i + 1; // same star again clears
        this.renderMarks(cell);
        this.emit("rate", cell, cell.ratingValue);
      }, opt),
    );
    cell.pickBtn.addEventListener("click", () => {
      cell.picked = !cell.picked;
      this.renderMarks(cell);
      this.emit("pick", cell, cell.picked);
    }, opt);
    cell.enlargeBtn.addEventListener("click", () => this.toggleTakeFullscreen(cell.id), opt);
    cell.media.addEventListener("dblclick", () => this.toggleTakeFullscreen(cell.id), opt);
    return cell;
  }

  renderCell(cell, clip, index) {
    const label = String(clip.label ?? "");
    // One polite announcement per state change ("Take 3: done"), not per progress tick.
    if (cell.clip && cell.clip.state !== clip.state) this.announce(`${label}: ${clip.state}`);
    cell.clip = clip;
    cell.el.setAttribute("aria-label", label);
    cell.labelEl.textContent = label;
    cell.hostEl.textContent = clip.host ?? "";
    cell.hostEl.title = clip.host ?? "";
    const showCost = this.showCost && clip.cost_text;
    cell.costEl.textContent = showCost ? clip.cost_text : "";
    cell.costEl.hidden = !showCost;
    cell.stateEl.textContent = clip.state ?? "unknown";
    cell.stateEl.dataset.state = clip.state ?? "unknown";
    cell.detailEl.textContent = clip.detail ?? "";
    cell.media.style.setProperty("--kl-ar", ASPECT[clip.aspect_ratio] || ASPECT["16:9"]);

    if (clip.url && clip.url !== cell.url) this.attachVideo(cell, clip.url);
    else if (!clip.url && cell.video) this.detachVideo(cell);
    if (cell.video && clip.poster && cell.video.getAttribute("poster") !== clip.poster) cell.video.poster = clip.poster;
    cell.video?.setAttribute("aria-label", `${label} (${clip.host ?? ""})`);
    this.renderPending(cell);

    // Python is the source of truth for marks; a click only previews them until the rerun.
    cell.picked = !!clip.picked;
    cell.starred = !!clip.starred;
    cell.ratingValue = clip.rating || null;
    const key = index === 9 ? "0" : String(index + 1);
    cell.soloBtn.setAttribute("aria-label", `Solo ${label}`);
    cell.soloBtn.title = `Solo this clip's sound (key ${key})`;
    cell.starBtn.setAttribute("aria-label", `Keep ${label}`);
    cell.starBtn.title = "Keep: bookmark this take to find it again (History's Kept filter). Not a rating.";
    cell.rating.setAttribute("aria-label", `Rating for ${label}`);
    cell.rating.title = "Your rating, 1 to 5 stars (click the same star again to clear it)";
    cell.rateBtns.forEach((btn, i) => btn.setAttribute("aria-label", `Rate ${label} ${i + 1} star${i ? "s" : ""}`));
    cell.enlargeBtn.setAttribute("aria-label", `Fullscreen ${label}`);
    cell.enlargeBtn.title = "Fullscreen this take (or double-click it); Esc returns";
    cell.pickBtn.setAttribute("aria-label", `Pick ${label}`);
    cell.pickBtn.title = "Pick this take as the batch's winner";
    cell.pickBtn.hidden = !this.allowPick;
    // A review board has no keeps or ratings: the buttons are not in its page at all.
    if (!this.allowMarks) cell.marks.remove();
    const noVideo = !cell.video;
    for (const b of [cell.soloBtn, cell.starBtn, cell.pickBtn, cell.enlargeBtn, ...cell.rateBtns]) b.disabled = noVideo;
    // A disabled control says why: the take has no clip yet (or it ended without one).
    if (noVideo) {
      const ended = ["done", "failed", "canceled", "unknown"].includes(clip.state);
      const why = ended ? "Unavailable: this take has no clip" : "Not yet: available once this take's clip arrives";
      for (const b of [cell.soloBtn, cell.starBtn, cell.pickBtn, cell.enlargeBtn, cell.rating]) b.title = why;
    }
    this.renderMarks(cell);
    this.renderReview(cell, clip, label, noVideo, index); // review.js
  }

  renderPending(cell) {
    const clip = cell.clip;
    const show = !cell.video || cell.errored;
    cell.pending.hidden = !show;
    if (!show) return;
    cell.pendingState.textContent = cell.errored ? "could not load" : clip.state ?? "unknown";
    cell.pendingDetail.textContent = cell.errored ? "The clip file did not play in this browser." : clip.detail ?? "";
    if (clip.poster && cell.pendingImg.getAttribute("src") !== clip.poster) cell.pendingImg.src = clip.poster;
    cell.pendingImg.hidden = !clip.poster;
  }

  renderMarks(cell) {
    cell.el.classList.toggle("is-picked", !!cell.picked);
    cell.pickBtn.setAttribute("aria-pressed", String(!!cell.picked));
    cell.pickOn.style.visibility = cell.picked ? "visible" : "hidden";
    cell.pickOff.style.visibility = cell.picked ? "hidden" : "visible";
    cell.starBtn.setAttribute("aria-pressed", String(!!cell.starred));
    const keepIcon = cell.starred ? ICON.kept : ICON.keep;
    if (cell.starIcon.innerHTML !== keepIcon) cell.starIcon.innerHTML = keepIcon;
    cell.starText.textContent = cell.starred ? "Kept" : "Keep";
    cell.rateBtns.forEach((btn, i) => {
      const lit = (cell.ratingValue || 0) > i;
      btn.textContent = lit ? "★" : "☆";
      btn.classList.toggle("is-lit", lit);
      btn.setAttribute("aria-pressed", String(cell.ratingValue === i + 1));
    });
  }

  announce(text) {
    this.liveEl.textContent = text;
  }

  emit(kind, cell, value) {
    this.setTriggerValue("event", { kind, clip_id: cell.id, value });
  }

  attachVideo(cell, url) {
    this.detachVideo(cell);
    const v = document.createElement("video");
    v.muted = true;
    v.defaultMuted = true;
    v.preservesPitch = false; // muted: see nudgeFor
    v.playsInline = true;
    v.setAttribute("playsinline", "");
    v.preload = "auto";
    v.disableRemotePlayback = true;
    if (cell.clip?.poster) v.poster = cell.clip.poster;
    cell.videoAc = new AbortController();
    const opt = { signal: cell.videoAc.signal };
    v.addEventListener("loadedmetadata", () => this.onMetadata(cell), opt);
    v.addEventListener("waiting", () => this.onWaiting(cell), opt);
    v.addEventListener("seeked", () => this.onSeeked(cell), opt);
    v.addEventListener("error", () => {
      cell.errored = true;
      this.renderPending(cell);
      this.applyAudio();
    }, opt);
    v.src = url; // a URL the server streams with Range support; never bytes
    cell.media.prepend(v);
    Object.assign(cell, { video: v, url, joined: false, errored: false, seekPending: false });
  }

  detachVideo(cell) {
    const v = cell.video;
    if (!v) return;
    cell.videoAc.abort();
    v.pause();
    v.removeAttribute("src");
    v.load(); // releases the decoder and the connection now rather than at GC
    v.remove();
    Object.assign(cell, { video: null, url: null, joined: false, errored: false });
  }

  // ---------------------------------------------------------------- timeline helpers
  videoCells() {
    return this.order.filter((c) => c.video && !c.errored);
  }

  durationOf(cell) {
    const d = cell.video?.duration;
    return Number.isFinite(d) && d > 0 ? d : Number(cell.clip?.duration) || 0;
  }

  timelineDuration() {
    return this.videoCells().reduce((m, c) => Math.max(m, this.durationOf(c)), 0);
  }

  // The longest clip that is in step drives; a clip still joining never does.
  leader() {
    const pick = (joinedOnly) => {
      let best = null;
      let bestD = -1;
      for (const c of this.videoCells()) {
        if (c.video.readyState < 1 || (joinedOnly && !c.joined)) continue;
        const d = this.durationOf(c);
        if (d > bestD + 1e-3) [best, bestD] = [c, d];
      }
      return best;
    };
    return (this.playing && pick(true)) || pick(false);
  }

  clock() {
    const lead = this.playing && !this.syncing ? this.leader() : null;
    return lead ? lead.video.currentTime : this.position;
  }

  // Paused clips show the frame at t; a shorter clip shows its last frame.
  align(cell, t) {
    const v = cell.video;
    if (!v || v.readyState < 1) return;
    const target = Math.min(t, this.durationOf(cell));
    if (Math.abs(v.currentTime - target) > 5e-4) v.currentTime = target;
  }

  // ---------------------------------------------------------------- transport
  togglePlay() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (!this.videoCells().length) return;
    const end = this.timelineDuration();
    this.playing = true;
    if (this.soundBlocked) {
      this.soundBlocked = false; // this press is a fresh gesture: try the sound again
      this.applyAudio();
    }
    this.resync(this.position >= end - END_EPS ? 0 : this.position);
  }

  pause() {
    const t = this.clock();
    this.playing = false;
    this.syncing = false;
    this.syncGen++;
    for (const c of this.videoCells()) {
      c.video.pause();
      c.video.playbackRate = this.rate;
    }
    this.position = t;
    this.videoCells().forEach((c) => this.align(c, t)); // everyone lands on the leader's frame
    this.updateTransport();
  }

  seekTo(t) {
    t = clamp(Number(t) || 0, 0, this.timelineDuration());
    this.position = t;
    if (this.playing) this.resync(t);
    else this.videoCells().forEach((c) => this.align(c, t));
    this.updateTransport();
  }

  step(dir) {
    if (this.playing) this.pause();
    this.seekTo((Math.round(this.position / FRAME) + dir) * FRAME);
  }

  setLoop(on) {
    this.loop = on;
    this.updateTransport();
  }

  setRate(r) {
    this.rate = clamp(r || 1, 0.25, 2);
    this.videoCells().forEach((c) => (c.video.playbackRate = this.rate));
    this.updateTransport();
  }

  // The take whose sound plays: the one soloed, else the first playable take; none once muted.
  heardId() {
    if (this.silenced) return null;
    const chosen = this.soloId && this.cells.get(this.soloId);
    if (chosen && chosen.video && !chosen.errored) return chosen.id;
    return this.videoCells()[0]?.id ?? null;
  }

  toggleSolo(id) {
    const cell = this.cells.get(id);
    if (!cell || !cell.video) return;
    if (!this.soundBlocked && this.heardId() === id) {
      this.silenced = true; // the same take again mutes every take
      this.soloId = null;
    } else {
      this.silenced = false;
      this.soloId = id;
    }
    this.soundBlocked = false;
    this.applyAudio();
  }

  applyAudio() {
    const heard = this.soundBlocked ? null : this.heardId();
    for (const c of this.cells.values()) {
      const on = c.id === heard;
      if (c.video && c.video.muted !== !on) {
        c.video.muted = !on;
        c.video.preservesPitch = on; // see nudgeFor
      }
      c.soloBtn.setAttribute("aria-pressed", String(on));
      const icon = on ? ICON.sound : ICON.muted;
      if (c.soloBtn.innerHTML !== icon) c.soloBtn.innerHTML = icon;
    }
    this.renderSoundHint(heard);
  }

  renderSoundHint(heard) {
    const many = this.order.length > 1;
    const keys = this.order.length >= 10 ? "1–9, 0" : this.order.length > 1 ? `1–${this.order.length}` : "1";
    const label = heard ? this.cells.get(heard)?.clip?.label || "this take" : "";
    let text;
    if (this.soundBlocked) text = "The browser held back the sound: press Play all or a speaker button to hear it.";
    else if (!this.videoCells().length) text = "";
    else if (!heard) text = `Every take is muted: press ${keys} or a take's speaker button to hear one.`;
    else if (!many) text = `Sound: ${label}.`;
    else text = `Sound: ${label}, the others muted. Press ${keys} or a take's speaker button to hear another.`;
    if (this.soundEl.textContent !== text) this.soundEl.textContent = text;
  }

  // Fullscreen through the browser's Fullscreen API; where it is refused, an in-page stand-in.
  fullscreenElement() {
    const node = this.root.getRootNode();
    return (node && node.fullscreenElement) || null;
  }

  async enterFullscreen(mode) {
    this.fsMode = mode;
    if (this.fullscreenElement() === this.root || this.pseudoFs) return this.applyFullscreen();
    try {
      if (!this.root.requestFullscreen || !document.fullscreenEnabled) throw new Error("no Fullscreen API");
      await this.root.requestFullscreen({ navigationUI: "hide" });
    } catch {
      this.pseudoFs = mode === "grid"; // one take falls back to the in-page enlarge alone
      if (mode === "take") this.fsMode = null;
    }
    this.applyFullscreen();
  }

  exitFullscreen() {
    this.fsMode = null;
    this.pseudoFs = false;
    this.enlargedId = null;
    if (this.fullscreenElement() === this.root) document.exitFullscreen().catch(noop);
    this.applyEnlarged();
    this.applyFullscreen();
  }

  toggleFullscreen() {
    if (this.fullscreenElement() === this.root || this.pseudoFs) return this.exitFullscreen();
    this.enlargedId = null;
    this.applyEnlarged();
    this.enterFullscreen("grid");
  }

  toggleTakeFullscreen(id) {
    if (this.enlargedId === id) {
      // Back from this take: to the grid if the grid was fullscreen first, else to the page.
      if (this.fsMode === "take") return this.exitFullscreen();
      return this.setEnlarged(null);
    }
    this.setEnlarged(id);
    if (!this.fsMode && !this.pseudoFs) this.enterFullscreen("take");
  }

  onFullscreenChange() {
    if (this.fullscreenElement() === this.root || !this.fsMode) return this.applyFullscreen();
    // The browser left fullscreen (Esc, F11, another element): back to the page, nothing enlarged.
    this.fsMode = null;
    this.enlargedId = null;
    this.applyEnlarged();
    this.applyFullscreen();
  }

  applyFullscreen() {
    const on = this.fullscreenElement() === this.root || this.pseudoFs;
    this.root.classList.toggle("is-fullscreen", on);
    this.root.classList.toggle("is-pseudo-fullscreen", this.pseudoFs);
    this.fsBtn.setAttribute("aria-pressed", String(on));
    this.fsBtn.setAttribute("aria-label", on ? "Exit fullscreen" : "Fullscreen: every take");
    this.fsText.textContent = on ? "Exit fullscreen" : "Fullscreen";
  }

  setEnlarged(id) {
    this.enlargedId = id;
    this.applyEnlarged();
    if (id) this.cells.get(id)?.enlargeBtn.focus({ preventScroll: true });
  }

  applyEnlarged() {
    for (const c of this.cells.values()) {
      const on = c.id === this.enlargedId;
      c.el.classList.toggle("is-enlarged", on);
      c.enlargeBtn.setAttribute("aria-pressed", String(on));
    }
    this.root.classList.toggle("has-enlarged", !!this.enlargedId);
  }

  // Barrier: pause all, seek all to t, wait until each can play, then start them together.
  // "Together" needs care: after play(), a clip with sound only starts moving once Chromium's
  // audio output runs, 40-150 ms later (it varies with load and with whether the output was
  // already running), while a silent clip moves within ~10 ms. So clips with sound start first
  // and the silent ones follow the moment every clip with sound is moving. Until then the silent
  // ones sit paused on the same frame, so nothing visibly drifts.
  async resync(t) {
    const gen = ++this.syncGen;
    this.syncing = true;
    this.position = t;
    this.updateTransport();
    const cells = this.videoCells();
    cells.forEach((c) => c.video.pause());
    await Promise.all(cells.map((c) => this.seekAndBuffer(c, t)));
    if (gen !== this.syncGen || this.destroyed) return;
    this.lastSyncAt = performance.now();
    if (!this.playing) {
      this.syncing = false;
      return this.updateTransport();
    }
    const starters = [];
    for (const c of cells) {
      const v = c.video;
      if (!v || c.errored) continue;
      v.playbackRate = this.rate;
      // Clips that cannot play yet stay out; the frame loop lets them join later.
      c.joined = v.readyState >= 3 || (v.readyState >= 1 && t >= this.durationOf(c) - END_EPS);
      if (v.readyState >= 3 && t < this.durationOf(c) - END_EPS) starters.push(c);
    }
    const start = (group) => {
      for (const c of group) {
        c.startPos = c.video.currentTime;
        c.video.play().catch((err) => this.onPlayRefused(c, err));
      }
    };
    const release = () => {
      this.syncing = false;
      this.lastSyncAt = performance.now();
      this.updateTransport();
    };
    const audible = starters.filter((c) => hasSound(c.video));
    const silent = starters.filter((c) => !hasSound(c.video));
    if (!audible.length || !silent.length) {
      start(starters);
      return release();
    }
    start(audible);
    const since = performance.now();
    const poll = () => {
      if (gen !== this.syncGen || !this.playing || this.destroyed) return;
      const moving = audible.every((c) => !c.video || c.video.currentTime > c.startPos + 1e-4);
      if (!moving && performance.now() - since < START_WAIT_MS) return void setTimeout(poll, 2);
      start(silent.filter((c) => c.video));
      release();
    };
    poll();
    this.updateTransport();
  }

  // Autoplay policy: a take with sound may be refused without a recent click. Play it muted
  // (the timeline must not stall) and say how to get the sound back.
  onPlayRefused(cell, err) {
    const v = cell.video;
    if (!v || err?.name !== "NotAllowedError" || v.muted || !this.playing) return;
    this.soundBlocked = true;
    this.applyAudio();
    v.play().catch(noop);
  }

  async seekAndBuffer(cell, t) {
    const v = cell.video;
    await waitFor(v, () => v.readyState >= 1 || cell.errored, ["loadedmetadata", "error"], WAIT_MS);
    if (v.readyState < 1) return;
    const target = Math.min(t, this.durationOf(cell));
    if (Math.abs(v.currentTime - target) > 5e-4) v.currentTime = target;
    await waitFor(v, () => !v.seeking, ["seeked", "error"], WAIT_MS);
    if (target < this.durationOf(cell) - END_EPS) {
      await waitFor(v, () => v.readyState >= 3, ["canplay", "canplaythrough", "error"], WAIT_MS);
    }
  }

  onMetadata(cell) {
    if (!this.playing) this.align(cell, this.position); // while playing the frame loop joins it
    this.updateTransport();
  }

  onSeeked(cell) {
    if (cell.seekStartedAt) {
      const latency = (performance.now() - cell.seekStartedAt) / 1000;
      this.seekLead = clamp(0.7 * this.seekLead + 0.3 * latency, 0.02, 0.5);
      cell.seekStartedAt = 0;
    }
    cell.seekPending = false;
  }

  onWaiting(cell) {
    // A clip in step ran out of data: hold everyone and restart together once it can play.
    if (!this.playing || this.syncing || !cell.joined || cell.seekPending) return;
    if (performance.now() - this.lastSyncAt < RESYNC_COOLDOWN_MS) return;
    this.resync(this.clock());
  }

  onTimelineEnd() {
    if (this.loop) {
      this.resync(0);
      return;
    }
    this.playing = false;
    this.position = this.timelineDuration();
    this.videoCells().forEach((c) => c.video.pause());
    this.updateTransport();
  }

  // ---------------------------------------------------------------- the sync loop
  tick() {
    if (this.destroyed) return;
    if (this.playing && !this.syncing) this.follow();
    else this.spread = 0;
    // Repainting the scrubber and labels every frame costs CPU that the decoders need more.
    if (!this.playing || performance.now() - this.lastUiAt >= UI_EVERY_MS) this.updateClock();
  }

  follow() {
    const lead = this.leader();
    if (!lead) return;
    const lv = lead.video;
    const lt = lv.currentTime;
    const ld = this.durationOf(lead);
    this.position = lt;
    if (lv.ended || (lv.paused && !lv.seeking && lt >= ld - 1e-3)) return this.onTimelineEnd();
    if (lv.paused && !lv.seeking && lv.readyState >= 3) lv.play().catch((err) => this.onPlayRefused(lead, err));
    if (lv.playbackRate !== this.rate) lv.playbackRate = this.rate;
    const times = lv.paused || lv.seeking ? [] : [lt];

    for (const c of this.videoCells()) {
      const v = c.video;
      if (c === lead || v.readyState < 1) continue;
      const d = this.durationOf(c);
      if (lt >= d - END_EPS) {
        // Shorter clip: it runs out on its own and holds its last frame until the timeline loops.
        if (v.paused && !v.seeking && v.currentTime < d - END_EPS) v.currentTime = d;
        else if (!v.paused && v.currentTime < d - HARD_DRIFT) v.currentTime = d;
        c.joined = true;
        continue;
      }
      if (v.seeking || c.seekPending) continue;
      const diff = v.currentTime - lt;
      if (Math.abs(diff) > HARD_DRIFT) {
        // Aim ahead by the learned seek latency so the clip lands where the leader will be.
        c.seekPending = true;
        c.seekStartedAt = performance.now();
        v.currentTime = Math.min(d, lt + this.seekLead * this.rate);
        if (v.paused) v.play().catch((err) => this.onPlayRefused(c, err));
        continue;
      }
      if (v.paused) v.play().catch((err) => this.onPlayRefused(c, err));
      if (!v.paused && v.readyState >= 3) c.joined = true;
      const want = this.rate * (1 + this.nudgeFor(diff, !v.muted));
      if (Math.abs(v.playbackRate - want) > 1e-6) v.playbackRate = want;
      if (!v.paused) times.push(v.currentTime);
    }
    this.spread = times.length > 1 ? Math.max(...times) - Math.min(...times) : 0;
  }

  // Relative playbackRate change for a follower `diff` seconds ahead of the leader.
  // Measured in Chromium 156: a clip with sound and preservesPitch=true stalls ~25 ms each time
  // its rate leaves ~1.0 (the time-stretcher starts up), while rate changes with
  // preservesPitch=false cost ~1 ms. Muted clips therefore run without pitch preservation (see
  // applyAudio), and the soloed one never rests on the base rate, so it stays time-stretched.
  nudgeFor(diff, heard) {
    const rest = heard ? (diff > 0 ? -REST_NUDGE : REST_NUDGE) : 0;
    if (Math.abs(diff) < SOFT_DRIFT) return rest;
    const max = heard ? MAX_NUDGE_HEARD : MAX_NUDGE;
    const n = Math.round(clamp(-diff * NUDGE_GAIN, -max, max) * 200) / 200; // 0.5 % steps
    return n === 0 ? rest : n;
  }

  // ---------------------------------------------------------------- chrome
  updateClock() {
    this.lastUiAt = performance.now();
    const end = this.timelineDuration();
    const t = this.playing && !this.syncing ? this.clock() : this.position;
    if (Number(this.scrub.max) !== end) this.scrub.max = String(end);
    if (!this.scrubbing && Math.abs(Number(this.scrub.value) - t) > FRAME / 2) this.scrub.value = String(t);
    const text = `${fmt(t)} / ${fmt(end)}`;
    if (this.timeEl.textContent !== text) {
      this.timeEl.textContent = text;
      this.scrub.setAttribute("aria-valuetext", `${fmt(t)} of ${fmt(end)}`);
    }
    this.root.dataset.spreadMs = String(Math.round(this.spread * 1000));
    this.root.dataset.position = t.toFixed(3);
    for (const c of this.order) {
      const held = !!c.video && end > 0 && t > this.durationOf(c) + FRAME / 2;
      if (c.heldEl.hidden === held) c.heldEl.hidden = !held;
    }
    this.updateTracks(t, end); // review.js
  }

  updateTransport() {
    const hasVideo = this.videoCells().length > 0;
    this.root.dataset.state = this.syncing ? "syncing" : this.playing ? "playing" : "paused";
    this.playText.textContent = this.playing ? "Pause all" : "Play all";
    const icon = this.playing ? ICON.pause : ICON.play;
    if (this.playIcon.innerHTML !== icon) this.playIcon.innerHTML = icon;
    this.playBtn.title = hasVideo ? `${this.playing ? "Pause" : "Play"} every clip together (Space)`
      : "Nothing to play yet: takes join here as their clips arrive";
    this.loopBtn.setAttribute("aria-pressed", String(this.loop));
    if (Number(this.speedSel.value) !== this.rate) this.speedSel.value = String(this.rate);
    for (const b of [this.playBtn, this.backBtn, this.fwdBtn, this.scrub]) b.disabled = !hasVideo;
    this.updateClock();
  }

  handleKey(e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey) return false;
    const target = e.composedPath()[0];
    if (ownsKeys(target)) return false;
    const tag = target?.tagName;
    switch (e.key) {
      case " ":
        if (tag === "BUTTON" || tag === "A" || tag === "SUMMARY") return false; // native activation
        this.togglePlay();
        return true;
      case "ArrowLeft":
      case "ArrowRight":
        if (tag === "INPUT") return false; // the scrubber steps by one frame on its own
        this.step(e.key === "ArrowLeft" ? -1 : 1);
        return true;
      case "Escape":
        if (this.pseudoFs || this.fsMode) {
          this.exitFullscreen();
          return true;
        }
        if (!this.enlargedId) return false;
        this.setEnlarged(null);
        return true;
      case "f":
      case "F":
        this.toggleFullscreen();
        return true;
      case "c":
      case "C":
        return this.commentKey(e); // review.js

      default: {
        if (!/^[0-9]$/.test(e.key)) return false;
        const cell = this.order[e.key === "0" ? 9 : Number(e.key) - 1];
        if (!cell || !cell.video) return false;
        this.toggleSolo(cell.id);
        return true;
      }
    }
  }

  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    this.syncGen++;
    if (this.fullscreenElement() === this.root) document.exitFullscreen().catch(noop);
    cancelAnimationFrame(this.raf);
    clearInterval(this.interval);
    this.ac.abort();
    for (const c of this.cells.values()) this.detachVideo(c);
    this.cellsEl.replaceChildren();
    this.cells.clear();
    instances.delete(this.parent);
    live.delete(this);
    if (lastActive === this) lastActive = null;
    if (live.size === 0) document.removeEventListener("keydown", onDocumentKey);
  }
}

export default function mountVideoGrid({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".kl-grid");
  let grid = instances.get(parentElement);
  if (grid && grid.root !== root) grid.destroy(); // Streamlit re-injected the HTML: start over
  if (!root) return undefined;
  grid = instances.get(parentElement);
  if (!grid) {
    grid = new Grid(parentElement, root);
    instances.set(parentElement, grid);
  }
  grid.setTriggerValue = setTriggerValue;
  grid.update(data || {});
  // Streamlit keeps only the last returned cleanup and runs it once, at unmount.
  return grid.cleanup;
}
