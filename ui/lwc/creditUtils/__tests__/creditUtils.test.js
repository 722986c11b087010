import {
    CREDIT_STATUS_CHANNEL,
    CreditStatusListener,
    daysPastDue,
    formatCurrency,
    formatDate,
    formatLabel,
    sameRecordId,
    statusPresentation,
    todayIso
} from 'c/creditUtils';
import { empApiMock, onError, subscribe, unsubscribe } from 'lightning/empApi';
import { flushPromises } from 'test/utils';

describe('c/creditUtils', () => {
    it('presents each credit status', () => {
        expect(statusPresentation('OK').label).toBe('c.CC_Status_OK');
        expect(statusPresentation('WATCH').badgeClass).toContain(
            'slds-theme_warning'
        );
        expect(statusPresentation('HOLD').iconName).toBe('utility:ban');
        expect(statusPresentation('UNKNOWN')).toBeUndefined();
    });

    it('fills label placeholders', () => {
        expect(formatLabel('{0} of {1} ({0})', 'a', 2)).toBe('a of 2 (a)');
        expect(formatLabel('{0}-{1}', 'a')).toBe('a-');
        expect(formatLabel(undefined)).toBe('');
    });

    it('formats money and dates in the user locale', () => {
        expect(formatCurrency(12400)).toBe('$12,400.00');
        expect(formatCurrency(9200, 'EUR')).toBe('€9,200.00');
        expect(formatCurrency(null)).toBe('');
        expect(formatCurrency(5, 'NOT-A-CODE')).toBe('5');
        expect(formatDate('2026-12-01')).toBe('Dec 01, 2026');
        expect(formatDate(undefined)).toBe('');
    });

    it('compares 15- and 18-character ids', () => {
        expect(sameRecordId('001RM000003UNu6YAG', '001RM000003UNu6')).toBe(
            true
        );
        expect(sameRecordId('001RM000003UNu6YAG', '001RM000003UNU6YAG')).toBe(
            false
        );
        expect(sameRecordId(undefined, '001RM000003UNu6YAG')).toBe(false);
    });

    it('counts days past due', () => {
        expect(daysPastDue('2026-09-10', '2026-11-23')).toBe(74);
        expect(daysPastDue('2026-12-10', '2026-11-23')).toBe(0);
        expect(daysPastDue(undefined, '2026-11-23')).toBeUndefined();
        expect(todayIso(new Date(2026, 0, 5))).toBe('2026-01-05');
    });

    describe('CreditStatusListener', () => {
        it('hands on matching events only, never the payload', async () => {
            const onChange = jest.fn();
            const listener = new CreditStatusListener({
                getAccountId: () => '001RM000003UNu6YAG',
                onChange
            });
            await listener.start();
            expect(subscribe).toHaveBeenCalledWith(
                CREDIT_STATUS_CHANNEL,
                -1,
                expect.any(Function)
            );
            expect(onError).toHaveBeenCalled();

            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001RM000003UNu6YAG',
                New_Status__c: 'HOLD'
            });
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001OTHER00000000AA'
            });
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {});
            await flushPromises();
            expect(onChange.mock.calls).toEqual([['001RM000003UNu6YAG']]);
        });

        it('hands on every event without an account filter', async () => {
            const onChange = jest.fn();
            const listener = new CreditStatusListener({ onChange });
            await listener.start();
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001A'
            });
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001B'
            });
            await flushPromises();
            expect(onChange.mock.calls).toEqual([['001A'], ['001B']]);
        });

        it('reports a failed re-read instead of leaving it unhandled', async () => {
            const handleError = jest.fn();
            const failure = new Error('refresh failed');
            const listener = new CreditStatusListener({
                onChange: () => Promise.reject(failure),
                onError: handleError
            });
            await listener.start();
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001A'
            });
            await flushPromises();
            expect(handleError).toHaveBeenCalledWith(failure);
        });

        it('leaves no subscription when stopped before it is confirmed', async () => {
            const listener = new CreditStatusListener({ onChange: jest.fn() });
            listener.start();
            await listener.stop();
            await flushPromises();
            expect(empApiMock.activeSubscriptions()).toHaveLength(0);
        });

        it('unsubscribes when stopped', async () => {
            const listener = new CreditStatusListener({ onChange: jest.fn() });
            await listener.start();
            expect(empApiMock.activeSubscriptions()).toHaveLength(1);
            await listener.stop();
            expect(unsubscribe).toHaveBeenCalledWith(
                expect.objectContaining({ channel: CREDIT_STATUS_CHANNEL }),
                expect.any(Function)
            );
            expect(empApiMock.activeSubscriptions()).toHaveLength(0);
        });

        it('reports subscription and streaming errors', async () => {
            const handleError = jest.fn();
            empApiMock.setMockSubscribeError({ error: 'denied' });
            const listener = new CreditStatusListener({
                onChange: jest.fn(),
                onError: handleError
            });
            await listener.start();
            expect(handleError).toHaveBeenCalledWith({ error: 'denied' });

            empApiMock.setMockSubscribeError(undefined);
            const second = new CreditStatusListener({
                onChange: jest.fn(),
                onError: handleError
            });
            await second.start();
            empApiMock.fireMockError({ error: '403::Unknown client' });
            expect(handleError).toHaveBeenLastCalledWith({
                error: '403::Unknown client'
            });
            await flushPromises();
        });

        it('ignores events once stopped', async () => {
            const onChange = jest.fn();
            const listener = new CreditStatusListener({ onChange });
            await listener.start();
            const stopping = listener.stop();
            empApiMock.fireMockEvent(CREDIT_STATUS_CHANNEL, {
                Account_Id__c: '001A'
            });
            await stopping;
            expect(onChange).not.toHaveBeenCalled();
        });
    });
});
