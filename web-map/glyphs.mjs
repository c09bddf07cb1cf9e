// The map's label glyphs, built from a font package at build time (never
// fetched at run time): signed distance fields of the Latin glyphs in
// MapLibre's glyph format (`{fontstack}/{start}-{end}.pbf`, 24 px, 3 px
// buffer, radius 8, edge at 192). Chinese text is not here: MapLibre draws it
// with the device's own fonts (`localIdeographFontFamily`).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import opentype from 'opentype.js';

export const FONT_STACK = 'DejaVu Sans';
const FONT_FILE = process.env.CITYGRID_LABEL_FONT || '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';
const SIZE = 24;
const BUFFER = 3;
const RADIUS = 8;
const CUTOFF = 0.25;
// Basic Latin and Latin-1, Latin Extended-A and -B (pinyin's tone marks),
// general punctuation (dashes, quotes, the ellipsis).
const RANGES = [0, 256, 8192];

/** The outline as closed polylines (curves flattened) in pixels, y down. */
function contours(path) {
  const out = [];
  let cur = [];
  let [x0, y0] = [0, 0];
  const steps = 8;
  for (const c of path.commands) {
    if (c.type === 'M') {
      if (cur.length > 1) out.push(cur);
      cur = [[c.x, c.y]];
    } else if (c.type === 'L') {
      cur.push([c.x, c.y]);
    } else if (c.type === 'Q') {
      for (let i = 1; i <= steps; i++) {
        const t = i / steps, u = 1 - t;
        cur.push([u * u * x0 + 2 * u * t * c.x1 + t * t * c.x, u * u * y0 + 2 * u * t * c.y1 + t * t * c.y]);
      }
    } else if (c.type === 'C') {
      for (let i = 1; i <= steps; i++) {
        const t = i / steps, u = 1 - t;
        cur.push([
          u * u * u * x0 + 3 * u * u * t * c.x1 + 3 * u * t * t * c.x2 + t * t * t * c.x,
          u * u * u * y0 + 3 * u * u * t * c.y1 + 3 * u * t * t * c.y2 + t * t * t * c.y,
        ]);
      }
    } else if (c.type === 'Z') {
      if (cur.length > 1) out.push(cur);
      cur = [];
      continue;
    }
    [x0, y0] = cur.length ? cur[cur.length - 1] : [c.x, c.y];
  }
  if (cur.length > 1) out.push(cur);
  return out;
}

/** Distance from (px, py) to the outline, positive inside (non-zero winding). */
function signedDistance(rings, px, py) {
  let best = Infinity;
  let winding = 0;
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const [ax, ay] = ring[i];
      const [bx, by] = ring[(i + 1) % ring.length];
      const dx = bx - ax, dy = by - ay;
      const len2 = dx * dx + dy * dy;
      const t = len2 ? Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / len2)) : 0;
      const ex = ax + t * dx - px, ey = ay + t * dy - py;
      best = Math.min(best, ex * ex + ey * ey);
      if (ay <= py) {
        if (by > py && dx * (py - ay) - (px - ax) * dy > 0) winding++;
      } else if (by <= py && dx * (py - ay) - (px - ax) * dy < 0) winding--;
    }
  }
  const d = Math.sqrt(best);
  return winding !== 0 ? d : -d;
}

function glyph(font, code) {
  const g = font.charToGlyph(String.fromCodePoint(code));
  if (!g || g.index === 0) return null;
  const advance = Math.round((g.advanceWidth * SIZE) / font.unitsPerEm);
  const path = g.getPath(0, 0, SIZE);
  const rings = contours(path);
  if (!rings.length) return { id: code, width: 0, height: 0, left: 0, top: 0, advance, bitmap: new Uint8Array(0) };
  const box = path.getBoundingBox();
  const left = Math.floor(box.x1), right = Math.ceil(box.x2);
  const top = Math.floor(box.y1), bottom = Math.ceil(box.y2); // y down: top < 0 above the baseline
  const width = right - left, height = bottom - top;
  const w = width + 2 * BUFFER, h = height + 2 * BUFFER;
  const bitmap = new Uint8Array(w * h);
  for (let j = 0; j < h; j++) {
    for (let i = 0; i < w; i++) {
      const d = signedDistance(rings, left - BUFFER + i + 0.5, top - BUFFER + j + 0.5);
      bitmap[j * w + i] = Math.max(0, Math.min(255, Math.round(255 - 255 * (-d / RADIUS + CUTOFF))));
    }
  }
  // MapLibre's `top` is the glyph's top above the baseline less the font's
  // ascent at 24 px (as node-fontnik makes them).
  const ascent = Math.round((font.ascender * SIZE) / font.unitsPerEm);
  return { id: code, width, height, left, top: -top - ascent, advance, bitmap };
}

// Protocol buffers, the few kinds the glyph format needs.
function varint(out, v) {
  while (v > 127) { out.push((v & 127) | 128); v = Math.floor(v / 128); }
  out.push(v);
}
const zigzag = (v) => (v < 0 ? -2 * v - 1 : 2 * v);
function field(out, number, wire) { varint(out, number * 8 + wire); }
function bytesField(out, number, bytes) { field(out, number, 2); varint(out, bytes.length); for (const b of bytes) out.push(b); }

function encodeGlyph(g) {
  const out = [];
  field(out, 1, 0); varint(out, g.id);
  if (g.bitmap.length) bytesField(out, 2, g.bitmap);
  field(out, 3, 0); varint(out, g.width);
  field(out, 4, 0); varint(out, g.height);
  field(out, 5, 0); varint(out, zigzag(g.left));
  field(out, 6, 0); varint(out, zigzag(g.top));
  field(out, 7, 0); varint(out, g.advance);
  return out;
}

function encodeRange(name, range, glyphs) {
  const stack = [];
  bytesField(stack, 1, new TextEncoder().encode(name));
  bytesField(stack, 2, new TextEncoder().encode(range));
  for (const g of glyphs) bytesField(stack, 3, encodeGlyph(g));
  const out = [];
  bytesField(out, 1, stack);
  return Uint8Array.from(out);
}

/** Writes `{dir}/{FONT_STACK}/{start}-{end}.pbf`; returns the glyph count. */
export function buildGlyphs(dir) {
  if (!existsSync(FONT_FILE)) {
    throw new Error(`${FONT_FILE} is missing: install Debian's fonts-dejavu-core (or set CITYGRID_LABEL_FONT to a TrueType font)`);
  }
  const data = readFileSync(FONT_FILE);
  const font = opentype.parse(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  const out = join(dir, FONT_STACK);
  mkdirSync(out, { recursive: true });
  let count = 0;
  for (const start of RANGES) {
    const glyphs = [];
    for (let code = start; code < start + 256; code++) {
      const g = glyph(font, code);
      if (g) glyphs.push(g);
    }
    const range = `${start}-${start + 255}`;
    writeFileSync(join(out, `${range}.pbf`), encodeRange(FONT_STACK, range, glyphs));
    count += glyphs.length;
  }
  return count;
}
