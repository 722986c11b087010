// The official CometD JavaScript client (cometd 9 + cometd-nodejs-client 2), unmodified,
// against devorg's Streaming API, set up as Salesforce's own JavaScript samples do.
//
// Run by tests/devorg/js/test_js_clients.py with DEVORG_URL (plain http) and DEVORG_TOKEN.
// Scenario:
//   1. publish two platform events over REST, before anyone subscribes;
//   2. handshake, subscribe with replay -2 (a tiny replay extension): both arrive;
//   3. the org drops every client (/_devorg/streaming/drop-clients): the next connect gets
//      403::Unknown client with advice reconnect=handshake, the client re-handshakes by
//      itself, our /meta/handshake listener re-subscribes from the last replay id seen;
//   4. publish a third event: it arrives once, nothing is replayed twice.
// Prints one JSON line with what it saw; exits non-zero on any failure.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();

const BASE = process.env.DEVORG_URL;
const TOKEN = process.env.DEVORG_TOKEN;
const VERSION = process.env.DEVORG_API_VERSION || "62.0";
const CHANNEL = "/event/Credit_Status_Change__e";
const DEADLINE_MS = Number(process.env.DEVORG_JS_TIMEOUT_MS || 40000);

const seen = { events: [], handshakes: 0, connectErrors: [], subscribeReplays: [] };

function fail(why) {
    console.error(`FAIL: ${why}`);
    console.log(JSON.stringify({ ok: false, why, ...seen }));
    process.exit(1);
}
setTimeout(() => fail("timed out"), DEADLINE_MS).unref();

async function rest(method, path, body) {
    const response = await fetch(`${BASE}${path}`, {
        method,
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function publish(reason) {
    const res = await rest("POST", `/services/data/v${VERSION}/sobjects/Credit_Status_Change__e/`, {
        Reason__c: reason,
        New_Status__c: "HOLD",
    });
    if (res.status !== 201) fail(`publish answered ${res.status}: ${JSON.stringify(res.body)}`);
    return res.body.errors[0].message; // the EventUuid, under OPERATION_ENQUEUED
}

// Salesforce's samples: a replay extension that adds ext.replay to /meta/subscribe.
const replayFrom = { [CHANNEL]: -2 };
const replayExtension = {
    outgoing(message) {
        if (message.channel === "/meta/subscribe") {
            message.ext = message.ext || {};
            message.ext.replay = { [message.subscription]: replayFrom[message.subscription] ?? -1 };
            seen.subscribeReplays.push(message.ext.replay[message.subscription]);
        }
        return message;
    },
    incoming(message) {
        const replayId = message.data && message.data.event && message.data.event.replayId;
        if (replayId !== undefined && message.channel in replayFrom) replayFrom[message.channel] = replayId;
        return message;
    },
};

const uuids = [await publish("retained 1"), await publish("retained 2")];

const cometd = new CometD();
cometd.unregisterTransport("websocket");
cometd.unregisterTransport("callback-polling");
cometd.configure({
    url: `${BASE}/cometd/${VERSION}`,
    requestHeaders: { Authorization: `Bearer ${TOKEN}` },
    appendMessageTypeToURL: false,
});
cometd.registerExtension("replay", replayExtension);

let phase = "replay";
let resolvePhase;
const phaseDone = () => new Promise((resolve) => (resolvePhase = resolve));

cometd.addListener("/meta/connect", (message) => {
    if (!message.successful) seen.connectErrors.push(message.error);
});
cometd.addListener("/meta/handshake", (message) => {
    if (!message.successful) return fail(`handshake failed: ${JSON.stringify(message)}`);
    seen.handshakes += 1;
    if (!message.ext || message.ext.replay !== true) fail("handshake reply lacks ext.replay=true");
    // A new handshake drops the old subscriptions: subscribe again every time.
    cometd.subscribe(
        CHANNEL,
        (event) => {
            seen.events.push({
                reason: event.data.payload.Reason__c,
                uuid: event.data.event.EventUuid,
                replayId: event.data.event.replayId,
            });
            if (phase === "replay" && seen.events.length === 2) resolvePhase();
            if (phase === "after-drop" && seen.events.length === 3) resolvePhase();
        },
        (reply) => {
            if (!reply.successful) fail(`subscribe failed: ${JSON.stringify(reply)}`);
            if (phase === "after-drop" && seen.handshakes === 2) resolvePhase();
        },
    );
});

let done = phaseDone();
cometd.handshake();
await done;

phase = "after-drop";
done = phaseDone();
const dropped = await fetch(`${BASE}/_devorg/streaming/drop-clients`, {
    method: "POST",
    headers: { "X-Devorg-Admin": process.env.DEVORG_ADMIN_TOKEN || "" },
});
if (dropped.status !== 200) fail(`drop-clients answered ${dropped.status}`);
await done; // re-handshaken and re-subscribed
done = phaseDone();
uuids.push(await publish("after drop"));
await done;

cometd.disconnect();
const ok =
    seen.events.map((e) => e.uuid).join() === uuids.join() &&
    seen.handshakes === 2 &&
    seen.connectErrors.includes("403::Unknown client");
console.log(JSON.stringify({ ok, uuids, ...seen }));
process.exit(ok ? 0 : 1);
