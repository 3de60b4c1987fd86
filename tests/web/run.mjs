// Drives the browser build in Debian's chromium (headless, through playwright-core from the npm
// registry; tests/web/package-lock.json pins it):
//   node run.mjs URL OUTDIR [WIDTHxHEIGHT]
// loads URL (a page of the site with ?scenario=...&script=...), waits until the app's script has
// quit (window.ftpsim.exitStatus), copies every PNG the script wrote into the page's file system
// (its `screenshot /NAME.png` verbs) to OUTDIR, prints the page's console, and exits with the app's
// status (0 ok, 2 a script error, 3 a failed expect; 1 a page error or a timeout).
import { chromium } from 'playwright-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [url, outdir, size = '1280x720'] = process.argv.slice(2);
if (!url || !outdir) {
  console.error('usage: node run.mjs URL OUTDIR [WxH]');
  process.exit(2);
}
const [width, height] = size.split('x').map(Number);
mkdirSync(outdir, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.FTPSIM_CHROMIUM || '/usr/bin/chromium',
  // closed network: no background traffic; WebGL 2 on the CPU (SwiftShader) without a GPU
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
         '--disable-quic', '--no-first-run', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
         '--ignore-gpu-blocklist'],
});
let status = 1;
try {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('console', (m) => console.log('page: ' + m.text()));
  page.on('pageerror', (e) => console.log('page error: ' + e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.ftpsim && window.ftpsim.exitStatus !== null, null,
                             { timeout: Number(process.env.FTPSIM_WEB_TIMEOUT_MS || 120000), polling: 100 });
  status = await page.evaluate(() => window.ftpsim.exitStatus);
  const files = await page.evaluate(() =>
    Module.FS.readdir('/').filter((n) => n.endsWith('.png')).map((n) => {
      const bytes = Module.FS.readFile('/' + n);
      let s = '';
      for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      return [n, btoa(s)];
    }));
  for (const [name, b64] of files) writeFileSync(join(outdir, name), Buffer.from(b64, 'base64'));
  console.log(`run.mjs: app status ${status}, ${files.length} screenshot(s) in ${outdir}`);
} catch (e) {
  console.log('run.mjs: ' + e.message);
  status = 1;
} finally {
  await browser.close();
}
process.exit(status);
