// Parse Mermaid diagrams with Mermaid's own parser (tests/test_graph.py).
// stdin: a JSON list of diagram texts. stdout: a JSON list, per diagram, of
// {ok: true, vertices, subgraphs, edges, classes} or {ok: false, error}.
// Mermaid needs a DOM (DOMPurify), so jsdom provides one; nothing is rendered.
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const texts = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const results = [];
for (const text of texts) {
  try {
    await mermaid.parse(text);
    const { db } = await mermaid.mermaidAPI.getDiagramFromText(text);
    results.push({
      ok: true,
      vertices: [...db.getVertices().values()].map((v) => ({ id: v.id, text: v.text, classes: v.classes })),
      subgraphs: db.getSubGraphs().map((s) => ({ id: s.id, title: s.title, nodes: s.nodes, classes: s.classes })),
      edges: db.getEdges().map((e) => ({ start: e.start, end: e.end, stroke: e.stroke })),
      classes: [...db.getClasses().keys()],
    });
  } catch (err) {
    results.push({ ok: false, error: String((err && err.message) || err) });
  }
}
process.stdout.write(JSON.stringify(results));
