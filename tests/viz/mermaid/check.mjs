// Parses Mermaid files with the real Mermaid parser (mermaid.parse) in Node, no browser.
// Usage: node check.mjs FILE...   Prints "ok FILE" or "FAIL FILE: message"; exit 1 if any failed.
// Mermaid sanitises labels with DOMPurify, which needs a DOM: jsdom provides one.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const r = await mermaid.parse(readFileSync(file, 'utf8'));
    if (!r || r.diagramType !== 'sequence') throw new Error('not a sequence diagram: ' + JSON.stringify(r));
    console.log('ok ' + file);
  } catch (e) {
    failed++;
    console.log('FAIL ' + file + ': ' + String(e.message ?? e).split('\n').slice(0, 4).join(' | '));
  }
}
process.exit(failed ? 1 : 0);
