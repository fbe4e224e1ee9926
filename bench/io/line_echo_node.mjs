// Line echo server on Node, the peer of bench/io_bench.ts: per connection
// `readline.createInterface` over the `net.Socket`, each line written back
// with `socket.write`. Prints `listening on 127.0.0.1:PORT`; exits on SIGTERM.
//
// usage: node bench/io/line_echo_node.mjs [--port 0]

import net from "node:net";
import readline from "node:readline";

const i = process.argv.indexOf("--port");
const port = i >= 0 ? Number(process.argv[i + 1]) : 0;

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => {});
  const lines = readline.createInterface({ input: socket, crlfDelay: Infinity });
  lines.on("error", () => {}); // a reset client must not end the server
  lines.on("line", (line) => socket.write(line + "\n"));
});
server.listen(port, "127.0.0.1", () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
