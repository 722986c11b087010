import {
    APPLICATION_SCOPE,
    publish,
    subscribe,
    unsubscribe
} from '../messageService';
import { NavigationMixin, urlFor } from '../navigation';
import { getFieldDisplayValue, getFieldValue } from '../uiRecordApi';
import { gql } from '../graphql';

const CHANNEL = { channel: 'Credit_Control_Account__c' };

describe('lightning/messageService (preview)', () => {
    it('delivers a copy to each subscriber until it unsubscribes', () => {
        const first = jest.fn((message) => {
            message.accountId = 'changed by the first subscriber';
        });
        const second = jest.fn();
        const one = subscribe({ active: true }, CHANNEL, first, {
            scope: APPLICATION_SCOPE
        });
        subscribe({ active: true }, CHANNEL, second);
        publish({}, CHANNEL, { accountId: '001A' });
        expect(second).toHaveBeenCalledWith({ accountId: '001A' });
        unsubscribe(one);
        publish({}, CHANNEL, { accountId: '001B' });
        expect(first).toHaveBeenCalledTimes(1);
        expect(second).toHaveBeenCalledTimes(2);
    });

    it('skips subscribers whose context was released, and other channels', () => {
        const context = { active: true };
        const listener = jest.fn();
        subscribe(context, CHANNEL, listener);
        context.active = false;
        publish({}, CHANNEL, {});
        publish({}, { channel: 'Other__c' }, {});
        expect(listener).not.toHaveBeenCalled();
    });
});

describe('lightning/navigation (preview)', () => {
    it('turns page references into the preview addresses', () => {
        expect(
            urlFor({
                type: 'standard__recordPage',
                attributes: {
                    recordId: '001A',
                    objectApiName: 'Account',
                    actionName: 'view'
                }
            })
        ).toBe('/lightning/r/Account/001A/view');
        expect(
            urlFor({
                type: 'standard__navItemPage',
                attributes: { apiName: 'Collections_Worklist' }
            })
        ).toBe('/lightning/n/Collections_Worklist');
        expect(
            urlFor({
                type: 'standard__recordPage',
                attributes: { recordId: '../x?y', objectApiName: 'Account' }
            })
        ).toBe('/lightning/r/Account/..%2Fx%3Fy/view');
        expect(urlFor({ type: 'comm__namedPage' })).toBeUndefined();
    });

    it('generates URLs through the mixin', async () => {
        class Base {}
        const Mixed = NavigationMixin(Base);
        const url = await new Mixed()[NavigationMixin.GenerateUrl]({
            type: 'standard__objectPage',
            attributes: { objectApiName: 'Account', actionName: 'list' }
        });
        expect(url).toBe('/lightning/o/Account/list');
    });
});

describe('lightning/uiRecordApi getFieldValue (preview)', () => {
    const record = {
        apiName: 'Account',
        fields: {
            Credit_Status__c: { value: 'HOLD', displayValue: 'Credit Hold' },
            Owner: {
                displayValue: 'Admin',
                value: {
                    apiName: 'User',
                    fields: { Name: { value: 'Admin', displayValue: null } }
                }
            }
        }
    };

    it('reads fields by schema import or by name, parents included', () => {
        const status = {
            objectApiName: 'Account',
            fieldApiName: 'Credit_Status__c'
        };
        expect(getFieldValue(record, status)).toBe('HOLD');
        expect(getFieldDisplayValue(record, status)).toBe('Credit Hold');
        expect(getFieldValue(record, 'Account.Owner.Name')).toBe('Admin');
        expect(getFieldValue(record, 'Account.Missing__c')).toBeUndefined();
        expect(getFieldValue(undefined, status)).toBeUndefined();
    });
});

describe('lightning/graphql gql (preview)', () => {
    it('keeps the query text with its substitutions', () => {
        const field = 'Name';
        expect(gql`query { uiapi { ${field} } }`).toBe(
            'query { uiapi { Name } }'
        );
    });
});
