"""The HTML page ``crossorigin demo`` serves from its second origin.

Each button runs one ``fetch()`` against the API and shows what the page's script was
given, so a person sees in the browser itself which requests CORS lets through and which
it blocks. The API origin is the only value filled in.
"""

from __future__ import annotations

import html
import json

_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>crossorigin demo</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; max-width: 52rem; margin: 2rem auto;
         padding: 0 1rem; color: #222; }
  code, pre { font: 13px ui-monospace, monospace; }
  section { border: 1px solid #ccc; border-radius: 6px; padding: .6rem 1rem; margin: 1rem 0; }
  h2 { font-size: 1.05rem; margin: .2rem 0 .4rem; }
  pre { background: #f6f6f6; padding: .5rem; white-space: pre-wrap; min-height: 1.2rem; }
  pre.ok { background: #e8f7e8; border-left: 4px solid #2a2; }
  pre.blocked { background: #fbe9e9; border-left: 4px solid #c22; }
  button { font: inherit; padding: .2rem .8rem; }
</style>
</head>
<body>
<h1>crossorigin demo</h1>
<p>This page is served from <code id="page-origin"></code>. The API lives on another
origin, <code>__API_TEXT__</code>, behind <code>crossorigin.asgi.CORSMiddleware</code>
allowing only this page's origin, with credentials, the request headers
<code>Content-Type</code>, <code>Authorization</code> and <code>X-Request-Id</code>, and
exposing <code>X-Request-Id</code>. Open the developer tools (Network and Console) to watch
the preflights; the terminal running the demo logs every request the API receives.</p>

<section>
<h2>1. Simple GET (no preflight)</h2>
<p><code>fetch(API + "/api/greeting", {credentials: "include"})</code>: the browser sends it
directly and reads the grant on the response. Only exposed headers are readable.</p>
<button id="run-get">Run</button>
<pre id="out-get"></pre>
</section>

<section>
<h2>2. PUT with JSON and Authorization (preflighted)</h2>
<p><code>Content-Type: application/json</code> and <code>Authorization</code> are not
safelisted, so the browser first asks with <code>OPTIONS</code>. The answer is cached for
<code>Access-Control-Max-Age</code> seconds: run it twice and only one preflight is sent.</p>
<button id="run-put">Run</button>
<pre id="out-put"></pre>
</section>

<section>
<h2>3. A header the policy does not allow (refused preflight)</h2>
<p>The same PUT with an extra <code>X-Debug</code> header: the preflight is answered 403
without a grant, so the browser never sends the PUT.</p>
<button id="run-refused-header">Run</button>
<pre id="out-refused-header"></pre>
</section>

<section>
<h2>4. An origin the policy does not allow</h2>
<p>A sandboxed iframe has an opaque origin, so its simple GET carries
<code>Origin: null</code>. The API still answers (a server cannot stop a simple request),
but without a grant, so the browser hides the response from the script.</p>
<button id="run-null-origin">Run</button>
<pre id="out-null-origin"></pre>
</section>

<script>
"use strict";
const API = __API_JSON__;
document.getElementById("page-origin").textContent = location.origin;

function show(id, run) {
  const out = document.getElementById(id);
  out.className = "";
  out.textContent = "running...";
  run().then(
    (lines) => { out.className = "ok"; out.textContent = "allowed\\n" + lines.join("\\n"); },
    (error) => {
      out.className = "blocked";
      out.textContent = "blocked: " + error + "\\nThe browser withheld the response from " +
        "this script; its console says which CORS check failed.";
    },
  );
}

async function describe(response) {
  return [
    `status: ${response.status}`,
    `body: ${await response.text()}`,
    `X-Request-Id (exposed): ${response.headers.get("X-Request-Id")}`,
    `X-Served-By (not exposed): ${response.headers.get("X-Served-By")}`,
  ];
}

document.getElementById("run-get").onclick = () => show("out-get", async () =>
  describe(await fetch(API + "/api/greeting", {credentials: "include"})));

document.getElementById("run-put").onclick = () => show("out-put", async () =>
  describe(await fetch(API + "/api/items/42", {
    method: "PUT",
    credentials: "include",
    headers: {
      "Content-Type": "application/json",
      "Authorization": "Bearer demo-token",
      "X-Request-Id": "page-put",
    },
    body: JSON.stringify({name: "teapot", colour: "blue"}),
  })));

document.getElementById("run-refused-header").onclick = () =>
  show("out-refused-header", async () =>
    describe(await fetch(API + "/api/items/42", {
      method: "PUT",
      credentials: "include",
      headers: {"Content-Type": "application/json", "X-Debug": "1"},
      body: "{}",
    })));

// The iframe's script runs in an opaque origin; it reports back with postMessage.
const FRAME_SCRIPT = `
  fetch(${JSON.stringify(API)} + "/api/greeting").then(
    (r) => parent.postMessage({ok: true, status: r.status}, "*"),
    (e) => parent.postMessage({ok: false, error: String(e)}, "*"));`;

document.getElementById("run-null-origin").onclick = () => show("out-null-origin", () =>
  new Promise((resolve, reject) => {
    const frame = document.createElement("iframe");
    frame.sandbox = "allow-scripts";
    frame.hidden = true;
    const onMessage = (event) => {
      if (event.source !== frame.contentWindow) return;
      window.removeEventListener("message", onMessage);
      frame.remove();
      if (event.data.ok) resolve([`status: ${event.data.status}`]);
      else reject(event.data.error);
    };
    window.addEventListener("message", onMessage);
    frame.srcdoc = "<script>" + FRAME_SCRIPT + "<\\/script>";
    document.body.append(frame);
  }));
</script>
</body>
</html>
"""


def render_page(api_origin: str) -> bytes:
    """The page, wired to call ``api_origin``."""
    # json.dumps alone could leave "</script>" in the value; escaping "<" and ">" and "&"
    # keeps the literal inert inside the script element.
    api_json = (
        json.dumps(api_origin)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    text = _TEMPLATE.replace("__API_JSON__", api_json).replace(
        "__API_TEXT__", html.escape(api_origin)
    )
    return text.encode("utf-8")
