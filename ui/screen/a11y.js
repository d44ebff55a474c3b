// Every page's accessibility helpers (ui/screen/a11y.py runs this once per page load; no less-than sign anywhere in
// this file: the HTML sanitiser drops a script whose text has one):
// - Plotly's own SVGs in a paused chart (a container keyed "abp_chart_" and its key, ui/screen/charts.py), which a
//   screen reader reads as runs of tick numbers, are hidden from it: the visually hidden image before the
//   chart names and describes it;
// - a slider is named once ("Speed", not "Speed Speed": Streamlit labels its range input both by its own
//   aria-label and by the group's, which says the same);
// - a button's shortcut badge is left out of its name ("Play", not "Play Shortcut Space") and given as
//   aria-keyshortcuts instead;
// - a display equation wider than its column (on a phone, or while KaTeX's fonts are still loading) scrolls, so it
//   takes keyboard focus then (and only then), to be scrolled with the arrow keys: checked when it appears, when
//   its box changes size and when web fonts have loaded;
// - a keyboard shortcut (st.button(shortcut=...)) never fires while focus is on a slider, a radio list, a field
//   or a control that Space or Enter activates: Streamlit's own filter only skips text fields.
(() => {
  if (window.__abpA11y) return;
  window.__abpA11y = true;
  const KEYS = { "→": "ArrowRight", "←": "ArrowLeft", "↑": "ArrowUp", "↓": "ArrowDown" };
  const tidy = () => {
    for (const svg of document.querySelectorAll('[class*="st-key-abp_chart_"] svg.main-svg:not([aria-hidden])')) {
      svg.setAttribute("aria-hidden", "true");
    }
    for (const input of document.querySelectorAll('[data-testid="stSlider"] input[type="range"][aria-labelledby]')) {
      input.removeAttribute("aria-labelledby");
    }
    for (const kbd of document.querySelectorAll("button kbd:not([aria-hidden])")) {
      kbd.setAttribute("aria-hidden", "true");
      const key = kbd.textContent.trim();
      kbd.closest("button").setAttribute("aria-keyshortcuts", KEYS[key] || key);
    }
    for (const eq of document.querySelectorAll(".katex-display:not([data-abp-watched])")) {
      eq.dataset.abpWatched = "1";
      scrolls.observe(eq);   // checked at once, then whenever its box changes size
    }
  };
  const focusIfScrolls = (eq) => {
    if (eq.scrollWidth > eq.clientWidth) eq.setAttribute("tabindex", "0");
    else eq.removeAttribute("tabindex");
  };
  const scrolls = new ResizeObserver((entries) => entries.forEach((e) => focusIfScrolls(e.target)));
  tidy();
  document.fonts.addEventListener("loadingdone", () => document.querySelectorAll(".katex-display").forEach(focusIfScrolls));
  // at most once an animation frame, and never for the live board's own redraws (its charts are named images
  // already, and it redraws several times a second)
  const inBoard = (node) => Boolean((node.nodeType === 1 ? node : node.parentElement)?.closest(".abp-board"));
  let queued = false;
  new MutationObserver((records) => {
    if (queued || records.every((r) => inBoard(r.target))) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; tidy(); });
  }).observe(document.body, { childList: true, subtree: true });

  const OWN_KEYS = '[role="slider"], [role="radiogroup"], [role="radio"], [role="listbox"], [role="option"], ' +
    'input, textarea, select, [contenteditable="true"]';
  const ACTIVATED = 'button, a[href], summary, [role="button"], [role="tab"], [role="switch"], [role="checkbox"]';
  const keepsKey = (e) => {
    const t = e.composedPath()[0];
    if (!t || !t.closest) return false;
    return Boolean(t.closest(OWN_KEYS) || ((e.key === " " || e.key === "Enter") && t.closest(ACTIVATED)));
  };
  const hotkeys = window.hotkeys;
  if (!hotkeys) return;
  let streamlitFilter = hotkeys.filter || (() => true);
  Object.defineProperty(hotkeys, "filter", {
    configurable: true,
    get: () => (e) => !keepsKey(e) && streamlitFilter(e),
    set: (f) => { streamlitFilter = f; },
  });
})();
