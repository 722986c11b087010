import { createRecord } from 'lightning/uiRecordApi';
import { getObjectInfo } from 'lightning/uiObjectInfoApi';
import { changeValue, flushPromises, query } from 'test/utils';
import {
    ACCOUNT_ID,
    mockNoInvoices,
    mockObjectInfoReadOnly,
    mountForm,
    submit,
    typeValues
} from './formHarness';

jest.mock(
    '@salesforce/customPermission/Credit_Hold_Override',
    () => ({ default: false }),
    {
        virtual: true
    }
);

const FUTURE = '2099-01-31';
const PAST = '2000-01-01';

describe('c-collection-action-form', () => {
    beforeEach(() => {
        createRecord.mockResolvedValue({ id: 'a01RM0000000009YAA' });
    });

    it('offers call, email, note, promise and dispute, but no override without the permission', async () => {
        const element = await mountForm();
        expect(typeValues(element)).toEqual([
            'Call',
            'Email',
            'Note',
            'Promise to Pay',
            'Dispute'
        ]);
    });

    it('does not preselect an override for a user without the permission', async () => {
        const element = await mountForm({ defaultType: 'Hold Override' });
        expect(query(element, 'lightning-combobox.type').value).toBe('Call');
        expect(query(element, '[data-field="Override_Until__c"]')).toBeNull();
    });

    it('logs a call with its outcome, creating a Collection_Action__c from Salesforce', async () => {
        const element = await mountForm();
        const toastHandler = jest.fn();
        const loggedHandler = jest.fn();
        element.addEventListener('lightning__showtoast', toastHandler);
        element.addEventListener('logged', loggedHandler);

        changeValue(element, '[data-field="Outcome__c"]', 'Reached');
        changeValue(
            element,
            '[data-field="Notes__c"]',
            'Agreed to pay INV-0398 this week.'
        );
        changeValue(element, '[data-field="Follow_Up_Date__c"]', FUTURE);
        await flushPromises();
        await submit(element);

        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Collection_Action__c',
            fields: {
                Account__c: ACCOUNT_ID,
                Type__c: 'Call',
                Source__c: 'Salesforce',
                Outcome__c: 'Reached',
                Notes__c: 'Agreed to pay INV-0398 this week.',
                Follow_Up_Date__c: FUTURE
            }
        });
        expect(toastHandler).toHaveBeenCalledTimes(1);
        expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
        expect(loggedHandler.mock.calls[0][0].detail).toEqual({
            id: 'a01RM0000000009YAA',
            type: 'Call'
        });
        // The form is cleared for the next action
        expect(query(element, '[data-field="Notes__c"]').value).toBeUndefined();
    });

    it('refuses a follow-up date in the past', async () => {
        const element = await mountForm();
        changeValue(element, '[data-field="Follow_Up_Date__c"]', PAST);
        await flushPromises();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_DateInPast'
        );
    });

    it('requires a note for a note', async () => {
        const element = await mountForm();
        changeValue(element, 'lightning-combobox.type', 'Note');
        await flushPromises();
        await submit(element);

        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_RequiredMissing'
        );
        expect(query(element, '[data-field="Outcome__c"]')).toBeNull();
    });

    it('requires a date and an amount for a promise to pay', async () => {
        const element = await mountForm();
        changeValue(element, 'lightning-combobox.type', 'Promise to Pay');
        await flushPromises();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message')).not.toBeNull();

        changeValue(element, '[data-field="Promised_Date__c"]', PAST);
        changeValue(element, '[data-field="Promised_Amount__c"]', '3100');
        await flushPromises();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_DateInPast'
        );

        changeValue(element, '[data-field="Promised_Date__c"]', FUTURE);
        changeValue(element, '[data-field="Promised_Amount__c"]', '0');
        await flushPromises();
        await submit(element);
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_AmountPositive'
        );

        changeValue(element, '[data-field="Promised_Amount__c"]', '3100');
        await flushPromises();
        await submit(element);
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Collection_Action__c',
            fields: {
                Account__c: ACCOUNT_ID,
                Type__c: 'Promise to Pay',
                Source__c: 'Salesforce',
                Promised_Date__c: FUTURE,
                Promised_Amount__c: 3100
            }
        });
    });

    it('logs a dispute on an invoice with an amount and a reason', async () => {
        const element = await mountForm();
        changeValue(element, 'lightning-combobox.type', 'Dispute');
        await flushPromises();

        const invoice = query(element, '[data-field="Receivable__c"]');
        expect(invoice.options.map((option) => option.value)).toEqual([
            'a02RM0000000001YAA',
            'a02RM0000000002YAA'
        ]);
        changeValue(
            element,
            '[data-field="Receivable__c"]',
            'a02RM0000000002YAA'
        );
        await flushPromises();
        // The disputed amount defaults to what is open on the invoice
        expect(query(element, '[data-field="Disputed_Amount__c"]').value).toBe(
            3200
        );

        changeValue(element, '[data-field="Disputed_Amount__c"]', '5000');
        changeValue(element, '[data-field="Dispute_Reason__c"]', 'Quantity');
        await flushPromises();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_AmountTooHigh'
        );

        changeValue(element, '[data-field="Disputed_Amount__c"]', '1200');
        await flushPromises();
        await submit(element);
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Collection_Action__c',
            fields: {
                Account__c: ACCOUNT_ID,
                Type__c: 'Dispute',
                Source__c: 'Salesforce',
                Receivable__c: 'a02RM0000000002YAA',
                Disputed_Amount__c: 1200,
                Dispute_Reason__c: 'Quantity',
                Dispute_Status__c: 'Open'
            }
        });
    });

    it('starts from a given invoice and amount when opened for a dispute', async () => {
        const element = await mountForm({
            defaultType: 'Dispute',
            receivableId: 'a02RM0000000001YAA',
            amount: 9200
        });
        expect(query(element, 'lightning-combobox.type').value).toBe('Dispute');
        expect(query(element, '[data-field="Receivable__c"]').value).toBe(
            'a02RM0000000001YAA'
        );
        expect(query(element, '[data-field="Disputed_Amount__c"]').value).toBe(
            9200
        );
    });

    it('shows a save error through the error panel and keeps the input', async () => {
        createRecord.mockRejectedValue({
            body: {
                message: 'An error occurred while trying to update the record.',
                output: {
                    errors: [],
                    fieldErrors: {
                        Notes__c: [{ message: 'Notes are too long.' }]
                    }
                }
            },
            status: 400
        });
        const element = await mountForm();
        changeValue(element, '[data-field="Notes__c"]', 'Long text');
        await flushPromises();
        await submit(element);

        const panel = query(element, 'c-error-panel');
        expect(panel).not.toBeNull();
        expect(panel.friendlyMessage).toBe('c.CC_Log_SaveError');
        expect(query(element, '[data-field="Notes__c"]').value).toBe(
            'Long text'
        );
    });

    it('is read-only for users who cannot create actions', async () => {
        const element = await mountForm(
            {},
            { objectInfo: mockObjectInfoReadOnly }
        );
        expect(query(element, '.read-only')).not.toBeNull();
        expect(query(element, 'lightning-combobox.type')).toBeNull();
    });

    it('shows an error when the object cannot be described', async () => {
        const element = await mountForm({}, { objectInfo: null });
        getObjectInfo.emitError({ status: 500, body: { message: 'Boom' } });
        await flushPromises();
        expect(query(element, 'c-error-panel')).not.toBeNull();
    });

    it('says when there are no open invoices to dispute', async () => {
        const element = await mountForm(
            { defaultType: 'Dispute' },
            { invoices: mockNoInvoices }
        );
        expect(query(element, '.no-invoices')).not.toBeNull();
    });

    describe('accessibility', () => {
        it('is accessible with the call form', async () => {
            const element = await mountForm();
            await expect(element).toBeAccessible();
        });

        it('is accessible with a dispute form and validation message', async () => {
            const element = await mountForm({ defaultType: 'Dispute' });
            await submit(element);
            await expect(element).toBeAccessible();
        });
    });
});
