// ---------------------------------------------------------------- review (joined after grid.js)
// A take's review on its cell: timecoded comments (marks on the cell's track and rows under it),
// its status, the reviewers who picked it, a badge and its lineage. Every string from data goes
// in through textContent or an attribute, never as markup. Python is the source of truth: a new,
// edited or deleted comment and a status come back on the rerun the event causes.

// One colour per take (by place in the grid): its track marks and its cell's edge.
const TAKE_COLORS = ["#e4572e", "#1c83e1", "#2a9d3f", "#b35cd6", "#d99a00", "#17a2b8", "#d6336c", "#6c757d",
  "#8a6d3b", "#0f9d8a"];
const STATUS_BUTTONS = [["approved", "Approve"], ["changes", "Request changes"], ["rejected", "Reject"]];
const DEFAULT_STATUS_WORDS = { approved: "Approved", changes: "Changes requested", rejected: "Rejected" };
const CONFIRM_MS = 4000; // a Delete press waits this long for its confirmation

// The start of the frame nearest t (24 fps), never below 0.
const frameTime = (t) => Math.round(Math.max(0, Number(t) || 0) / FRAME) * FRAME;
const frameOf = (t) => Math.round(Math.max(0, Number(t) || 0) / FRAME);
const when = (c) => (c.until == null ? fmt(c.at) : `${fmt(c.at)}–${fmt(c.until)}`);

Object.assign(Grid.prototype, {
  readReviewOptions(data) {
    this.allowComments = data.allow_comments === true;
    this.allowStatus = data.allow_status === true;
    this.statusWords = { ...DEFAULT_STATUS_WORDS, ...(data.status_words || {}) };
    this.maxCommentChars = Number(data.max_comment_chars) || 2000;
    this.scrubMarksEl = this.scrubMarksEl || this.root.querySelector(".kl-scrub-marks");
    this.scrubMarksEnd = null; // redraw the scrubber's ticks after this update (order, comments)
  },

  createReview(cell) {
    const opt = { signal: this.ac.signal };
    // Status, badge, lineage, picks by name: small text lines under the caption.
    cell.statusEl = el("span", { class: "kl-status", "data-testid": "take-status", hidden: "" });
    cell.badgeEl = el("span", { class: "kl-badge", hidden: "" });
    cell.lineageEl = el("p", { class: "kl-lineage", hidden: "" });
    cell.picksEl = el("p", { class: "kl-picked-by", hidden: "" });
    cell.statusBtns = STATUS_BUTTONS.map(([value, word]) =>
      el("button", { type: "button", class: "kl-status-btn", "data-status": value, "aria-pressed": "false", text: word }));
    cell.statusBar = el("div", { class: "kl-status-bar", role: "group", hidden: "" }, ...cell.statusBtns);
    cell.reviewEl = el("div", { class: "kl-review" },
      el("div", { class: "kl-review-row" }, cell.statusEl, cell.badgeEl), cell.lineageEl, cell.picksEl, cell.statusBar);

    // The cell's track: the whole timeline's width, so every cell's marks line up with the scrubber.
    cell.trackFill = el("span", { class: "kl-track-fill" });
    cell.trackSel = el("span", { class: "kl-track-sel", hidden: "" });
    cell.trackMarks = el("span", { class: "kl-track-marks" });
    cell.trackHead = el("span", { class: "kl-track-head" });
    cell.track = el("div", { class: "kl-track", hidden: "" }, cell.trackFill, cell.trackSel, cell.trackMarks,
      cell.trackHead);

    // The inline composer: what frame (or range), a textarea, Mark in / Mark out, Send / Cancel.
    cell.composeWhen = el("span", { class: "kl-compose-when" });
    cell.composeText = el("textarea", { class: "kl-compose-text", rows: "2" });
    cell.composeNote = el("span", { class: "kl-compose-note", role: "status" });
    cell.markInBtn = el("button", { type: "button", class: "kl-mark-in", text: "Mark in" });
    cell.markOutBtn = el("button", { type: "button", class: "kl-mark-out", text: "Mark out" });
    cell.sendBtn = el("button", { type: "button", class: "kl-send", text: "Send" });
    cell.cancelBtn = el("button", { type: "button", class: "kl-cancel", text: "Cancel" });
    cell.composer = el("div", { class: "kl-composer", hidden: "" },
      cell.composeWhen, cell.composeText,
      el("div", { class: "kl-compose-actions" }, cell.markInBtn, cell.markOutBtn, cell.composeNote, cell.cancelBtn,
        cell.sendBtn));
    cell.commentBtn = el("button", { type: "button", class: "kl-comment-btn", hidden: "", text: "Comment" });
    cell.listEl = el("ol", { class: "kl-comments", hidden: "" });
    cell.comments = [];
    cell.draft = null; // {at, until} while the composer is open
    cell.editing = null; // {id, box, text} while one of the viewer's comments is being edited

    cell.commentBtn.addEventListener("click", () => this.openComposer(cell, this.position), opt);
    cell.sendBtn.addEventListener("click", () => this.sendDraft(cell), opt);
    cell.cancelBtn.addEventListener("click", () => this.closeComposer(cell), opt);
    cell.markInBtn.addEventListener("click", () => this.markDraft(cell, "in"), opt);
    cell.markOutBtn.addEventListener("click", () => this.markDraft(cell, "out"), opt);
    cell.composeText.addEventListener("keydown", (e) => this.composerKey(e, cell), opt);
    cell.composeText.addEventListener("input", () => this.renderDraft(cell), opt);
    cell.statusBtns.forEach((btn) => btn.addEventListener("click", () => this.pressStatus(cell, btn.dataset.status), opt));
    cell.track.addEventListener("pointerdown", (e) => this.trackDown(e, cell), opt);
    cell.track.addEventListener("pointermove", (e) => this.trackMove(e, cell), opt);
    cell.track.addEventListener("pointerup", (e) => this.trackUp(e, cell), opt);
    cell.track.addEventListener("pointercancel", () => this.trackCancel(cell), opt);
  },

  renderReview(cell, clip, label, noVideo, index) {
    cell.el.style.setProperty("--kl-take-color", TAKE_COLORS[index % TAKE_COLORS.length]);

    const status = Object.hasOwn(this.statusWords, clip.status ?? "") ? clip.status : null;
    const word = status ? this.statusWords[status] : "";
    cell.statusEl.hidden = !status;
    cell.statusEl.dataset.status = status || "";
    cell.statusEl.textContent = status ? (clip.status_by ? `${word} · by ${clip.status_by}` : word) : "";
    cell.statusValue = status;
    cell.statusBar.hidden = !this.allowStatus;
    cell.statusBar.setAttribute("aria-label", `Review status for ${label}`);
    cell.statusBtns.forEach((btn) => {
      const [value, verb] = STATUS_BUTTONS.find(([v]) => v === btn.dataset.status);
      btn.setAttribute("aria-label", `${verb} ${label}`);
      btn.setAttribute("aria-pressed", String(status === value));
      btn.title = status === value ? `${this.statusWords[value]}: press again to clear it` : `Mark this take ${this.statusWords[value].toLowerCase()}`;
      btn.disabled = noVideo;
    });

    cell.badgeEl.textContent = clip.badge ?? "";
    cell.badgeEl.hidden = !clip.badge;
    cell.lineageEl.textContent = clip.lineage ?? "";
    cell.lineageEl.hidden = !clip.lineage;
    const picks = Array.isArray(clip.review_picks) ? clip.review_picks.map(String) : [];
    cell.picksEl.textContent = picks.length ? `Picked by ${picks.join(", ")}` : "";
    cell.picksEl.hidden = !picks.length;
    cell.reviewEl.hidden = !status && !clip.badge && !clip.lineage && !picks.length && !this.allowStatus;

    cell.commentBtn.hidden = !this.allowComments;
    cell.commentBtn.disabled = noVideo;
    cell.commentBtn.setAttribute("aria-label", `Comment on ${label}`);
    cell.commentBtn.title = noVideo ? "Not yet: available once this take's clip arrives"
      : "Comment at the current frame (C); shift-drag the take's track for a range";
    cell.composeText.setAttribute("aria-label", `Comment on ${label}`);
    cell.composeText.maxLength = this.maxCommentChars;
    cell.sendBtn.setAttribute("aria-label", `Send comment on ${label}`);
    if (!this.allowComments && cell.draft) this.closeComposer(cell);

    this.renderComments(cell, Array.isArray(clip.comments) ? clip.comments : []);
    const showTrack = this.allowComments || cell.comments.length > 0;
    cell.track.hidden = !showTrack;
    cell.track.title = this.allowComments ? "Click to go to a time; shift-drag to comment on a range" : "Comments on this take";
    this.layoutTrack(cell, this.timelineDuration(), true);
  },

  // ------------------------------------------------------------ comments: marks and rows
  renderComments(cell, comments) {
    const clean = comments
      .filter((c) => c && Number.isFinite(Number(c.at)))
      .map((c) => ({
        id: c.id,
        at: Number(c.at),
        until: c.until == null || !Number.isFinite(Number(c.until)) ? null : Number(c.until),
        author: String(c.author ?? ""),
        text: String(c.text ?? ""),
        mine: c.mine === true,
      }))
      .sort((a, b) => a.at - b.at || (a.until ?? a.at) - (b.until ?? b.at) || String(a.id).localeCompare(String(b.id)));
    const key = JSON.stringify([clean, this.allowComments]);
    if (key === cell.commentsKey) return;
    cell.commentsKey = key;
    cell.comments = clean;

    cell.trackMarks.replaceChildren(...clean.map((c) => {
      const mark = el("span", {
        class: c.until == null ? "kl-marker" : "kl-marker is-range",
        "data-testid": "comment-marker",
        "data-at": c.at.toFixed(3),
        "data-clip-id": cell.id,
        "data-comment-id": String(c.id),
        title: `${c.author}: ${c.text}`,
      });
      if (c.until != null) mark.dataset.until = c.until.toFixed(3);
      mark.addEventListener("pointerdown", (e) => {
        e.stopPropagation(); // the mark's own time, not the pointer's
        this.seekToComment(c);
      }, { signal: this.ac.signal });
      mark.comment = c;
      return mark;
    }));

    // Keep an open editor (its text, caret and focus) across reruns while its comment exists.
    const editing = cell.editing && clean.find((c) => c.id === cell.editing.id && c.mine);
    const focused = editing && this.focusedIn(cell.editing.box);
    const caret = focused ? [cell.editing.text.selectionStart, cell.editing.text.selectionEnd] : null;
    if (!editing) cell.editing = null;
    cell.listEl.replaceChildren(...clean.map((c) => this.commentRow(cell, c)));
    cell.listEl.hidden = clean.length === 0;
    cell.listEl.setAttribute("aria-label", `Comments on ${cell.clip?.label ?? "this take"}`);
    if (focused) {
      cell.editing.text.focus({ preventScroll: true });
      cell.editing.text.setSelectionRange(...caret);
    }
  },

  commentRow(cell, c) {
    const opt = { signal: this.ac.signal };
    const time = el("span", { class: "kl-comment-time", text: when(c) });
    const author = el("span", { class: "kl-comment-author", text: c.author });
    const text = el("span", { class: "kl-comment-text", text: c.text });
    const seek = el("button", { type: "button", class: "kl-comment-seek", "data-testid": "comment-row",
      "data-at": c.at.toFixed(3), title: `Go to ${fmt(c.at)} (frame ${frameOf(c.at)}) in every take` },
    time, author, text);
    seek.addEventListener("click", () => this.seekToComment(c), opt);
    const row = el("li", { class: "kl-comment", "data-comment-id": String(c.id) }, seek);
    if (!(c.mine && this.allowComments)) return row;

    if (cell.editing && cell.editing.id === c.id) {
      row.append(cell.editing.box);
      return row;
    }
    const edit = el("button", { type: "button", class: "kl-comment-edit", text: "Edit",
      "aria-label": `Edit your comment at ${when(c)}` });
    const del = el("button", { type: "button", class: "kl-comment-delete", text: "Delete",
      "aria-label": `Delete your comment at ${when(c)}` });
    edit.addEventListener("click", () => this.startEdit(cell, c), opt);
    del.addEventListener("click", () => {
      if (del.dataset.confirm === "1") {
        this.setTriggerValue("event", { kind: "delete_comment", clip_id: cell.id, value: { id: c.id } });
        del.disabled = true;
        return;
      }
      del.dataset.confirm = "1";
      del.textContent = "Confirm delete";
      setTimeout(() => {
        if (!del.isConnected || del.disabled) return;
        del.dataset.confirm = "";
        del.textContent = "Delete";
      }, CONFIRM_MS);
    }, opt);
    row.append(el("span", { class: "kl-comment-tools" }, edit, del));
    return row;
  },

  startEdit(cell, c) {
    const opt = { signal: this.ac.signal };
    const text = el("textarea", { class: "kl-edit-text", rows: "2", "aria-label": `Edit your comment at ${when(c)}` });
    text.maxLength = this.maxCommentChars;
    text.value = c.text;
    const note = el("span", { class: "kl-compose-note", role: "status" });
    const save = el("button", { type: "button", class: "kl-edit-save", text: "Save" });
    const cancel = el("button", { type: "button", class: "kl-edit-cancel", text: "Cancel" });
    const box = el("div", { class: "kl-edit" }, text, el("div", { class: "kl-compose-actions" }, note, cancel, save));
    const finish = () => {
      cell.editing = null;
      cell.commentsKey = null;
      this.renderComments(cell, cell.comments);
    };
    const submit = () => {
      const value = text.value.trim();
      const problem = this.textProblem(value);
      if (problem) {
        note.textContent = problem;
        return;
      }
      if (value !== c.text) this.setTriggerValue("event", { kind: "edit_comment", clip_id: cell.id, value: { id: c.id, text: value } });
      finish();
    };
    save.addEventListener("click", submit, opt);
    cancel.addEventListener("click", finish, opt);
    text.addEventListener("keydown", (e) => {
      e.stopPropagation(); // typing belongs to the box, never to the transport
      if (e.key === "Escape") finish();
      else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit();
    }, opt);
    if (this.playing) this.pause();
    cell.editing = { id: c.id, box, text };
    cell.commentsKey = null;
    this.renderComments(cell, cell.comments);
    text.focus({ preventScroll: true });
  },

  textProblem(value) {
    if (!value) return "Type a comment first.";
    if (value.length > this.maxCommentChars) return `A comment is at most ${this.maxCommentChars} characters.`;
    return "";
  },

  focusedIn(node) {
    const active = this.root.getRootNode()?.activeElement;
    return !!active && node.contains(active);
  },

  // Every take to the comment's first frame (paused there, so the frame is the one it is about).
  seekToComment(c) {
    if (this.playing) this.pause();
    this.seekTo(c.at);
  },

  // ------------------------------------------------------------ the composer
  // The cell the C key comments on: the one holding focus, else the enlarged one, else the heard one.
  commentKey(e) {
    if (!this.allowComments) return false;
    const inCell = e.composedPath().find((n) => n?.classList?.contains("kl-cell"));
    const byEl = inCell && [...this.cells.values()].find((c) => c.el === inCell);
    const cell = byEl || this.cells.get(this.enlargedId) || this.cells.get(this.heardId()) || this.videoCells()[0];
    if (!cell || !cell.video) return false;
    this.openComposer(cell, this.position);
    return true;
  },

  // A time on this take: the frame at t, no later than the take's own last frame.
  clipFrame(cell, t) {
    const d = this.durationOf(cell);
    const last = d > 0 ? Math.floor(d / FRAME + 1e-6) * FRAME : Infinity;
    return Math.min(frameTime(t), last);
  },

  openComposer(cell, at, until = null) {
    if (!this.allowComments || !cell.video) return;
    if (this.playing) this.pause(); // playback waits while the comment is typed
    const start = this.clipFrame(cell, at);
    const end = until == null ? null : this.clipFrame(cell, until);
    cell.draft = { at: start, until: end != null && end > start ? end : null };
    cell.composer.hidden = false;
    cell.composeNote.textContent = "";
    this.renderDraft(cell);
    cell.composeText.focus({ preventScroll: true });
  },

  closeComposer(cell) {
    cell.draft = null;
    cell.composer.hidden = true;
    cell.composeText.value = "";
    cell.composeNote.textContent = "";
    this.renderDraft(cell);
  },

  markDraft(cell, edge) {
    if (!cell.draft) return;
    const t = this.clipFrame(cell, this.position);
    const { at, until } = cell.draft;
    if (edge === "in") cell.draft = { at: t, until: until != null && until > t ? until : null };
    else if (t > at) cell.draft = { at, until: t };
    else if (t < at) cell.draft = { at: t, until: at };
    else cell.draft = { at, until: null };
    this.renderDraft(cell);
    cell.composeText.focus({ preventScroll: true });
  },

  renderDraft(cell) {
    const d = cell.draft;
    const end = this.timelineDuration();
    cell.trackSel.hidden = !d || !(end > 0);
    if (!d) return;
    const frames = d.until == null ? `frame ${frameOf(d.at)}` : `frames ${frameOf(d.at)}–${frameOf(d.until)}`;
    cell.composeWhen.textContent = d.until == null ? `at ${fmt(d.at)} · ${frames}` : `from ${fmt(d.at)} to ${fmt(d.until)} · ${frames}`;
    if (end > 0) {
      cell.trackSel.style.left = `${(d.at / end) * 100}%`;
      cell.trackSel.style.width = d.until == null ? "" : `${((d.until - d.at) / end) * 100}%`;
      cell.trackSel.classList.toggle("is-range", d.until != null);
    }
    const length = cell.composeText.value.trim().length;
    cell.sendBtn.disabled = length === 0 || length > this.maxCommentChars;
  },

  composerKey(e, cell) {
    e.stopPropagation(); // typing belongs to the box, never to the transport or the page
    if (e.key === "Escape") {
      e.preventDefault();
      this.closeComposer(cell);
      cell.commentBtn.focus({ preventScroll: true });
    } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      this.sendDraft(cell);
    }
  },

  sendDraft(cell) {
    if (!cell.draft) return;
    const text = cell.composeText.value.trim();
    const problem = this.textProblem(text);
    if (problem) {
      cell.composeNote.textContent = problem;
      return;
    }
    const { at, until } = cell.draft;
    this.setTriggerValue("event", { kind: "comment", clip_id: cell.id, value: { at, until, text } });
    this.closeComposer(cell);
    this.announce(`Comment sent at ${fmt(at)}`);
  },

  // ------------------------------------------------------------ status
  pressStatus(cell, value) {
    const next = cell.statusValue === value ? null : value; // the current one again clears it
    cell.statusValue = next;
    cell.statusBtns.forEach((btn) => btn.setAttribute("aria-pressed", String(btn.dataset.status === next)));
    this.setTriggerValue("event", { kind: "status", clip_id: cell.id, value: next });
  },

  // ------------------------------------------------------------ the cell's track
  trackTime(e, cell) {
    const box = cell.track.getBoundingClientRect();
    const end = this.timelineDuration();
    if (!(box.width > 0) || !(end > 0)) return null;
    return clamp((e.clientX - box.left) / box.width, 0, 1) * end;
  },

  trackDown(e, cell) {
    const t = this.trackTime(e, cell);
    if (t == null || !cell.video || e.button !== 0) return;
    cell.track.setPointerCapture?.(e.pointerId);
    if (e.shiftKey && this.allowComments) {
      if (this.playing) this.pause();
      cell.rangeFrom = this.clipFrame(cell, t);
      cell.draft = { at: cell.rangeFrom, until: null };
      this.renderDraft(cell);
      return;
    }
    cell.trackSeeking = true;
    this.seekTo(frameTime(t));
  },

  trackMove(e, cell) {
    if (cell.rangeFrom == null && !cell.trackSeeking) return;
    const t = this.trackTime(e, cell);
    if (t == null) return;
    if (cell.trackSeeking) return void this.seekTo(frameTime(t));
    const to = this.clipFrame(cell, t);
    const [a, b] = to < cell.rangeFrom ? [to, cell.rangeFrom] : [cell.rangeFrom, to];
    cell.draft = { at: a, until: b > a ? b : null };
    this.renderDraft(cell);
  },

  trackUp(e, cell) {
    if (cell.trackSeeking) {
      cell.trackSeeking = false;
      return;
    }
    if (cell.rangeFrom == null) return;
    this.trackMove(e, cell);
    cell.rangeFrom = null;
    const { at, until } = cell.draft;
    this.openComposer(cell, at, until);
  },

  trackCancel(cell) {
    cell.trackSeeking = false;
    if (cell.rangeFrom == null) return;
    cell.rangeFrom = null;
    if (cell.composer.hidden) this.closeComposer(cell);
  },

  // Marks sit at time / timeline length; the playhead follows the clock (called from updateClock).
  layoutTrack(cell, end, force = false) {
    if (cell.track.hidden) return;
    const d = this.durationOf(cell);
    const fill = end > 0 ? clamp(d / end, 0, 1) : 0;
    if (force || cell.fillFrac !== fill) {
      cell.fillFrac = fill;
      cell.trackFill.style.width = `${fill * 100}%`;
    }
    if (!force && cell.trackEnd === end) return;
    cell.trackEnd = end;
    const scale = end > 0 ? end : Math.max(d, ...cell.comments.map((c) => c.until ?? c.at), 1);
    for (const mark of cell.trackMarks.children) {
      const c = mark.comment;
      mark.style.left = `${clamp(c.at / scale, 0, 1) * 100}%`;
      if (c.until != null) mark.style.width = `${clamp((c.until - c.at) / scale, 0, 1) * 100}%`;
    }
    if (cell.draft) this.renderDraft(cell);
  },

  // One tick per comment of every take under the shared scrubber, in the take's colour.
  renderScrubMarks(end) {
    this.scrubMarksEnd = end;
    if (!this.scrubMarksEl) return;
    const ticks = [];
    this.order.forEach((cell, i) => {
      for (const c of cell.comments) {
        const tick = el("span", { class: c.until == null ? "kl-scrub-mark" : "kl-scrub-mark is-range",
          "data-testid": "scrub-marker", "data-at": c.at.toFixed(3), "data-clip-id": cell.id });
        tick.style.background = TAKE_COLORS[i % TAKE_COLORS.length];
        tick.style.left = `${end > 0 ? clamp(c.at / end, 0, 1) * 100 : 0}%`;
        if (c.until != null && end > 0) tick.style.width = `${clamp((c.until - c.at) / end, 0, 1) * 100}%`;
        ticks.push(tick);
      }
    });
    this.scrubMarksEl.replaceChildren(...ticks);
  },

  updateTracks(t, end) {
    if (this.scrubMarksEnd !== end) this.renderScrubMarks(end);
    for (const cell of this.order) {
      if (cell.track.hidden) continue;
      this.layoutTrack(cell, end);
      const left = `${end > 0 ? clamp(t / end, 0, 1) * 100 : 0}%`;
      if (cell.trackHead.style.left !== left) cell.trackHead.style.left = left;
    }
  },
});
