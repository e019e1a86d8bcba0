"""The browser side of the workspace: the sketch canvas (zoom, pan, clicks with Shift/Alt, a keyboard cursor), the
clickable region table, and the Ctrl+Z / Ctrl+Shift+Z shortcuts. Plain strings handed to ``gr.HTML`` and
``launch(head=...)``; the Python side only receives ``trigger('click', {...})`` events with plain numbers.
"""

#: The canvas: ``value`` is ``{"src": url, "w": sketch width, "h": sketch height, "alt": text}`` or null.
CANVAS_TEMPLATE = """
<div class="gs-cv" tabindex="0" role="application"
     aria-label="Sketch canvas. Click a part to select it; Shift-click adds the area to the selected region,
     Alt-click removes it. Keyboard: arrow keys move the cursor, Enter clicks, Shift+Enter adds, Alt+Enter removes,
     plus and minus zoom, 0 fits.">
  ${value && value.src ? `<div class="gs-stage"><img class="gs-img" src="${value.src}" alt="${value.alt || ''}"
      draggable="false" data-w="${value.w}" data-h="${value.h}"/><div class="gs-kbd" aria-hidden="true"></div></div>`
    : `<div class="gs-cv-empty">Load a sketch, open a project, or pick a sample to begin.</div>`}
  <div class="gs-zoombar">
    <button type="button" class="gs-zb" data-z="in" aria-label="Zoom in">+</button>
    <button type="button" class="gs-zb" data-z="out" aria-label="Zoom out">−</button>
    <button type="button" class="gs-zb" data-z="fit" aria-label="Fit the sketch to the canvas">Fit</button>
    <span class="gs-zlabel" aria-live="polite">100%</span>
  </div>
</div>
"""

CANVAS_JS = """
const st = {z: 1, tx: 0, ty: 0, kx: 0.5, ky: 0.5, kbd: false, drag: null, moved: false};
const img = () => element.querySelector('.gs-img');
const stage = () => element.querySelector('.gs-stage');
function apply() {
  const s = stage(); if (!s) return;
  s.style.transform = `translate(${st.tx}px, ${st.ty}px) scale(${st.z})`;
  const lab = element.querySelector('.gs-zlabel'); if (lab) lab.textContent = Math.round(st.z * 100) + '%';
  const k = element.querySelector('.gs-kbd');
  if (k) { k.style.display = st.kbd ? 'block' : 'none'; k.style.left = (st.kx * 100) + '%';
           k.style.top = (st.ky * 100) + '%'; }
}
function zoom(f, cx, cy) {
  const wrap = element.querySelector('.gs-cv').getBoundingClientRect();
  const px = (cx === undefined ? wrap.width / 2 : cx - wrap.left), py = (cy === undefined ? wrap.height / 2 : cy - wrap.top);
  const nz = Math.min(8, Math.max(1, st.z * f));
  st.tx = px - (px - st.tx) * nz / st.z; st.ty = py - (py - st.ty) * nz / st.z; st.z = nz;
  if (st.z === 1) { st.tx = 0; st.ty = 0; }
  apply();
}
function send(fx, fy, shift, alt) {
  if (!(fx >= 0 && fx <= 1 && fy >= 0 && fy <= 1)) return;
  trigger('click', {fx: fx, fy: fy, shift: !!shift, alt: !!alt});
}
element.addEventListener('click', (e) => {
  const zb = e.target.closest('.gs-zb');
  if (zb) { const z = zb.dataset.z; if (z === 'in') zoom(1.5); else if (z === 'out') zoom(1 / 1.5);
            else { st.z = 1; st.tx = 0; st.ty = 0; apply(); } return; }
  const im = img(); if (!im || e.target !== im) return;
  if (st.moved) { st.moved = false; return; }
  const r = im.getBoundingClientRect();
  st.kx = (e.clientX - r.left) / r.width; st.ky = (e.clientY - r.top) / r.height;
  send(st.kx, st.ky, e.shiftKey, e.altKey);
});
element.addEventListener('wheel', (e) => { if (!img()) return; e.preventDefault();
  zoom(e.deltaY < 0 ? 1.25 : 0.8, e.clientX, e.clientY); }, {passive: false});
element.addEventListener('pointerdown', (e) => { if (st.z <= 1 || e.button !== 0 || e.target.closest('.gs-zb')) return;
  st.drag = {x: e.clientX, y: e.clientY, tx: st.tx, ty: st.ty}; st.moved = false; });
window.addEventListener('pointermove', (e) => { if (!st.drag) return;
  const dx = e.clientX - st.drag.x, dy = e.clientY - st.drag.y;
  if (Math.abs(dx) + Math.abs(dy) > 4) st.moved = true;
  if (st.moved) { st.tx = st.drag.tx + dx; st.ty = st.drag.ty + dy; apply(); } });
window.addEventListener('pointerup', () => { st.drag = null; });
element.addEventListener('keydown', (e) => {
  if (!img()) return;
  const step = e.shiftKey ? 0.05 : 0.01; let used = true;
  if (e.key === 'ArrowLeft') st.kx = Math.max(0, st.kx - step);
  else if (e.key === 'ArrowRight') st.kx = Math.min(1, st.kx + step);
  else if (e.key === 'ArrowUp') st.ky = Math.max(0, st.ky - step);
  else if (e.key === 'ArrowDown') st.ky = Math.min(1, st.ky + step);
  else if (e.key === 'Enter' || e.key === ' ') send(st.kx, st.ky, e.shiftKey, e.altKey);
  else if (e.key === '+' || e.key === '=') zoom(1.5);
  else if (e.key === '-') zoom(1 / 1.5);
  else if (e.key === '0') { st.z = 1; st.tx = 0; st.ty = 0; }
  else used = false;
  if (used) { st.kbd = true; e.preventDefault(); apply(); }
});
// The canvas fills the window below it (the hint above it wraps to more lines on a narrow screen), so the sketch
// and the render stay on one screen; the CSS height is the fallback.
function fit() {
  const cv = element.querySelector('.gs-cv'); if (!cv) return;
  const top = cv.getBoundingClientRect().top + window.scrollY;
  cv.style.height = Math.round(Math.max(300, Math.min(900, window.innerHeight - top - 14))) + 'px';
}
window.addEventListener('resize', fit);
const bar = document.getElementById('gs-hintbar');
if (bar && window.ResizeObserver) new ResizeObserver(fit).observe(bar);
watch('value', () => { fit(); apply(); });
fit();
apply();
"""

#: The region table: a row click (or Enter / Space on a focused row) selects that region.
TABLE_JS = """
function pick(tr) { if (tr && tr.dataset.uid) trigger('click', {uid: parseInt(tr.dataset.uid, 10)}); }
element.addEventListener('click', (e) => pick(e.target.closest('tr[data-uid]')));
element.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') { const tr = e.target.closest('tr[data-uid]');
    if (tr) { e.preventDefault(); pick(tr); } } });
"""

#: Global shortcuts: Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y redo (not while typing in a text box).
HEAD = """
<script>
document.addEventListener('keydown', (e) => {
  if (!(e.ctrlKey || e.metaKey)) return;
  const t = e.target; const typing = t && (t.tagName === 'INPUT' && t.type !== 'range' || t.tagName === 'TEXTAREA'
                                           || t.isContentEditable);
  if (typing) return;
  const k = e.key.toLowerCase();
  let id = null;
  if (k === 'z' && !e.shiftKey) id = 'gs-undo';
  else if ((k === 'z' && e.shiftKey) || k === 'y') id = 'gs-redo';
  if (!id) return;
  const b = document.getElementById(id);
  if (b && !b.disabled) { e.preventDefault(); b.click(); }
});
// Names for Gradio's own unnamed parts (found by the axe scan in tests/ui/test_browser.py): gallery thumbnails
// say what they show ("dress", not "Thumbnail 1 of 4"), an image's click-through button says whose image it is,
// an empty image placeholder is an image.
function gsName() {
  document.querySelectorAll('button.thumbnail-item').forEach((b) => {
    const cap = b.querySelector('.caption-label'), img = b.querySelector('img');
    const name = (cap && cap.textContent.trim()) || (img && img.alt) || '';
    if (name && b.getAttribute('aria-label') !== name) b.setAttribute('aria-label', name);
  });
  document.querySelectorAll('.image-container > button:not([aria-label])').forEach((b) => {
    if (b.textContent.trim()) return;
    const block = b.closest('.block'), lab = block && block.querySelector('[data-testid="block-label"]');
    b.setAttribute('aria-label', (lab && lab.textContent.trim()) || 'Image');
  });
  document.querySelectorAll('.empty[aria-label]:not([role])').forEach((d) => d.setAttribute('role', 'img'));
  document.querySelectorAll('button.upload-container[aria-label]').forEach((b) => {  // name = what it says
    const text = b.textContent.replace(/\\s+/g, ' ').trim();
    if (text && b.getAttribute('aria-label') !== text) b.setAttribute('aria-label', text);
  });
}
let gsPending = false;
new MutationObserver(() => { if (!gsPending) { gsPending = true;
  requestAnimationFrame(() => { gsPending = false; gsName(); }); } })
  .observe(document.documentElement, {subtree: true, childList: true});
</script>
"""

__all__ = ["CANVAS_TEMPLATE", "CANVAS_JS", "TABLE_JS", "HEAD"]
