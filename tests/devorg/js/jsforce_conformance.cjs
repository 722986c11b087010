// jsforce 3 (REST and faye-based streaming), unmodified, against devorg over plain HTTP.
//
// Run by tests/devorg/js/test_js_clients.py with DEVORG_URL and DEVORG_TOKEN.
// REST: create, update, upsert by external id (create then update), query.
// Streaming: a platform event published before subscribing is replayed with the Replay
// extension (-2) while the AuthFailure extension stays quiet; one published after arrives
// too; an Account update arrives on /data/AccountChangeEvent as a CDC UPDATE.
// Prints one JSON line with what it saw; exits non-zero on any failure.
"use strict";

const jsforce = require("jsforce");
const { StreamingExtension } = require("jsforce/lib/api/streaming");

const BASE = process.env.DEVORG_URL;
const TOKEN = process.env.DEVORG_TOKEN;
const VERSION = process.env.DEVORG_API_VERSION || "62.0";
const CHANNEL = "/event/Credit_Status_Change__e";
const DEADLINE_MS = Number(process.env.DEVORG_JS_TIMEOUT_MS || 40000);
const out = { rest: {}, events: [], cdc: null };

function fail(why) {
    console.error(`FAIL: ${why}`);
    console.log(JSON.stringify({ ok: false, why, ...out }));
    process.exit(1);
}
setTimeout(() => fail("timed out"), DEADLINE_MS).unref();

function waitFor(predicate, what) {
    return new Promise((resolve) => {
        const timer = setInterval(() => {
            if (predicate()) {
                clearInterval(timer);
                resolve();
            }
        }, 20);
    }).catch(() => fail(what));
}

async function main() {
    const conn = new jsforce.Connection({ instanceUrl: BASE, accessToken: TOKEN, version: VERSION });
    const suffix = String(Date.now());

    // -- REST -----------------------------------------------------------------------------
    const created = await conn.sobject("Account").create({ Name: "JS Acme", ERP_Customer_Number__c: `JS-${suffix}` });
    if (!created.success || !created.id) fail(`create: ${JSON.stringify(created)}`);
    const updated = await conn.sobject("Account").update({ Id: created.id, Credit_Status__c: "WATCH" });
    if (!updated.success) fail(`update: ${JSON.stringify(updated)}`);
    const upsertNew = await conn
        .sobject("Account")
        .upsert({ ERP_Customer_Number__c: `JSU-${suffix}`, Name: "JS Upsert" }, "ERP_Customer_Number__c");
    const upsertOld = await conn
        .sobject("Account")
        .upsert({ ERP_Customer_Number__c: `JSU-${suffix}`, Name: "JS Upsert 2" }, "ERP_Customer_Number__c");
    const query = await conn.query(
        `SELECT Id, Name, Credit_Status__c FROM Account WHERE ERP_Customer_Number__c = 'JS-${suffix}'`,
    );
    out.rest = {
        createdId: created.id,
        upsertCreated: upsertNew.created,
        upsertUpdated: upsertOld.created === false,
        query: query.records.map((r) => ({ Id: r.Id, Name: r.Name, Credit_Status__c: r.Credit_Status__c })),
        totalSize: query.totalSize,
    };

    // -- streaming: platform events with replay -2 -----------------------------------------
    const before = await conn.sobject("Credit_Status_Change__e").create({ Reason__c: "before subscribe" });
    out.publishResult = before;
    let authFailure = null;
    const client = conn.streaming.createClient([
        new StreamingExtension.Replay(CHANNEL, -2),
        new StreamingExtension.AuthFailure((message) => (authFailure = message)),
    ]);
    const subscription = client.subscribe(CHANNEL, (message) => {
        out.events.push({
            reason: message.payload.Reason__c,
            uuid: message.event.EventUuid,
            replayId: message.event.replayId,
            createdDate: message.payload.CreatedDate,
        });
    });
    await subscription; // faye resolves once /meta/subscribe succeeded
    await waitFor(() => out.events.length >= 1, "the retained event never arrived");
    await conn.sobject("Credit_Status_Change__e").create({ Reason__c: "after subscribe" });
    await waitFor(() => out.events.length >= 2, "the new event never arrived");
    if (authFailure) fail(`AuthFailure fired: ${JSON.stringify(authFailure)}`);

    // -- streaming: change data capture ------------------------------------------------------
    const cdc = conn.streaming.topic("/data/AccountChangeEvent").subscribe((message) => {
        const header = message.payload.ChangeEventHeader;
        if (header.recordIds.includes(created.id) && header.changeType === "UPDATE") {
            out.cdc = { header, payload: message.payload };
        }
    });
    await cdc;
    await conn.sobject("Account").update({ Id: created.id, Credit_Status__c: "HOLD" });
    await waitFor(() => out.cdc !== null, "the CDC event never arrived");

    client.disconnect();
    conn.streaming._getFayeClient("/data/AccountChangeEvent").disconnect();
    console.log(JSON.stringify({ ok: true, ...out }));
    process.exit(0);
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err)));
