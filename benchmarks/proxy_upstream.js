// The upstream every contender of `make bench-proxy` forwards to: Node's own http module,
// no CORS, fast enough that the proxies (not the upstream) are what the figures measure.
// Usage: node proxy_upstream.js PORT  (listens on 127.0.0.1 only)
"use strict";
const http = require("http");
const BODY = Buffer.from(JSON.stringify({ hello: "world", items: [1, 2, 3] }));
const BLOCK = Buffer.alloc(64 * 1024, 120);

const server = http.createServer((request, response) => {
  const url = new URL(request.url, "http://upstream");
  if (url.pathname.endsWith("/download")) {
    let left = Number(url.searchParams.get("size") || 0);
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": left });
    const pump = () => {
      while (left > 0) {
        const piece = left >= BLOCK.length ? BLOCK : BLOCK.subarray(0, left);
        left -= piece.length;
        if (!response.write(piece)) {
          response.once("drain", pump);
          return;
        }
      }
      response.end();
    };
    pump();
    return;
  }
  if (url.pathname.endsWith("/upload")) {
    let size = 0;
    request.on("data", (chunk) => { size += chunk.length; });
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ size }));
    });
    return;
  }
  request.resume();
  response.writeHead(200, { "content-type": "application/json", "content-length": BODY.length });
  response.end(BODY);
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2]), "127.0.0.1", () => console.log("ready"));
