/**
 * GET /api/v1/nerve/docs: the OpenAPI document rendered in the browser, with nothing fetched but the
 * document itself (works offline and under a strict CSP: one inline script, no CDN). Each operation
 * shows its method, path, role, summary, parameters and body schema.
 */
export const DOCS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Nerve REST API</title>
<style>
body { font: 14px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 1rem 2rem; color: #1d2330; }
h1 { margin-bottom: 0; } .lead { color: #555; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; text-transform: capitalize; }
details { border: 1px solid #e2e5ea; border-radius: 6px; margin: .4rem 0; padding: .3rem .7rem; }
summary { cursor: pointer; }
.m { display: inline-block; min-width: 4.2rem; font-weight: 600; text-transform: uppercase; }
.get { color: #0a6; } .post { color: #06c; } .put { color: #a60; } .patch { color: #a0a; } .delete { color: #c22; }
.role { float: right; font-size: 12px; background: #eef; border-radius: 4px; padding: 0 .4rem; }
code, pre { font: 12px/1.4 ui-monospace, monospace; } pre { background: #f6f7f9; padding: .6rem; overflow: auto; max-height: 24rem; }
</style>
</head>
<body>
<h1>Nerve REST API</h1>
<p class="lead">Base path <code>/api/v1/nerve</code>. Credentials: <code>Authorization: Bearer &lt;JWT or API key&gt;</code> or <code>X-API-Key</code>. The machine-readable document: <a href="openapi.json">openapi.json</a>.</p>
<div id="ops">Loading openapi.json…</div>
<script>
(async () => {
  const root = document.getElementById('ops');
  const doc = await (await fetch('openapi.json')).json();
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(ops)) {
      const tag = op.tags[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  let html = '<p>' + esc(doc.info.description) + '</p>';
  for (const [tag, ops] of byTag) {
    html += '<h2>' + esc(tag) + '</h2>';
    for (const { path, method, op } of ops) {
      const params = op.parameters.map((p) => '<li><code>' + esc(p.name) + '</code> (' + p.in + (p.required ? ', required' : '') + ')' + (p.description ? ': ' + esc(p.description) : '') + '</li>').join('');
      const body = op.requestBody ? '<p>Body:</p><pre>' + esc(JSON.stringify(op.requestBody.content['application/json'].schema, null, 2)) + '</pre>' : '';
      const codes = Object.keys(op.responses).join(', ');
      html += '<details><summary><span class="m ' + method + '">' + method + '</span> <code>' + esc(path) + '</code> — ' + esc(op.summary) +
        '<span class="role">' + esc(op['x-nerve-role']) + '</span></summary>' + (params ? '<ul>' + params + '</ul>' : '') + body +
        '<p>Answers: ' + codes + '</p></details>';
    }
  }
  root.innerHTML = html;
})().catch((e) => { document.getElementById('ops').textContent = 'Could not load openapi.json: ' + e; });
</script>
</body>
</html>
`;
