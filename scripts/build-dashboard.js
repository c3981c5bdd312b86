#!/usr/bin/env node
// Builds the dashboard the daemon serves at / (src/api/routes/dashboard.ts):
// type-checks the page's sources (src/dashboard/, browser code with its own
// tsconfig) and bundles them with uPlot into dist/dashboard/{index.html,app.js,app.css}.
// Nothing is fetched when the page runs: everything it needs is in those three files.
//   node scripts/build-dashboard.js [--force]   (npm run build:ts and npm test run it)
// Without --force it does nothing while the bundle is newer than its sources.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.resolve(__dirname, '..');
const src = path.join(root, 'src', 'dashboard');
const out = path.join(root, 'dist', 'dashboard');

const outputs = ['index.html', 'app.js', 'app.css'].map((f) => path.join(out, f));
const inputs = [...fs.readdirSync(src).map((f) => path.join(src, f)), path.join(root, 'node_modules', 'uplot', 'package.json'), __filename];
const mtime = (f) => (fs.existsSync(f) ? fs.statSync(f).mtimeMs : -1);
if (!process.argv.includes('--force') && Math.min(...outputs.map(mtime)) > Math.max(...inputs.map(mtime))) process.exit(0);

try {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(src, 'tsconfig.json')], { stdio: 'inherit' });
} catch {
  console.error('scripts/build-dashboard.js: src/dashboard/ does not type-check (above)');
  process.exit(1);
}

fs.mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, logLevel: 'warning', legalComments: 'eof', absWorkingDir: root };
esbuild.buildSync({ ...common, entryPoints: [path.join(src, 'main.ts')], outfile: path.join(out, 'app.js'),
  format: 'iife', target: ['es2022'], platform: 'browser' });
esbuild.buildSync({ ...common, entryPoints: [path.join(src, 'app.css')], outfile: path.join(out, 'app.css') });
fs.copyFileSync(path.join(src, 'index.html'), path.join(out, 'index.html'));
