import CreditStatusBanner from 'c/creditStatusBanner';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import {
    empApiMock,
    subscribe,
    unsubscribe,
    isEmpEnabled
} from 'lightning/empApi';
import { flushPromises, mount, query, queryAll } from 'test/utils';

const mockHold = require('./data/getRecordHold.json');
const mockWatch = require('./data/getRecordWatch.json');
const mockNotAssessed = require('./data/getRecordNotAssessed.json');
const mockNoFieldAccess = require('./data/getRecordNoFieldAccess.json');
const mockOpportunity = require('./data/getOpportunity.json');
const mockCaseWithoutAccount = require('./data/getCaseWithoutAccount.json');

const TAG = 'c-credit-status-banner';
const ACCOUNT_ID = '001RM000003UNu6YAG';
const CHANNEL = '/event/Credit_Status_Change__e';

const forRecord = (recordId) => (config) => config.recordId === recordId;

async function mountOnAccount() {
    const element = mount(TAG, CreditStatusBanner, {
        recordId: ACCOUNT_ID,
        objectApiName: 'Account'
    });
    await flushPromises();
    return element;
}

async function emitAccount(mockRecord) {
    getRecord.emit(mockRecord, forRecord(ACCOUNT_ID));
    await flushPromises();
}

describe('c-credit-status-banner', () => {
    describe('data', () => {
        it('shows Credit Hold with the unmistakable warning and the figures', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockHold);

            const badge = query(element, '[data-id="status-badge"]');
            expect(badge.textContent).toContain('c.CC_Status_HOLD');
            expect(badge.className).toContain('slds-theme_error');

            const warning = query(element, '.hold-warning');
            expect(warning.getAttribute('role')).toBe('alert');
            expect(warning.textContent).toContain('c.CC_Banner_HoldWarning');

            expect(query(element, '.reason').textContent).toContain(
                mockHold.fields.Credit_Status_Reason__c.value
            );
            expect(
                query(element, '.overdue lightning-formatted-number').value
            ).toBe(12400);
            expect(query(element, '.days-past-due').textContent.trim()).toBe(
                '72'
            );
            expect(
                query(element, '.amount-to-release lightning-formatted-number')
                    .value
            ).toBe(4200);
            expect(
                query(element, '.last-update lightning-formatted-date-time')
                    .value
            ).toBe('2026-11-23T08:15:00.000Z');
            expect(query(element, '.promise-date')).toBeNull();
        });

        it('caps the utilisation bar at 100 and tells the true figure', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockHold);

            const bar = query(element, '[role="progressbar"]');
            expect(bar.getAttribute('aria-valuenow')).toBe('100');
            expect(bar.getAttribute('aria-valuemin')).toBe('0');
            expect(bar.getAttribute('aria-valuemax')).toBe('100');
            expect(bar.getAttribute('aria-valuetext')).toBe(
                'c.CC_Banner_UtilizationValue'
            );
            expect(
                query(element, '.slds-progress-bar__value').className
            ).toContain('bar-hold');
        });

        it('shows Watch with the promise date and no hold warning', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockWatch);

            expect(
                query(element, '[data-id="status-badge"]').textContent
            ).toContain('c.CC_Status_WATCH');
            expect(query(element, '.hold-warning')).toBeNull();
            expect(query(element, '.watch-note')).not.toBeNull();
            expect(
                query(element, '.promise-date lightning-formatted-date-time')
                    .value
            ).toBe('2026-12-01');
            expect(query(element, '.amount-to-release')).toBeNull();
            expect(
                query(element, '[role="progressbar"]').getAttribute(
                    'aria-valuenow'
                )
            ).toBe('82');
        });

        it('finds the Account through AccountId on an Opportunity', async () => {
            const element = mount(TAG, CreditStatusBanner, {
                recordId: mockOpportunity.id,
                objectApiName: 'Opportunity'
            });
            await flushPromises();
            getRecord.emit(mockOpportunity, forRecord(mockOpportunity.id));
            await flushPromises();

            const configs = [];
            getRecord.emit(mockHold, (config) => {
                configs.push(config);
                return config.recordId === ACCOUNT_ID;
            });
            await flushPromises();

            expect(configs.map((config) => config.recordId)).toContain(
                ACCOUNT_ID
            );
            expect(query(element, '.account-name').textContent).toContain(
                'Acme Industrial GmbH'
            );
            expect(query(element, '.hold-warning')).not.toBeNull();
        });

        it('shows a spinner while loading', async () => {
            const element = await mountOnAccount();
            expect(query(element, 'lightning-spinner')).not.toBeNull();
        });
    });

    describe('empty', () => {
        it('says the record has no account', async () => {
            const element = mount(TAG, CreditStatusBanner, {
                recordId: mockCaseWithoutAccount.id,
                objectApiName: 'Case'
            });
            await flushPromises();
            getRecord.emit(
                mockCaseWithoutAccount,
                forRecord(mockCaseWithoutAccount.id)
            );
            await flushPromises();

            expect(query(element, '.no-account').textContent).toContain(
                'c.CC_Banner_NoAccount'
            );
            expect(query(element, 'lightning-spinner')).toBeNull();
        });

        it('says the account has not been assessed yet', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockNotAssessed);

            expect(query(element, '.not-assessed')).not.toBeNull();
            expect(query(element, '[data-id="status-badge"]')).toBeNull();
        });

        it('says so calmly when the user cannot see the credit fields', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockNoFieldAccess);

            expect(query(element, '.no-access')).not.toBeNull();
            expect(query(element, 'c-error-panel')).toBeNull();
        });
    });

    describe('error', () => {
        it('treats a refused record as no access', async () => {
            const element = await mountOnAccount();
            getRecord.emitError(
                {
                    status: 403,
                    body: [
                        {
                            errorCode: 'INSUFFICIENT_ACCESS',
                            message: 'No access'
                        }
                    ]
                },
                forRecord(ACCOUNT_ID)
            );
            await flushPromises();

            expect(query(element, '.no-access')).not.toBeNull();
            expect(query(element, 'c-error-panel')).toBeNull();
        });

        it('shows other errors in the error panel', async () => {
            const element = await mountOnAccount();
            getRecord.emitError(
                {
                    status: 500,
                    statusText: 'Server Error',
                    body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'Boom' }]
                },
                forRecord(ACCOUNT_ID)
            );
            await flushPromises();

            const panel = query(element, 'c-error-panel');
            expect(panel).not.toBeNull();
            expect(panel.friendlyMessage).toBe('c.CC_Banner_LoadError');
            expect(panel.errors.body[0].message).toBe('Boom');
        });
    });

    describe('live update', () => {
        it('subscribes to Credit_Status_Change__e from the latest event on', async () => {
            await mountOnAccount();
            expect(subscribe).toHaveBeenCalledWith(
                CHANNEL,
                -1,
                expect.any(Function)
            );
        });

        it('re-reads the account when an event names it, without copying the payload', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockWatch);

            empApiMock.fireMockEvent(CHANNEL, {
                Account_Id__c: ACCOUNT_ID,
                Previous_Status__c: 'WATCH',
                New_Status__c: 'HOLD',
                Reason__c: 'HOLD: 1 invoice 61 days past due'
            });
            await flushPromises();

            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
                { recordId: ACCOUNT_ID }
            ]);
            // Nothing changes until LDS delivers the re-read record.
            expect(query(element, '.hold-warning')).toBeNull();
            await emitAccount(mockHold);
            expect(query(element, '.hold-warning')).not.toBeNull();
        });

        it('matches the 15-character form of the account id', async () => {
            await mountOnAccount();
            empApiMock.fireMockEvent(CHANNEL, {
                Account_Id__c: ACCOUNT_ID.substring(0, 15)
            });
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
        });

        it('ignores events for other accounts', async () => {
            await mountOnAccount();
            empApiMock.fireMockEvent(CHANNEL, {
                Account_Id__c: '001RM000009ZZZZYAA'
            });
            await flushPromises();
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
        });

        it('re-reads the account of an Opportunity page', async () => {
            await mount(TAG, CreditStatusBanner, {
                recordId: mockOpportunity.id,
                objectApiName: 'Opportunity'
            });
            await flushPromises();
            getRecord.emit(mockOpportunity, forRecord(mockOpportunity.id));
            await flushPromises();

            empApiMock.fireMockEvent(CHANNEL, { Account_Id__c: ACCOUNT_ID });
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
                { recordId: ACCOUNT_ID }
            ]);
        });

        it('unsubscribes when removed from the page', async () => {
            const element = await mountOnAccount();
            expect(empApiMock.activeSubscriptions()).toHaveLength(1);

            element.remove();
            await flushPromises();

            expect(unsubscribe).toHaveBeenCalled();
            expect(empApiMock.activeSubscriptions()).toHaveLength(0);
        });

        it('does not subscribe when empApi is unavailable', async () => {
            empApiMock.setMockEmpEnabled(false);
            await mountOnAccount();
            expect(isEmpEnabled).toHaveBeenCalled();
            expect(subscribe).not.toHaveBeenCalled();
        });

        it('says live updates are unavailable when the subscription fails', async () => {
            empApiMock.setMockSubscribeError(new Error('Handshake denied'));
            const element = await mountOnAccount();
            await emitAccount(mockHold);

            expect(query(element, '.live-unavailable')).not.toBeNull();
            expect(query(element, '.hold-warning')).not.toBeNull();
        });
    });

    describe('accessibility', () => {
        it.each([
            ['hold', mockHold],
            ['watch', mockWatch],
            ['not assessed', mockNotAssessed]
        ])('is accessible (%s)', async (name, mockRecord) => {
            const element = await mountOnAccount();
            await emitAccount(mockRecord);
            await expect(element).toBeAccessible();
        });

        it('is accessible with an error', async () => {
            const element = await mountOnAccount();
            getRecord.emitError(
                {
                    status: 500,
                    statusText: 'Server Error',
                    body: [{ errorCode: 'UNKNOWN_EXCEPTION', message: 'Boom' }]
                },
                forRecord(ACCOUNT_ID)
            );
            await flushPromises();
            await expect(element).toBeAccessible();
            expect(queryAll(element, 'c-error-panel')).toHaveLength(1);
        });
    });
});
