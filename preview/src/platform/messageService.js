/**
 * lightning/messageService (Lightning Message Service) within one page: publish, subscribe,
 * unsubscribe, the MessageContext wire adapter, APPLICATION_SCOPE. Message channels are
 * imported as `@salesforce/messageChannel/<Name>__c` (`{ channel }`). Messages are copied, as
 * the platform copies them, so a subscriber cannot change what another receives.
 */
export const APPLICATION_SCOPE = Symbol('APPLICATION_SCOPE');

const subscribers = new Map(); // channel name -> Set of subscriptions

function channelName(messageChannel) {
    return messageChannel && typeof messageChannel === 'object'
        ? messageChannel.channel
        : `${messageChannel}`;
}

export class MessageContext {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.context = { active: true };
    }

    connect() {
        this.context.active = true;
        this.dataCallback(this.context);
    }

    update() {}

    disconnect() {
        this.context.active = false;
    }
}

export function createMessageContext() {
    return { active: true };
}

export function releaseMessageContext(context) {
    if (context) {
        context.active = false;
    }
}

export function publish(messageContext, messageChannel, message) {
    const listeners = subscribers.get(channelName(messageChannel));
    if (!listeners) {
        return;
    }
    listeners.forEach((subscription) => {
        if (subscription.context.active === false) {
            return;
        }
        const copy =
            message === undefined
                ? undefined
                : JSON.parse(JSON.stringify(message));
        subscription.listener(copy);
    });
}

export function subscribe(messageContext, messageChannel, listener, options) {
    const name = channelName(messageChannel);
    const subscription = {
        channel: name,
        listener,
        context: messageContext || { active: true },
        scope: options && options.scope
    };
    if (!subscribers.has(name)) {
        subscribers.set(name, new Set());
    }
    subscribers.get(name).add(subscription);
    return subscription;
}

export function unsubscribe(subscription) {
    const listeners = subscription && subscribers.get(subscription.channel);
    if (listeners) {
        listeners.delete(subscription);
    }
}
