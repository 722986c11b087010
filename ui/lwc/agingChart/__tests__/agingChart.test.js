import AgingChart from 'c/agingChart';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { messageServiceMock } from 'lightning/messageService';
import { POLL_MS } from 'c/creditLive';
import { flushPromises, mount, query, queryAll } from 'test/utils';

const mockRecord = require('./data/getRecord.json');
const mockEmpty = require('./data/getRecordEmpty.json');
const mockNoFieldAccess = require('./data/getRecordNoFieldAccess.json');

const TAG = 'c-aging-chart';
const ACCOUNT_ID = '001RM000003UNu6YAG';

function withFields(record, values) {
    const fields = { ...record.fields };
    Object.entries(values).forEach(([name, value]) => {
        fields[name] = { displayValue: null, value };
    });
    return { ...record, fields };
}

async function mountChart() {
    const element = mount(TAG, AgingChart, { recordId: ACCOUNT_ID });
    await flushPromises();
    return element;
}

async function emit(record) {
    getRecord.emit(record);
    await flushPromises();
}

describe('c-aging-chart', () => {
    describe('data', () => {
        it('draws one bar per bucket, scaled to the largest', async () => {
            const element = await mountChart();
            await emit(mockRecord);

            const bars = queryAll(element, '.bar');
            expect(bars).toHaveLength(5);
            expect(bars.map((bar) => bar.style.height)).toEqual([
                '65%',
                '25%',
                '0%',
                '100%',
                '2%'
            ]);
        });

        it('summarises the chart for assistive technology', async () => {
            const element = await mountChart();
            await emit(mockRecord);

            const chart = query(element, '[role="img"]');
            expect(chart.getAttribute('aria-label')).toBeTruthy();
            const rows = queryAll(
                element,
                'table.slds-assistive-text tbody tr'
            );
            expect(rows).toHaveLength(6);
            expect(rows[0].querySelector('th').textContent).toBe(
                'c.CC_Aging_BucketCurrent'
            );
            expect(rows[3].querySelector('td').textContent).toBe('$12,400.00');
            expect(rows[5].querySelector('td').textContent).toBe('$23,600.00');
        });

        it('reads the aging fields of the account', async () => {
            await mountChart();
            const config = getRecord.getLastConfig();
            expect(config.recordId).toBe(ACCOUNT_ID);
            expect(
                config.optionalFields.map((field) => {
                    return typeof field === 'string'
                        ? field
                        : field.fieldApiName;
                })
            ).toEqual([
                'Aging_Current__c',
                'Aging_1_30__c',
                'Aging_31_60__c',
                'Aging_61_90__c',
                'Aging_91_Plus__c',
                'Account.Credit_Currency__c',
                'Account.CurrencyIsoCode',
                'Account.SystemModstamp'
            ]);
        });

        it("shows the amounts in the customer's currency", async () => {
            const element = await mountChart();
            await emit(withFields(mockRecord, { Credit_Currency__c: 'GBP' }));
            const rows = queryAll(
                element,
                'table.slds-assistive-text tbody tr'
            );
            expect(rows[3].querySelector('td').textContent).toBe('£12,400.00');
            expect(rows[5].querySelector('td').textContent).toBe('£23,600.00');
        });
    });

    describe('empty', () => {
        it('says there are no open invoices', async () => {
            const element = await mountChart();
            await emit(mockEmpty);
            expect(query(element, '.empty').textContent).toBe(
                'c.CC_Aging_Empty'
            );
            expect(query(element, '[role="img"]')).toBeNull();
        });

        it('says so when the user cannot see the aging fields', async () => {
            const element = await mountChart();
            await emit(mockNoFieldAccess);
            expect(query(element, '.no-access')).not.toBeNull();
        });
    });

    describe('error', () => {
        it('shows the error panel', async () => {
            const element = await mountChart();
            getRecord.emitError({
                status: 500,
                statusText: 'Server Error',
                body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'Boom' }]
            });
            await flushPromises();
            const panel = query(element, 'c-error-panel');
            expect(panel).not.toBeNull();
            expect(panel.friendlyMessage).toBe('c.CC_Aging_LoadError');
        });
    });

    describe('live update', () => {
        beforeEach(() => jest.useFakeTimers());
        afterEach(() => jest.useRealTimers());

        it('re-reads the account while visible and tells the page when it changed', async () => {
            await mountChart();
            await emit(
                withFields(mockRecord, {
                    SystemModstamp: '2026-12-01T10:00:01Z'
                })
            );
            jest.advanceTimersByTime(POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
                { recordId: ACCOUNT_ID }
            ]);
            await emit(
                withFields(mockEmpty, {
                    SystemModstamp: '2026-12-01T10:00:02Z'
                })
            );
            expect(messageServiceMock.published()).toEqual([
                { accountId: ACCOUNT_ID, reason: 'figuresChanged' }
            ]);
        });

        it('stops when removed', async () => {
            const element = await mountChart();
            element.remove();
            jest.advanceTimersByTime(POLL_MS * 3);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
        });
    });

    describe('accessibility', () => {
        it('is accessible with data', async () => {
            const element = await mountChart();
            await emit(mockRecord);
            await expect(element).toBeAccessible();
        });

        it('is accessible when empty', async () => {
            const element = await mountChart();
            await emit(mockEmpty);
            await expect(element).toBeAccessible();
        });
    });
});
