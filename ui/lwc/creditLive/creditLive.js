/**
 * Live updates for the Credit Control components, without a streaming client per browser.
 *
 * A page that shows an Account re-reads it (Lightning Data Service) every POLL_MS while the
 * browser tab is visible, every FAST_POLL_MS for a minute after someone on the page logged a
 * collection action (the service answers within seconds), and not at all while hidden. Only
 * one component per Account polls: the first that can tell a change (it reads the Account's
 * SystemModstamp); the others wait for its word. Its re-read is notifyRecordUpdateAvailable,
 * so every Lightning Data Service record of the Account on the page (the banner, the aging
 * chart, the highlights panel) is refreshed by the one request. When the stamp moved, it
 * publishes `figuresChanged` on the Credit_Control_Account message channel, on which the lists
 * (receivables, timeline) re-query.
 * A logged action is announced on the same channel (`actionLogged`).
 *
 * Why not empApi: every browser on empApi is one streaming client of the org's allowance
 * (1,000 concurrent in Enterprise Edition, shared with the worker) and every event is delivered
 * to every client, counted against the daily delivery allocation. docs/streaming.md has the
 * numbers.
 */
import { publish, subscribe, unsubscribe } from 'lightning/messageService';
import { notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import ACCOUNT_CHANNEL from '@salesforce/messageChannel/Credit_Control_Account__c';

export const POLL_MS = 10000;
export const FAST_POLL_MS = 2000;
export const FAST_FOR_MS = 60000;
export const STAMP_FIELD = 'Account.SystemModstamp';
export const REASON = Object.freeze({
    ACTION_LOGGED: 'actionLogged',
    FIGURES_CHANGED: 'figuresChanged'
});

const watchers = new Map(); // Account id (15) -> AccountWatch[] in start order
const stamps = new Map(); // Account id (15) -> the last SystemModstamp this page saw
const fastUntil = new Map(); // Account id (15) -> epoch ms until which polling is fast

const key = (id) => (id ? `${id}`.substring(0, 15) : undefined);

function pageVisible() {
    return (
        typeof document === 'undefined' || document.visibilityState !== 'hidden'
    );
}

/** The watcher that polls an Account: the first that detects changes, else the first. */
function poller(accountKey) {
    const list = watchers.get(accountKey) || [];
    return list.find((w) => w.detectsChanges) || list[0];
}

/** Tell the page's components that an action was logged for the Account; poll fast a while. */
export function announceActionLogged(messageContext, accountId, action = {}) {
    const accountKey = key(accountId);
    if (!accountKey) {
        return;
    }
    fastUntil.set(accountKey, Date.now() + FAST_FOR_MS);
    publish(messageContext, ACCOUNT_CHANNEL, {
        accountId,
        reason: REASON.ACTION_LOGGED,
        actionId: action.id,
        actionType: action.type
    });
}

/** Subscribe to the channel; `handler(message)` for every message (filter by accountId). */
export function subscribeAccountMessages(messageContext, handler) {
    return subscribe(messageContext, ACCOUNT_CHANNEL, handler);
}

export function unsubscribeAccountMessages(subscription) {
    if (subscription) {
        unsubscribe(subscription);
    }
}

/** Re-read an Account everywhere on the page (Lightning Data Service, one request). */
export function rereadAccount(accountId) {
    return notifyRecordUpdateAvailable([{ recordId: accountId }]);
}

/** Same Account? 15- and 18-character ids share their first 15 characters. */
export function sameAccount(first, second) {
    return !!first && !!second && key(first) === key(second);
}

/**
 * One component's part in keeping an Account current.
 *
 *   getAccountId()      the Account the component shows (may change, may be undefined)
 *   refresh()           re-read it (refreshApex / refreshGraphQL); returns a promise
 *   detectsChanges      true when the component reports SystemModstamp through seen()
 *   getMessageContext() for publishing figuresChanged
 *   onMessage(message)  a message about its Account from another component (optional)
 */
export class AccountWatch {
    constructor({
        getAccountId,
        refresh,
        detectsChanges = false,
        getMessageContext = () => undefined,
        onMessage,
        intervalMs = POLL_MS
    }) {
        this.getAccountId = getAccountId;
        this.refresh = refresh;
        this.detectsChanges = detectsChanges;
        this.getMessageContext = getMessageContext;
        this.onMessage = onMessage;
        this.intervalMs = intervalMs;
        this.accountKey = undefined;
        this.lastPoll = 0;
        this.timer = undefined;
        this.subscription = undefined;
    }

    start() {
        this.stop();
        this.lastPoll = Date.now();
        // eslint-disable-next-line @lwc/lwc/no-async-operation
        this.timer = setInterval(() => this.tick(), FAST_POLL_MS);
        if (this.onMessage) {
            this.subscription = subscribeAccountMessages(
                this.getMessageContext(),
                (message) => this.receive(message)
            );
        }
    }

    stop() {
        if (this.timer) {
            clearInterval(this.timer);
            this.timer = undefined;
        }
        this.register(undefined);
        unsubscribeAccountMessages(this.subscription);
        this.subscription = undefined;
    }

    register(accountKey) {
        if (accountKey === this.accountKey) {
            return;
        }
        if (this.accountKey) {
            const rest = (watchers.get(this.accountKey) || []).filter(
                (w) => w !== this
            );
            if (rest.length) {
                watchers.set(this.accountKey, rest);
            } else {
                watchers.delete(this.accountKey);
            }
        }
        this.accountKey = accountKey;
        if (accountKey) {
            watchers.set(accountKey, [
                ...(watchers.get(accountKey) || []),
                this
            ]);
        }
    }

    /** Poll fast for a while: something that changes the Account was just asked for. */
    expectChange(forMs = FAST_FOR_MS) {
        const accountKey = key(this.getAccountId());
        if (accountKey) {
            fastUntil.set(accountKey, Date.now() + forMs);
        }
    }

    /** Called every FAST_POLL_MS: re-read when this component polls and it is time. */
    tick(now = Date.now()) {
        const accountKey = key(this.getAccountId());
        this.register(accountKey);
        if (!accountKey || !pageVisible() || poller(accountKey) !== this) {
            return undefined;
        }
        const fast = (fastUntil.get(accountKey) || 0) > now;
        if (now - this.lastPoll < (fast ? FAST_POLL_MS : this.intervalMs)) {
            return undefined;
        }
        this.lastPoll = now;
        return Promise.resolve()
            .then(() => this.refresh())
            .catch(() => {
                // A failed re-read shows in the component's own wire error; try again next tick.
            });
    }

    /**
     * The Account as this component last read it. When its SystemModstamp moved since the page
     * last saw it, the lists on the page are told to re-query.
     */
    seen(accountId, stamp) {
        const accountKey = key(accountId);
        if (!accountKey || !stamp) {
            return false;
        }
        const before = stamps.get(accountKey);
        stamps.set(accountKey, stamp);
        if (!before || before === stamp) {
            return false;
        }
        fastUntil.delete(accountKey);
        publish(this.getMessageContext(), ACCOUNT_CHANNEL, {
            accountId,
            reason: REASON.FIGURES_CHANGED
        });
        return true;
    }

    receive(message) {
        if (message && sameAccount(message.accountId, this.getAccountId())) {
            this.onMessage(message);
        }
    }
}

/** Forget every watcher and stamp (tests). */
export function resetLiveState() {
    watchers.clear();
    stamps.clear();
    fastUntil.clear();
}
