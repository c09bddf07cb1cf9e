// Builds the static web map into dist/: the pages, their scripts and styles,
// MapLibre GL JS from node_modules, and the labels' Latin glyphs. `citygrid serve` serves dist/.
import { cpSync, mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildGlyphs } from './glyphs.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, 'assets', 'vendor'), { recursive: true });
for (const f of readdirSync(join(here, 'src'))) {
  const to = f.endsWith('.html') ? join(dist, f) : join(dist, 'assets', f);
  cpSync(join(here, 'src', f), to);
}
const maplibre = join(here, 'node_modules', 'maplibre-gl', 'dist');
for (const f of ['maplibre-gl.js', 'maplibre-gl.css']) {
  cpSync(join(maplibre, f), join(dist, 'assets', 'vendor', f));
}
const glyphs = buildGlyphs(join(dist, 'assets', 'fonts'));
console.log(`web map built into ${dist} (${glyphs} label glyphs)`);
