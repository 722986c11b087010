/**
 * Mock of lightning/messageService that delivers: `publish` hands the message to every
 * subscriber of the channel at once, as Lightning Message Service does within a page, so
 * components under test talk to each other. `messageServiceMock.published()` lists what was
 * published; `resetMock()` forgets subscribers (setupTests does it after each test).
 */
import { createTestWireAdapter } from '@salesforce/wire-service-jest-util';

let subscriptions = [];
let messages = [];
let sequence = 0;

export const APPLICATION_SCOPE = Symbol('APPLICATION_SCOPE');
export const MessageContext = createTestWireAdapter(jest.fn());
export const createMessageContext = jest.fn(() => ({}));
export const releaseMessageContext = jest.fn();

export const publish = jest.fn((context, channel, message) => {
    messages.push({ channel, message });
    subscriptions
        .filter((entry) => entry.channel === channel)
        .forEach((entry) => entry.listener(message));
});

export const subscribe = jest.fn((context, channel, listener) => {
    sequence += 1;
    const subscription = { id: sequence, channel, listener };
    subscriptions.push(subscription);
    return subscription;
});

export const unsubscribe = jest.fn((subscription) => {
    subscriptions = subscriptions.filter((entry) => entry !== subscription);
});

export const messageServiceMock = {
    published: () => messages.map((entry) => entry.message),
    subscriberCount: () => subscriptions.length,
    resetMock: () => {
        subscriptions = [];
        messages = [];
    }
};
