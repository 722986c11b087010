import CreditStatusBanner from 'c/creditStatusBanner';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import * as empApi from 'lightning/empApi';
import { messageServiceMock } from 'lightning/messageService';
import CreditReviewModal from 'c/creditReviewModal';
import { POLL_MS, FAST_POLL_MS, announceActionLogged } from 'c/creditLive';
import { flushPromises, mount, query, queryAll } from 'test/utils';

const mockHold = require('./data/getRecordHold.json');
const mockWatch = require('./data/getRecordWatch.json');
const mockNotAssessed = require('./data/getRecordNotAssessed.json');
const mockNoFieldAccess = require('./data/getRecordNoFieldAccess.json');
const mockOpportunity = require('./data/getOpportunity.json');
const mockCaseWithoutAccount = require('./data/getCaseWithoutAccount.json');

const TAG = 'c-credit-status-banner';
const ACCOUNT_ID = '001RM000003UNu6YAG';

/** A copy of a getRecord result with more fields set. */
function withFields(record, values) {
    const fields = { ...record.fields };
    Object.entries(values).forEach(([name, value]) => {
        fields[name] = { displayValue: null, value };
    });
    return { ...record, fields };
}

/** A getRecord result with SystemModstamp number n (each change moves it). */
function stamped(record, n) {
    return withFields(record, {
        SystemModstamp: `2026-12-01T10:00:0${n}.000Z`
    });
}

function setVisibility(state) {
    Object.defineProperty(document, 'visibilityState', {
        configurable: true,
        get: () => state
    });
}

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

    describe('money in the customer currency', () => {
        it('shows a GBP customer in pounds', async () => {
            const element = await mountOnAccount();
            await emitAccount(
                withFields(mockHold, { Credit_Currency__c: 'GBP' })
            );
            const amounts = queryAll(element, 'lightning-formatted-number');
            expect(amounts.length).toBeGreaterThan(0);
            amounts.forEach((amount) =>
                expect(amount.currencyCode).toBe('GBP')
            );
            const overdue = query(
                element,
                '.overdue lightning-formatted-number'
            );
            expect(
                new Intl.NumberFormat('en-GB', {
                    style: 'currency',
                    currency: overdue.currencyCode
                }).format(overdue.value)
            ).toBe('£12,400.00');
        });

        it('falls back to the record currency of a multi-currency org', async () => {
            const element = await mountOnAccount();
            await emitAccount(withFields(mockHold, { CurrencyIsoCode: 'CHF' }));
            expect(
                query(element, '.overdue lightning-formatted-number')
                    .currencyCode
            ).toBe('CHF');
        });

        it('prefers the currency the service wrote the figures in', async () => {
            const element = await mountOnAccount();
            await emitAccount(
                withFields(mockHold, {
                    Credit_Currency__c: 'GBP',
                    CurrencyIsoCode: 'EUR'
                })
            );
            expect(
                query(element, '.overdue lightning-formatted-number')
                    .currencyCode
            ).toBe('GBP');
        });

        it('asks for the currency fields as optional fields', async () => {
            await mountOnAccount();
            const config = getRecord.getLastConfig();
            expect(config.optionalFields).toEqual(
                expect.arrayContaining([
                    'Account.Credit_Currency__c',
                    'Account.CurrencyIsoCode',
                    'Account.SystemModstamp'
                ])
            );
        });
    });

    describe('live update', () => {
        beforeEach(() => {
            jest.useFakeTimers();
        });

        afterEach(() => {
            jest.useRealTimers();
        });

        it('re-reads the account every ten seconds while the page is visible', async () => {
            await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            jest.advanceTimersByTime(POLL_MS - FAST_POLL_MS);
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
            jest.advanceTimersByTime(FAST_POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
                { recordId: ACCOUNT_ID }
            ]);
        });

        it('shows the re-read figures and tells the page they changed', async () => {
            const element = await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            jest.advanceTimersByTime(POLL_MS);
            await flushPromises();
            await emitAccount(stamped(mockHold, 2));
            expect(query(element, '.hold-warning')).not.toBeNull();
            expect(messageServiceMock.published()).toEqual([
                { accountId: ACCOUNT_ID, reason: 'figuresChanged' }
            ]);
        });

        it('says nothing when the re-read account did not change', async () => {
            await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            await emitAccount(stamped(mockWatch, 1));
            expect(messageServiceMock.published()).toEqual([]);
        });

        it('does not poll while the browser tab is hidden', async () => {
            await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            setVisibility('hidden');
            jest.advanceTimersByTime(POLL_MS * 6);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
            setVisibility('visible');
        });

        it('polls every two seconds after an action is logged on the page', async () => {
            await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            announceActionLogged(undefined, ACCOUNT_ID, {
                id: 'a00000000000001AAA',
                type: 'Promise to Pay'
            });
            jest.advanceTimersByTime(FAST_POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
            jest.advanceTimersByTime(FAST_POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(2);
        });

        it('re-reads the account of an Opportunity page', async () => {
            await mount(TAG, CreditStatusBanner, {
                recordId: mockOpportunity.id,
                objectApiName: 'Opportunity'
            });
            await flushPromises();
            getRecord.emit(mockOpportunity, forRecord(mockOpportunity.id));
            await flushPromises();
            jest.advanceTimersByTime(POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([
                { recordId: ACCOUNT_ID }
            ]);
        });

        it('one re-read per page however many components show the account', async () => {
            await mountOnAccount();
            await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            jest.advanceTimersByTime(POLL_MS);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).toHaveBeenCalledTimes(1);
        });

        it('stops polling when removed from the page', async () => {
            const element = await mountOnAccount();
            await emitAccount(stamped(mockWatch, 1));
            element.remove();
            jest.advanceTimersByTime(POLL_MS * 3);
            await flushPromises();
            expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();
        });

        it('opens no streaming connection', async () => {
            await mountOnAccount();
            expect(empApi.subscribe).not.toHaveBeenCalled();
        });
    });

    describe('request credit review', () => {
        it('runs the review flow for the account in a modal', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockWatch);
            query(element, 'lightning-button.request-review').click();
            await flushPromises();
            expect(CreditReviewModal.open).toHaveBeenCalledWith(
                expect.objectContaining({ accountId: ACCOUNT_ID })
            );
        });

        it('runs the Request_Credit_Review flow with the account id', () => {
            const modal = mount('c-credit-review-modal', CreditReviewModal, {
                accountId: ACCOUNT_ID
            });
            const flow = query(modal, 'lightning-flow');
            expect(flow.flowApiName).toBe('Request_Credit_Review');
            expect(flow.flowInputVariables).toEqual([
                { name: 'recordId', type: 'String', value: ACCOUNT_ID }
            ]);
        });

        it('is not offered when the user cannot see the credit fields', async () => {
            const element = await mountOnAccount();
            await emitAccount(mockNoFieldAccess);
            expect(
                query(element, 'lightning-button.request-review')
            ).toBeNull();
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
