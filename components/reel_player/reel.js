// Kling Lab reel player: a Custom Components v2 inline module.
//
// Streamlit calls the default export again every time `data` changes, always with the same
// parentElement (our ShadowRoot). So all state lives in one Reel object per parentElement; a call
// only diffs the shots (by shot_id) into the existing segments, and playback carries on.
//
// Timeline model: the reel is the shots' trimmed parts end to end, counted in frames at `fps`.
// Shots without a clip (no pick yet) have length 0: a slate card in the strip, skipped in playback.
// Two <video> elements ("slots") take turns: the one shown plays the current shot, the other holds
// the next shot loaded, seeked to its in point and decoded. At the out point (found by the frame
// loop reading currentTime, by requestVideoFrameCallback, and by timeupdate where neither runs)
// the two swap: the next one is unmuted, played and shown, the old one is paused, muted, and
// loads the shot after that.

const HALF = 0.5; // frames: the cut is taken once the shown clip is within half a frame of its out point
const EPS = 1e-3; // s: seek a hair past a frame's start so rounding never lands on the frame before
const UI_EVERY_MS = 40; // the interval fallback (rAF is throttled in a hidden tab)

const svg = (body) => `<svg viewBox="0 0 24 24" width="1.1em" height="1.1em" aria-hidden="true" focusable="false">${body}</svg>`;
// Icons are constant markup (never built from data).
const ICON = {
  play: svg('<path d="M7 5v14l12-7z" fill="currentColor"/>'),
  pause: svg('<path d="M6 5h4v14H6zM14 5h4v14h-4z" fill="currentColor"/>'),
};

const instances = new WeakMap(); // parentElement -> Reel
const live = new Set(); // mounted reels, for keys typed while focus is on <body>
let lastActive = null; // the reel the person touched last

const noop = () => {};
const clamp = (x, lo, hi) => Math.min(hi, Math.max(lo, x));

function timecode(frames, fps) {
  const f = Math.max(0, Math.floor(frames));
  const ff = f % fps;
  const s = Math.floor(f / fps);
  const pad = (n) => String(n).padStart(2, "0");
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}:${pad(ff)}`;
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

// Keys typed into these belong to the control, not to the reel.
function ownsKeys(node) {
  if (!node || !node.tagName) return false;
  if (node.isContentEditable) return true;
  const tag = node.tagName;
  if (tag === "TEXTAREA" || tag === "SELECT") return true;
  if (tag !== "INPUT") return false;
  return !["range", "button", "checkbox", "radio"].includes(node.type);
}

function onDocumentKey(e) {
  // Only when nothing is focused: a reel's own keys arrive through its root listener.
  if (e.target !== document.body && e.target !== document.documentElement) return;
  const reel = lastActive && live.has(lastActive) ? lastActive : live.size === 1 ? [...live][0] : null;
  if (reel && reel.handleKey(e)) e.preventDefault();
}

const shotName = (shot) => [shot.code, shot.take_code].filter(Boolean).join(" ");

class Reel {
  constructor(parentElement, root) {
    this.parent = parentElement;
    this.root = root;
    this.ac = new AbortController();
    this.fps = 24;
    this.segs = []; // {id, shot, index, start, frames, end, playable, btn}
    this.byId = new Map(); // shot_id -> seg
    this.buttons = new Map(); // shot_id -> segment button (kept across updates)
    this.total = 0;
    this.pos = 0; // reel frame (fractional while playing)
    this.playing = false;
    this.cur = null; // the seg shown
    this.slateId = null; // a shot without a pick, shown as a slate after a click on it
    this.badUrls = new Set(); // clips that failed to load: skipped
    this.soundBlocked = false;
    this.cuts = []; // every change of the shown shot: {shot_id, code, reelFrame, cutFrame, at, cause}
    this.setTriggerValue = noop;
    root.reelCuts = this.cuts;
    window.__reelCuts = this.cuts;

    const q = (sel) => root.querySelector(sel);
    this.stage = q(".kl-reel-stage");
    this.slate = q(".kl-reel-slate");
    this.slateCode = q(".kl-reel-slate-code");
    this.slateText = q(".kl-reel-slate-text");
    this.emptyEl = q(".kl-reel-empty");
    this.segsEl = q(".kl-reel-segments");
    this.scrub = q(".kl-reel-scrub");
    this.playBtn = q(".kl-reel-play");
    this.playText = q(".kl-reel-play-text");
    this.playIcon = q(".kl-reel-icon");
    this.backBtn = q(".kl-reel-step-back");
    this.fwdBtn = q(".kl-reel-step-fwd");
    this.timeEl = q(".kl-reel-time");
    this.currentEl = q(".kl-reel-current");
    this.takesBtn = q(".kl-reel-takes");
    this.soundEl = q(".kl-reel-sound");
    this.liveEl = q(".kl-reel-live");
    this.slots = [this.makeSlot(), this.makeSlot()];
    this.shown = this.slots[0];

    const opt = { signal: this.ac.signal };
    this.playBtn.addEventListener("click", () => this.togglePlay(), opt);
    this.backBtn.addEventListener("click", () => this.step(-1), opt);
    this.fwdBtn.addEventListener("click", () => this.step(1), opt);
    this.scrub.addEventListener("input", () => this.seek(Number(this.scrub.value), "seek"), opt);
    this.scrub.addEventListener("pointerdown", () => (this.scrubbing = true), opt);
    this.scrub.addEventListener("pointerup", () => (this.scrubbing = false), opt);
    this.scrub.addEventListener("change", () => (this.scrubbing = false), opt);
    this.takesBtn.addEventListener("click", () => {
      const id = this.currentId();
      if (id) this.emit("open_shot", id);
    }, opt);
    root.addEventListener("keydown", (e) => this.handleKey(e) && e.preventDefault(), opt);
    root.addEventListener("pointerdown", () => (lastActive = this), opt);
    root.addEventListener("focusin", () => (lastActive = this), opt);

    const frame = () => {
      this.tick("raf");
      this.raf = requestAnimationFrame(frame);
    };
    this.raf = requestAnimationFrame(frame);
    this.interval = setInterval(() => this.tick(), UI_EVERY_MS);

    if (live.size === 0) document.addEventListener("keydown", onDocumentKey);
    live.add(this);
    this.cleanup = () => this.destroy();
  }

  // ---------------------------------------------------------------- the two video slots
  makeSlot() {
    const v = document.createElement("video");
    v.muted = true;
    v.defaultMuted = true;
    v.playsInline = true;
    v.setAttribute("playsinline", "");
    v.preload = "auto";
    v.disableRemotePlayback = true;
    const slot = { video: v, id: null, url: null, target: null, rvfc: false };
    const opt = { signal: this.ac.signal };
    v.addEventListener("loadedmetadata", () => {
      if (slot.target !== null) v.currentTime = slot.target;
    }, opt);
    v.addEventListener("timeupdate", () => this.tick("timeupdate"), opt);
    v.addEventListener("ended", () => this.tick("ended"), opt);
    v.addEventListener("playing", () => this.watchFrames(slot), opt);
    v.addEventListener("error", () => this.onSlotError(slot), opt);
    this.stage.prepend(v);
    this.watchFrames(slot);
    return slot;
  }

  // requestVideoFrameCallback: the frame just presented tells whether the out point has passed.
  watchFrames(slot) {
    const v = slot.video;
    if (slot.rvfc || !v.requestVideoFrameCallback || this.destroyed) return;
    slot.rvfc = true;
    v.requestVideoFrameCallback((_now, meta) => {
      slot.rvfc = false;
      if (this.destroyed) return;
      if (slot === this.shown && this.playing && this.cur && slot.id === this.cur.id && !v.seeking) {
        const out = this.cur.shot.trim_out / this.fps;
        if (meta.mediaTime >= out - HALF / this.fps) this.onOutPoint(meta.mediaTime, "frame");
      }
      this.watchFrames(slot);
    });
  }

  // Show `seg` in `slot`, at source frame `frame` (loading its clip when the slot holds another).
  load(slot, seg, frame) {
    const v = slot.video;
    const url = seg.shot.url;
    slot.id = seg.id;
    slot.target = frame / this.fps + EPS;
    if (slot.url !== url) {
      slot.url = url;
      if (seg.shot.poster) v.poster = seg.shot.poster;
      else v.removeAttribute("poster");
      v.src = url; // a URL the server streams with Range support; never bytes
      v.setAttribute("aria-label", `${shotName(seg.shot)} ${seg.shot.label || ""}`.trim());
      return; // loadedmetadata seeks to slot.target
    }
    v.setAttribute("aria-label", `${shotName(seg.shot)} ${seg.shot.label || ""}`.trim());
    if (v.readyState >= 1 && Math.abs(v.currentTime - slot.target) > 5e-4) v.currentTime = slot.target;
  }

  other(slot) {
    return slot === this.slots[0] ? this.slots[1] : this.slots[0];
  }

  setShown(slot) {
    this.shown = slot;
    for (const s of this.slots) {
      const on = s === slot;
      s.video.classList.toggle("is-shown", on);
      if (!on) {
        s.video.pause();
        s.video.muted = true;
      }
    }
  }

  // Keep the shot after `seg` loaded in the hidden slot, at its in point.
  preloadAfter(seg) {
    const next = this.nextPlayable(seg);
    const spare = this.other(this.shown);
    if (!next) return;
    spare.video.pause();
    spare.video.muted = true;
    this.load(spare, next, next.shot.trim_in);
  }

  startVideo(slot) {
    const v = slot.video;
    v.muted = false; // the first play is the Play button's click, so sound is allowed
    v.play().catch((err) => {
      if (err?.name !== "NotAllowedError" || !this.playing || slot !== this.shown) return;
      this.soundBlocked = true; // the browser wants a click first: play silently rather than stall
      v.muted = true;
      v.play().catch(noop);
      this.renderSound();
    });
  }

  onSlotError(slot) {
    if (!slot.url) return;
    this.badUrls.add(slot.url);
    const seg = slot.id && this.byId.get(slot.id);
    if (seg) this.announce(`${shotName(seg.shot)} could not play in this browser: skipped.`);
    slot.url = null;
    slot.id = null;
    this.rebuild();
    if (slot === this.shown) this.seek(this.cur ? this.cur.start : this.pos, "seek");
    else if (this.cur) this.preloadAfter(this.cur);
  }

  // ---------------------------------------------------------------- data -> DOM
  update(data) {
    this.fps = Number(data.fps) > 0 ? Number(data.fps) : 24;
    this.shots = (Array.isArray(data.shots) ? data.shots : []).slice(0, 60);
    // Where we are, in the current shot's own frames, so the diff can keep it.
    const keepId = this.cur?.id ?? null;
    const keepFrame = this.cur ? this.sourceFrame() : null;
    const keepUrl = this.cur?.shot.url ?? null;
    const first = !this.mounted;
    this.mounted = true;
    this.rebuild();
    if (this.slateId && !this.byId.has(this.slateId)) this.slateId = null;

    const seg = keepId ? this.byId.get(keepId) : null;
    if (seg && seg.playable && seg.shot.url === keepUrl && keepFrame !== null) {
      const k = clamp(keepFrame, seg.shot.trim_in, seg.shot.trim_out - 1);
      this.cur = seg;
      if (k !== keepFrame || !this.playing) {
        this.pos = seg.start + (k - seg.shot.trim_in);
        if (k !== keepFrame) this.load(this.shown, seg, k);
      }
      this.preloadAfter(seg);
    } else if (first || this.cur || this.total > 0) {
      const was = this.playing;
      if (was && !seg) this.pause();
      this.cur = null;
      this.seek(first ? 0 : Math.min(this.pos, this.total), "update");
    }
    this.render();
  }

  rebuild() {
    const seen = new Set();
    let start = 0;
    this.segs = this.shots.map((shot, index) => {
      const playable = !!shot.url && !this.badUrls.has(shot.url) && shot.trim_out > shot.trim_in;
      const frames = playable ? shot.trim_out - shot.trim_in : 0;
      const seg = { id: shot.shot_id, shot, index, start, frames, end: start + frames, playable };
      start += frames;
      seen.add(seg.id);
      return seg;
    });
    this.total = start;
    this.byId = new Map(this.segs.map((s) => [s.id, s]));
    if (this.cur) this.cur = this.byId.get(this.cur.id) || null;
    for (const [id, btn] of this.buttons) {
      if (!seen.has(id)) {
        btn.remove();
        this.buttons.delete(id);
      }
    }
    this.segs.forEach((seg, i) => {
      let btn = this.buttons.get(seg.id);
      if (!btn) {
        btn = el("button", { type: "button", class: "kl-reel-seg", "data-shot-id": seg.id });
        btn.addEventListener("click", () => this.jump(btn.dataset.shotId), { signal: this.ac.signal });
        this.buttons.set(seg.id, btn);
      }
      seg.btn = btn;
      const name = shotName(seg.shot);
      const label = String(seg.shot.label ?? "");
      btn.textContent = seg.playable ? name : `${seg.shot.code} · no pick`;
      btn.classList.toggle("is-slate", !seg.playable);
      btn.style.setProperty("--kl-frames", String(Math.max(seg.frames, 1)));
      btn.dataset.start = String(seg.start);
      btn.dataset.frames = String(seg.frames);
      const what = seg.playable ? `${name}, ${timecode(seg.frames, this.fps)} long` : `${seg.shot.code}: no pick yet`;
      btn.setAttribute("aria-label", `Jump to ${seg.playable ? name : seg.shot.code}`);
      btn.title = label ? `${what}: ${label}` : what;
      const at = this.segsEl.children[i];
      if (at !== btn) this.segsEl.insertBefore(btn, at || null);
    });
    this.scrub.max = String(this.total);
  }

  // ---------------------------------------------------------------- timeline helpers
  playables() {
    return this.segs.filter((s) => s.playable);
  }

  nextPlayable(seg) {
    for (let i = seg.index + 1; i < this.segs.length; i++) if (this.segs[i].playable) return this.segs[i];
    return null;
  }

  // The playable shot at reel frame f and the source frame shown there (the end shows the last frame).
  locate(f) {
    const list = this.playables();
    if (!list.length) return null;
    for (const seg of list) if (f < seg.end) return [seg, seg.shot.trim_in + Math.max(0, f - seg.start)];
    const last = list[list.length - 1];
    return [last, last.shot.trim_out - 1];
  }

  // The source frame the shown slot is on now, inside the current shot's trims.
  sourceFrame() {
    const seg = this.cur;
    if (!seg) return null;
    const v = this.shown.video;
    const raw = this.shown.id === seg.id && v.readyState >= 1 ? Math.floor(v.currentTime * this.fps + 1e-3) : null;
    const fromPos = seg.shot.trim_in + Math.floor(this.pos - seg.start);
    return clamp(raw ?? fromPos, seg.shot.trim_in, seg.shot.trim_out - 1);
  }

  currentId() {
    return this.slateId || this.cur?.id || null;
  }

  // ---------------------------------------------------------------- transport
  togglePlay() {
    if (this.playing) this.pause();
    else this.play();
  }

  play() {
    if (!this.total) return;
    if (this.soundBlocked) this.soundBlocked = false; // this press is a fresh gesture
    this.slateId = null;
    if (this.pos >= this.total) this.seek(0, "seek");
    this.playing = true;
    if (!this.cur) this.seek(this.pos, "seek");
    this.startVideo(this.shown);
    this.watchFrames(this.shown);
    if (this.cur) this.logCut(this.cur, this.pos, this.pos, "start");
    this.render();
  }

  pause() {
    if (!this.playing) return;
    this.playing = false;
    const seg = this.cur;
    this.shown.video.pause();
    if (seg) {
      const k = this.sourceFrame();
      this.pos = seg.start + (k - seg.shot.trim_in);
      this.load(this.shown, seg, k); // land exactly on the frame the timecode says
    }
    this.render();
  }

  // Reel frame f: show its shot and frame (playing on from there if the reel is playing).
  seek(f, cause) {
    f = clamp(Math.round(Number(f) || 0), 0, this.total);
    this.pos = f;
    this.slateId = null;
    const hit = this.locate(f);
    if (!hit) {
      this.cur = null;
      for (const s of this.slots) s.video.classList.remove("is-shown");
      return this.render();
    }
    const [seg, frame] = hit;
    const changed = this.cur?.id !== seg.id;
    let slot = this.slots.find((s) => s.id === seg.id);
    if (!slot) slot = this.cur ? this.other(this.shown) : this.shown;
    this.load(slot, seg, frame);
    this.setShown(slot);
    this.cur = seg;
    if (this.playing) this.startVideo(slot);
    this.preloadAfter(seg);
    if (changed) this.logCut(seg, f, f, cause);
    this.render();
  }

  jump(id) {
    const seg = this.byId.get(id);
    if (!seg) return;
    if (!seg.playable) {
      // A shot without a pick: its slate, at the place in the reel where it would go.
      this.pause();
      this.seek(seg.start, "jump");
      this.slateId = seg.id;
      this.render();
    } else {
      this.seek(seg.start, "jump");
    }
    this.emit("jump", seg.id);
  }

  step(dir) {
    this.pause();
    this.seek(Math.floor(this.pos) + dir, "seek");
  }

  // The shown clip reached its out point: cut to the next shot, or end the reel.
  onOutPoint(mediaTime, via = "") {
    const seg = this.cur;
    if (!seg || !this.playing) return;
    const measured = seg.start + (mediaTime * this.fps - seg.shot.trim_in);
    const next = this.nextPlayable(seg);
    if (!next) {
      this.playing = false;
      this.shown.video.pause();
      this.pos = this.total;
      this.logCut(null, measured, this.total, "end", via);
      return this.render();
    }
    let slot = this.other(this.shown);
    if (slot.id !== next.id) this.load(slot, next, next.shot.trim_in); // not preloaded yet: it stalls a moment
    this.startVideo(slot); // unmuted before it moves: the next take's sound starts with its picture
    const old = this.shown;
    this.setShown(slot);
    old.video.pause();
    this.cur = next;
    this.pos = next.start;
    this.logCut(next, measured, next.start, "play", via);
    this.preloadAfter(next);
    this.render();
  }

  logCut(seg, reelFrame, cutFrame, cause, via = "") {
    this.cuts.push({
      shot_id: seg ? seg.id : null,
      code: seg ? seg.shot.code : null,
      reelFrame: Math.round(reelFrame * 100) / 100,
      cutFrame,
      at: performance.now(),
      cause,
      via,
    });
    if (this.cuts.length > 500) this.cuts.splice(0, this.cuts.length - 500);
    if (seg && cause !== "update" && cause !== "start") this.announce(`${shotName(seg.shot)}${seg.shot.label ? `: ${seg.shot.label}` : ""}`);
  }

  emit(kind, shotId) {
    this.setTriggerValue("event", { kind, shot_id: shotId });
  }

  announce(text) {
    this.liveEl.textContent = text;
  }

  // ---------------------------------------------------------------- the frame loop
  tick(via = "loop") {
    if (this.destroyed || !this.playing || !this.cur) return;
    const seg = this.cur;
    const slot = this.shown;
    const v = slot.video;
    if (slot.id !== seg.id) return;
    const t = v.currentTime;
    const out = seg.shot.trim_out / this.fps;
    if (!v.seeking && (t >= out - HALF / this.fps || v.ended)) return this.onOutPoint(t, via);
    if (v.paused && !v.seeking && v.readyState >= 2) this.startVideo(slot); // e.g. after a buffering stall
    const f = seg.start + clamp(t * this.fps - seg.shot.trim_in, 0, seg.frames - 1e-6);
    this.pos = f;
    this.renderClock();
  }

  // ---------------------------------------------------------------- chrome
  renderClock() {
    const f = Math.floor(this.pos + 1e-6);
    const frameText = String(f);
    if (this.root.dataset.reelFrame !== frameText) this.root.dataset.reelFrame = frameText;
    const text = `${timecode(f, this.fps)} / ${timecode(this.total, this.fps)}`;
    if (this.timeEl.textContent !== text) {
      this.timeEl.textContent = text;
      this.scrub.setAttribute("aria-valuetext", `${timecode(f, this.fps)} of ${timecode(this.total, this.fps)}`);
    }
    if (!this.scrubbing && Number(this.scrub.value) !== f) this.scrub.value = String(f);
  }

  render() {
    const hasReel = this.total > 0;
    const id = this.currentId();
    const seg = id ? this.byId.get(id) : null;
    this.root.dataset.state = this.playing ? "playing" : this.pos >= this.total && hasReel ? "ended" : "paused";
    this.root.dataset.currentShot = id || "";
    this.root.dataset.totalFrames = String(this.total);
    this.currentEl.dataset.shotId = id || "";
    const current = seg ? `${shotName(seg.shot)}${seg.shot.label ? ` · ${seg.shot.label}` : ""}` : "";
    if (this.currentEl.textContent !== current) this.currentEl.textContent = current;
    for (const s of this.segs) {
      const on = s.id === id;
      s.btn.classList.toggle("is-current", on);
      if (on) s.btn.setAttribute("aria-current", "true");
      else s.btn.removeAttribute("aria-current");
    }

    const slate = !!this.slateId && !!seg;
    this.slate.hidden = !slate;
    if (slate) {
      this.slateCode.textContent = seg.shot.code;
      this.slateText.textContent = `${seg.shot.label ? `${seg.shot.label} · ` : ""}no pick yet: skipped in the reel`;
    }
    const empty = !this.segs.length ? "This sequence has no shots yet."
      : !hasReel ? "No shot has a pick yet: pick a take in a shot to play the reel." : "";
    this.emptyEl.hidden = !empty || slate;
    if (this.emptyEl.textContent !== empty) this.emptyEl.textContent = empty;

    this.playText.textContent = this.playing ? "Pause" : "Play";
    const icon = this.playing ? ICON.pause : ICON.play;
    if (this.playIcon.innerHTML !== icon) this.playIcon.innerHTML = icon;
    this.playBtn.title = hasReel ? `${this.playing ? "Pause" : "Play"} the reel (Space)` : "Nothing to play yet";
    for (const b of [this.playBtn, this.backBtn, this.fwdBtn, this.scrub]) b.disabled = !hasReel;
    this.takesBtn.disabled = !seg;
    const takes = seg ? `Takes of ${seg.shot.code}` : "Takes";
    if (this.takesBtn.textContent !== takes) this.takesBtn.textContent = takes;
    this.takesBtn.setAttribute("aria-label", seg ? `Show the takes of ${seg.shot.code} side by side` : "Takes");
    this.renderSound();
    this.renderClock();
  }

  renderSound() {
    const seg = this.cur;
    let text = "";
    if (this.soundBlocked) text = "The browser held back the sound: press Play to hear it.";
    else if (seg) text = seg.shot.has_audio ? `Sound: ${shotName(seg.shot)}.` : `${shotName(seg.shot)} has no sound.`;
    if (this.soundEl.textContent !== text) this.soundEl.textContent = text;
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
      default:
        return false;
    }
  }

  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    cancelAnimationFrame(this.raf);
    clearInterval(this.interval);
    this.ac.abort();
    for (const s of this.slots) {
      s.video.pause();
      s.video.removeAttribute("src");
      s.video.load(); // releases the decoder and the connection now rather than at GC
      s.video.remove();
    }
    this.segsEl.replaceChildren();
    instances.delete(this.parent);
    live.delete(this);
    if (lastActive === this) lastActive = null;
    if (window.__reelCuts === this.cuts) window.__reelCuts = undefined;
    if (live.size === 0) document.removeEventListener("keydown", onDocumentKey);
  }
}

export default function mountReelPlayer({ data, parentElement, setTriggerValue }) {
  const root = parentElement.querySelector(".kl-reel");
  let reel = instances.get(parentElement);
  if (reel && reel.root !== root) reel.destroy(); // Streamlit re-injected the HTML: start over
  if (!root) return undefined;
  reel = instances.get(parentElement);
  if (!reel) {
    reel = new Reel(parentElement, root);
    instances.set(parentElement, reel);
  }
  reel.setTriggerValue = setTriggerValue;
  reel.update(data || {});
  // Streamlit keeps only the last returned cleanup and runs it once, at unmount.
  return reel.cleanup;
}
