// Reads JSON-LD documents and writes their RDF as N-Quads, with jsonld.js (pinned in package.json).
// Input on stdin: a JSON array of documents. Output on stdout: a JSON array of N-Quads strings, one per document.
// No document loader: a remote @context is an error (the API embeds its context).
import jsonld from 'jsonld';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const documents = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const refuse = async (url) => { throw new Error(`no remote documents in tests: ${url}`); };
const out = [];
for (const doc of documents) {
  out.push(await jsonld.toRDF(doc, {format: 'application/n-quads', documentLoader: refuse, safe: true}));
}
process.stdout.write(JSON.stringify(out));
