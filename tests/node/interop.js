// ocpp-rpc in strict mode as one end of tests/interop/test_matrix.py: a charger (RPCClient) or a
// CSMS (RPCServer), for the subprotocol the test names. The whole session is the test's: one JSON
// argument says what to call and what to answer, so that every implementation in the matrix plays
// the same script:
//   {"role": "charger" | "csms", "protocol": "ocpp1.6", "url": "ws://.../ocpp" (charger),
//    "station": "ID" (charger), "calls": [{"action", "payload"}] (the charger's CALLs, in order),
//    "answers": {"<action>": payload} (what this end answers to a CALL of the other end),
//    "command": {"after", "action", "payload"} | null (the CSMS's own CALL, sent once it has
//    answered a CALL of action `after`), "deflate": true | false (csms: whether it accepts
//    permessage-deflate, which ocpp-rpc's server declines by default)}
// Out, one JSON line each: {"frame": {"outbound", "message"}} for every frame as ocpp-rpc sent it or
// got it (its 'message' event), {"listening": port} (csms), {"answer": ...} and {"failed": ...} for
// each of this end's CALLs, {"strictValidationFailure": ...}, {"closed": code} (charger). The
// charger closes (1000) once its calls and the CSMS's command are done; the CSMS stops when its
// standard input closes.
"use strict";
const { RPCClient, RPCServer } = require("ocpp-rpc");

const config = JSON.parse(process.argv[2]);
const STEP_MS = 10000;

function print(line) {
  process.stdout.write(JSON.stringify(line) + "\n");
}

function record(client) {
  client.on("message", ({ message, outbound }) => {
    print({ frame: { outbound, message: message.toString() } });
  });
  client.on("strictValidationFailure", ({ method, outbound, isCall, error }) => {
    print({ strictValidationFailure: { method, outbound, isCall, error: String(error) } });
  });
}

async function call(client, action, payload) {
  try {
    print({ answer: { action, payload: await client.call(action, payload) } });
  } catch (error) {
    print({ failed: { action, error: String(error) } });
  }
}

// Answers every action of config.answers; resolves once it has answered `expected` CALLs.
function answer(client, expected, afterAnswer) {
  let answered = 0;
  return new Promise((resolve) => {
    if (expected === 0) resolve();
    for (const [action, payload] of Object.entries(config.answers)) {
      client.handle(action, () => {
        if (++answered >= expected) resolve();
        afterAnswer(action);
        return payload;
      });
    }
  });
}

async function charger() {
  const client = new RPCClient({
    endpoint: config.url,
    identity: config.station,
    protocols: [config.protocol],
    strictMode: true,
    reconnect: false,
    pingIntervalMs: 0,
    callTimeoutMs: STEP_MS,
  });
  record(client);
  const commanded = answer(client, config.command ? 1 : 0, () => {});
  await client.connect();
  for (const { action, payload } of config.calls) {
    await call(client, action, payload);
  }
  await commanded;
  const { code } = await client.close({ code: 1000, awaitPending: true });
  print({ closed: code });
}

async function csms() {
  const server = new RPCServer({
    protocols: [config.protocol],
    strictMode: true,
    pingIntervalMs: 0,
    callTimeoutMs: STEP_MS,
    wssOptions: { perMessageDeflate: config.deflate },
  });
  server.on("client", (client) => {
    record(client);
    answer(client, Infinity, (action) => {
      if (config.command && action === config.command.after) {
        // after this handler has returned and its answer is on the wire
        setImmediate(() => call(client, config.command.action, config.command.payload));
      }
    });
  });
  const http = await server.listen(0, "127.0.0.1");
  print({ listening: http.address().port });
  process.stdin.resume();
  process.stdin.on("end", async () => {
    await server.close({ code: 1001, force: true });
    process.exit(0);
  });
}

(config.role === "charger" ? charger() : csms()).catch((error) => {
  console.error(error);
  process.exit(1);
});
