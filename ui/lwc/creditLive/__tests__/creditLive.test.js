import {
    AccountWatch,
    FAST_FOR_MS,
    FAST_POLL_MS,
    POLL_MS,
    announceActionLogged,
    sameAccount
} from 'c/creditLive';
import { messageServiceMock } from 'lightning/messageService';
import { flushPromises } from 'test/utils';

const ACCOUNT_ID = '001RM000003UNu6YAG';

function watch(options = {}) {
    const refresh = jest.fn(() => Promise.resolve());
    const w = new AccountWatch({
        getAccountId: () => ACCOUNT_ID,
        refresh,
        ...options
    });
    w.start();
    return { w, refresh };
}

describe('c/creditLive', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('lets the component that can tell a change poll, whichever started first', async () => {
        const list = watch();
        const banner = watch({ detectsChanges: true });
        jest.advanceTimersByTime(POLL_MS);
        await flushPromises();
        expect(banner.refresh).toHaveBeenCalledTimes(1);
        expect(list.refresh).not.toHaveBeenCalled();
        banner.w.stop();
        list.w.stop();
    });

    it('hands polling on when the polling component leaves', async () => {
        const first = watch({ detectsChanges: true });
        const second = watch({ detectsChanges: true });
        first.w.stop();
        jest.advanceTimersByTime(POLL_MS);
        await flushPromises();
        expect(second.refresh).toHaveBeenCalledTimes(1);
        second.w.stop();
    });

    it('polls fast for a minute after an action is logged, then slows down', async () => {
        const { w, refresh } = watch({ detectsChanges: true });
        announceActionLogged(undefined, ACCOUNT_ID, {
            id: 'a01',
            type: 'Call'
        });
        jest.advanceTimersByTime(FAST_FOR_MS);
        await flushPromises();
        // every two seconds until the minute is over (the last tick falls on its end)
        expect(refresh).toHaveBeenCalledTimes(FAST_FOR_MS / FAST_POLL_MS - 1);
        refresh.mockClear();
        jest.advanceTimersByTime(POLL_MS);
        await flushPromises();
        expect(refresh).toHaveBeenCalledTimes(1);
        w.stop();
    });

    it('announces a logged action on the message channel', () => {
        announceActionLogged(undefined, ACCOUNT_ID, {
            id: 'a01',
            type: 'Call'
        });
        expect(messageServiceMock.published()).toEqual([
            {
                accountId: ACCOUNT_ID,
                reason: 'actionLogged',
                actionId: 'a01',
                actionType: 'Call'
            }
        ]);
    });

    it('tells the page once per change of SystemModstamp', () => {
        const { w } = watch({ detectsChanges: true });
        expect(w.seen(ACCOUNT_ID, 'stamp-1')).toBe(false); // first sight
        expect(w.seen(ACCOUNT_ID, 'stamp-1')).toBe(false);
        expect(w.seen(ACCOUNT_ID, 'stamp-2')).toBe(true);
        expect(messageServiceMock.published()).toEqual([
            { accountId: ACCOUNT_ID, reason: 'figuresChanged' }
        ]);
        w.stop();
    });

    it('hands a message about its account only to the components showing it', () => {
        const onMessage = jest.fn();
        const { w } = watch({ onMessage });
        announceActionLogged(undefined, '001RM000009ZZZZYAA', {});
        announceActionLogged(undefined, ACCOUNT_ID.substring(0, 15), {});
        expect(onMessage).toHaveBeenCalledTimes(1);
        w.stop();
        expect(messageServiceMock.subscriberCount()).toBe(0);
    });

    it('ignores malformed messages on the channel', () => {
        const onMessage = jest.fn();
        const { w } = watch({ onMessage });
        w.receive(undefined);
        w.receive({});
        w.receive({ accountId: 42, reason: 'figuresChanged' });
        expect(onMessage).not.toHaveBeenCalled();
        w.stop();
    });

    it('compares 15- and 18-character ids', () => {
        expect(sameAccount(ACCOUNT_ID, ACCOUNT_ID.substring(0, 15))).toBe(true);
        expect(sameAccount(ACCOUNT_ID, undefined)).toBe(false);
    });
});
