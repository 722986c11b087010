import { createRecord } from 'lightning/uiRecordApi';
import { changeValue, flushPromises, query } from 'test/utils';
import { ACCOUNT_ID, mountForm, submit, typeValues } from './formHarness';

jest.mock(
    '@salesforce/customPermission/Credit_Hold_Override',
    () => ({ default: true }),
    {
        virtual: true
    }
);

describe('c-collection-action-form with the Credit_Hold_Override permission', () => {
    beforeEach(() => {
        createRecord.mockResolvedValue({ id: 'a01RM0000000009YAA' });
    });

    it('offers the hold override', async () => {
        const element = await mountForm();
        expect(typeValues(element)).toContain('Hold Override');
    });

    it('requires an end date and a justification for an override', async () => {
        const element = await mountForm({ defaultType: 'Hold Override' });
        expect(query(element, '.override-help')).not.toBeNull();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();

        changeValue(element, '[data-field="Override_Until__c"]', '2000-01-01');
        changeValue(element, '[data-field="Notes__c"]', 'CFO approved');
        await flushPromises();
        await submit(element);
        expect(createRecord).not.toHaveBeenCalled();
        expect(query(element, '.validation-message').textContent).toContain(
            'c.CC_Log_DateInPast'
        );

        changeValue(element, '[data-field="Override_Until__c"]', '2099-01-31');
        await flushPromises();
        await submit(element);
        expect(createRecord).toHaveBeenCalledWith({
            apiName: 'Collection_Action__c',
            fields: {
                Account__c: ACCOUNT_ID,
                Type__c: 'Hold Override',
                Source__c: 'Salesforce',
                Notes__c: 'CFO approved',
                Override_Until__c: '2099-01-31'
            }
        });
    });

    it('is accessible with the override form', async () => {
        const element = await mountForm({ defaultType: 'Hold Override' });
        await expect(element).toBeAccessible();
    });
});
