/**
 * Mock of lightning/empApi with test controls (after the ebikes-lwc mock).
 *
 * Components subscribe as they would in the org; tests drive the stream with
 * `empApiMock.fireMockEvent(channel, payload)` and can make the API unavailable or failing.
 */
let mockIsEmpEnabled = true;
let mockSubscribeError;
let errorCallbacks = [];
let subscriptions = [];
let sequence = 0;

export const isEmpEnabled = jest.fn(() => Promise.resolve(mockIsEmpEnabled));

export const setDebugFlag = jest.fn(() => Promise.resolve());

export const onError = jest.fn((callback) => {
    errorCallbacks.push(callback);
    return Promise.resolve();
});

export const subscribe = jest.fn((channel, replayId, callback) => {
    if (mockSubscribeError) {
        return Promise.reject(mockSubscribeError);
    }
    sequence += 1;
    const subscription = {
        id: `mock-subscription-${sequence}`,
        channel,
        replayId
    };
    subscriptions.push({ subscription, callback });
    return Promise.resolve(subscription);
});

export const unsubscribe = jest.fn((subscription, callback) => {
    const before = subscriptions.length;
    subscriptions = subscriptions.filter(
        (entry) => entry.subscription.id !== (subscription && subscription.id)
    );
    const result = { successful: subscriptions.length < before };
    if (typeof callback === 'function') {
        callback(result);
    }
    return Promise.resolve(result);
});

function resetMock() {
    mockIsEmpEnabled = true;
    mockSubscribeError = undefined;
    errorCallbacks = [];
    subscriptions = [];
}

function setMockEmpEnabled(isEnabled) {
    mockIsEmpEnabled = isEnabled;
}

function setMockSubscribeError(error) {
    mockSubscribeError = error;
}

function fireMockError(error) {
    errorCallbacks.forEach((callback) => callback(error));
}

/**
 * Delivers a platform event message, shaped as empApi delivers it, to every active
 * subscription on the channel.
 */
function fireMockEvent(channel, payload, replayId = 1) {
    const message = {
        channel,
        data: {
            schema: 'mock-schema-id',
            payload,
            event: { replayId, EventUuid: `mock-uuid-${replayId}` }
        }
    };
    subscriptions
        .filter((entry) => entry.subscription.channel === channel)
        .forEach((entry) => entry.callback(message));
}

function activeSubscriptions() {
    return subscriptions.map((entry) => entry.subscription);
}

export const empApiMock = {
    resetMock,
    setMockEmpEnabled,
    setMockSubscribeError,
    fireMockError,
    fireMockEvent,
    activeSubscriptions
};
