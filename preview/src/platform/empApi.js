/**
 * lightning/empApi over the org's Streaming API, with the official CometD client (long
 * polling), as Salesforce's own samples connect: one client per page, the session in the
 * Authorization header, the replay id of each channel in the subscribe message's `ext.replay`.
 * After the org drops the client, CometD handshakes again by itself and every subscription is
 * renewed from the last replay id seen, so nothing is missed while the page stays open.
 */
import { CometD } from 'cometd';
import { context } from './context';

let cometd;
let handshake;
const errorCallbacks = [];
const subscriptions = new Map(); // id -> { channel, replayId, callback, handle }
let nextId = 1;

function reportError(error) {
    errorCallbacks.forEach((callback) => callback(error));
}

const replayExtension = {
    outgoing(message) {
        if (message.channel === '/meta/subscribe') {
            const wanted = [...subscriptions.values()].find(
                (s) => s.channel === message.subscription
            );
            message.ext = message.ext || {};
            message.ext.replay = {
                [message.subscription]: wanted ? wanted.replayId : -1
            };
        }
        return message;
    },
    incoming(message) {
        const event = message.data && message.data.event;
        if (event && event.replayId !== undefined) {
            subscriptions.forEach((s) => {
                if (s.channel === message.channel) {
                    s.replayId = event.replayId;
                }
            });
        }
        return message;
    }
};

function connect() {
    if (!handshake) {
        const { apiVersion, session } = context();
        cometd = new CometD();
        cometd.unregisterTransport('websocket');
        cometd.unregisterTransport('callback-polling');
        cometd.configure({
            url: `${window.location.origin}/cometd/${apiVersion}`,
            requestHeaders: { Authorization: `Bearer ${session}` },
            appendMessageTypeToURL: false
        });
        cometd.registerExtension('replay', replayExtension);
        let handshakes = 0;
        cometd.addListener('/meta/handshake', (reply) => {
            if (!reply.successful) {
                reportError(reply);
                return;
            }
            handshakes += 1;
            if (handshakes > 1) {
                // A new handshake drops the old subscriptions: subscribe again.
                subscriptions.forEach((s) => {
                    s.handle = cometd.subscribe(s.channel, s.callback);
                });
            }
        });
        cometd.addListener('/meta/connect', (reply) => {
            if (
                !reply.successful &&
                reply.error &&
                !`${reply.error}`.startsWith('403')
            ) {
                reportError(reply);
            }
        });
        handshake = new Promise((resolve, reject) => {
            cometd.handshake((reply) =>
                reply.successful ? resolve() : reject(reply)
            );
        });
        handshake.catch(reportError);
    }
    return handshake;
}

export function isEmpEnabled() {
    return Promise.resolve(!!context().session);
}

export function onError(callback) {
    errorCallbacks.push(callback);
}

export function setDebugFlag() {}

/** `subscribe(channel, replayId, callback)`: resolves with `{ id, channel, replayId }`. */
export async function subscribe(channel, replayId, callback) {
    await connect();
    const id = `${nextId++}`;
    const entry = { channel, replayId, callback, handle: undefined };
    subscriptions.set(id, entry);
    await new Promise((resolve, reject) => {
        entry.handle = cometd.subscribe(channel, callback, (reply) => {
            if (reply.successful) {
                resolve();
            } else {
                subscriptions.delete(id);
                reportError(reply);
                reject(reply);
            }
        });
    });
    return { id, channel, replayId };
}

export function unsubscribe(subscription, callback) {
    const entry = subscription && subscriptions.get(subscription.id);
    if (!entry) {
        if (callback) {
            callback({ successful: false });
        }
        return Promise.resolve(false);
    }
    subscriptions.delete(subscription.id);
    return new Promise((resolve) => {
        cometd.unsubscribe(entry.handle, (reply) => {
            if (callback) {
                callback(reply);
            }
            resolve(reply.successful);
        });
    });
}
