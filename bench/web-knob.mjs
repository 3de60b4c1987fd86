// Benchmark (wall clock; prints figures, never pass/fail): how long a knob change takes in the
// browser build to re-simulate and lay out the new run, in Debian's chromium (headless), for a
// few library scenarios; the target is under 100 ms (issue #21).
//   node bench/web-knob.mjs [SITE_DIR]      (default build-web/site; tools/build-web.sh makes it)
// Uses playwright-core from tests/web/node_modules (tools/install-deps.sh --test).
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../tests/web/package.json'));
const { chromium } = require('playwright-core');
const site = resolve(process.argv[2] || resolve(here, '../build-web/site'));
if (!existsSync(resolve(site, 'index.html'))) {
  console.error(`no site at ${site}: run tools/build-web.sh`);
  process.exit(2);
}
const port = 18000 + (process.pid % 1000);
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', site], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 800));
const cases = [
  ['curl-vsftpd-cnat-off-active', 'clients.client.mode', ['pasv', 'port']],
  ['lecture-deck-passive-list', 'clients.client.mode', ['port', 'pasv']],
  ['both-behind-home-routers-port-2121-passive', 'clients.client.mode', ['port', 'pasv']],
];
const browser = await chromium.launch({
  executablePath: process.env.FTPSIM_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-quic', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
console.log('knob change -> new run shown, in the browser (re-simulation + layout; median of 10 changes)');
for (const [id, knob, values] of cases) {
  const steps = [];
  for (let i = 0; i < 10; ++i) steps.push(`set knob ${knob}=${values[i % 2]}`);
  const script = steps.join('; ') + '; quit';
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const times = [];
  page.on('console', (m) => {
    const r = /re-simulated (\S+) in ([0-9.]+) ms/.exec(m.text());
    if (r) times.push(Number(r[2]));
  });
  await page.goto(`http://127.0.0.1:${port}/index.html?scenario=${id}&size=1280x720&script=${encodeURIComponent(script)}`);
  try {
    await page.waitForFunction(() => window.ftpsim && window.ftpsim.exitStatus !== null, null, { timeout: 120000 });
  } catch (e) {
    console.log(`${id}: ${e.message}`);
  }
  await page.close();
  const changes = times.slice(1);  // the first is the scenario's opening run
  changes.sort((a, b) => a - b);
  const med = changes.length ? changes[Math.floor(changes.length / 2)] : NaN;
  console.log(`  ${id.padEnd(32)} ${String(changes.length).padStart(2)} changes, median ${med.toFixed(1)} ms, max ${Math.max(...changes).toFixed(1)} ms (target < 100 ms)`);
}
await browser.close();
server.kill();
