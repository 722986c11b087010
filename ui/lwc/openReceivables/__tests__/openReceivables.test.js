import OpenReceivables from 'c/openReceivables';
import { graphql } from 'lightning/graphql';
import { modalMock } from 'lightning/modal';
import { publish } from 'lightning/messageService';
import CollectionActionModal from 'c/collectionActionModal';
import { POLL_MS } from 'c/creditLive';
import ACCOUNT_CHANNEL from '@salesforce/messageChannel/Credit_Control_Account__c';
import { flushPromises, mount, query } from 'test/utils';

const mockReceivables = require('./data/graphqlReceivables.json');
const mockEmpty = require('./data/graphqlEmpty.json');

const TAG = 'c-open-receivables';
const ACCOUNT_ID = '001RM000003UNu6YAG';

// The refresh function lightning/graphql hands out with each result.
const refresh = jest.fn(() => Promise.resolve());

// Only this component's query (the embedded action log runs its own).
const receivablesQuery = (config) =>
    !!config.variables && 'pageSize' in config.variables;

async function mountList(result = mockReceivables) {
    const element = mount(TAG, OpenReceivables, { recordId: ACCOUNT_ID });
    await flushPromises();
    if (result) {
        graphql.emit(result, receivablesQuery, refresh);
        await flushPromises();
    }
    return element;
}

function rows(element) {
    return query(element, 'lightning-datatable').data;
}

async function rowAction(element, name, rowIndex) {
    const table = query(element, 'lightning-datatable');
    table.dispatchEvent(
        new CustomEvent('rowaction', {
            detail: { action: { name }, row: table.data[rowIndex] }
        })
    );
    await flushPromises();
}

describe('c-open-receivables', () => {
    describe('data', () => {
        it('lists the open items in due-date order with days past due and pay links', async () => {
            const element = await mountList();
            const data = rows(element);
            expect(data.map((row) => row.name)).toEqual([
                'INV-2026-0398',
                'INV-2026-0412',
                'INV-2026-0455',
                'CN-2026-0031',
                'INV-2026-0502'
            ]);
            expect(data[0]).toMatchObject({
                daysPastDue: 74,
                openAmount: 9200,
                currencyCode: 'EUR',
                payLink: 'https://pay.example.com/c/INV-2026-0398',
                // From the navigation service, never built by hand
                recordUrl: 'https://example.com/a02RM0000000001YAA/view',
                daysClass: 'slds-text-color_error'
            });
            // Not yet due: computed from the due date when the service has not set it
            expect(data[4].daysPastDue).toBe(0);
            expect(data[4].daysClass).toBe('');
        });

        it('queries the open items of this account', async () => {
            await mountList();
            expect(graphql.getLastConfig().variables).toEqual({
                accountId: ACCOUNT_ID,
                pageSize: 200
            });
        });

        it('offers a dispute only on undisputed invoices', async () => {
            const element = await mountList();
            const actionColumn = query(
                element,
                'lightning-datatable'
            ).columns.find((column) => column.type === 'action');
            const actionsFor = (row) => {
                let actions;
                actionColumn.typeAttributes.rowActions(row, (result) => {
                    actions = result;
                });
                return actions;
            };
            const data = rows(element);
            expect(actionsFor(data[0])[0]).toMatchObject({
                name: 'dispute',
                disabled: false
            });
            expect(actionsFor(data[2])[0].disabled).toBe(true); // already disputed
            expect(actionsFor(data[3])[0].disabled).toBe(true); // credit note
        });

        it('opens the action log on the item in a Lightning modal to dispute it', async () => {
            const element = await mountList();
            await rowAction(element, 'dispute', 1);

            expect(CollectionActionModal.open).toHaveBeenCalledWith(
                expect.objectContaining({
                    label: 'c.CC_Receivables_DisputeHeading',
                    accountId: ACCOUNT_ID,
                    defaultType: 'Dispute',
                    receivableId: 'a02RM0000000002YAA',
                    amount: 3200,
                    hideTimeline: true
                })
            );
        });

        it('refreshes once the dispute is logged', async () => {
            modalMock.resolveWith({ id: 'a01X', type: 'Dispute' });
            const element = await mountList();
            await rowAction(element, 'dispute', 0);
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('changes nothing when the modal is cancelled', async () => {
            const element = await mountList();
            await rowAction(element, 'dispute', 0);
            expect(refresh).not.toHaveBeenCalled();
        });

        it('ignores a dispute on an item that cannot be disputed', async () => {
            const element = await mountList();
            await rowAction(element, 'dispute', 3);
            expect(CollectionActionModal.open).not.toHaveBeenCalled();
        });
    });

    describe('empty', () => {
        it('says there are no open items', async () => {
            const element = await mountList(mockEmpty);
            expect(query(element, '.empty').textContent).toBe(
                'c.CC_Receivables_Empty'
            );
            expect(query(element, 'lightning-datatable')).toBeNull();
        });
    });

    describe('error', () => {
        it('shows GraphQL errors in the error panel', async () => {
            const element = await mountList(null);
            graphql.emitErrors(
                [{ message: 'Receivable__c is not supported' }],
                receivablesQuery
            );
            await flushPromises();
            const panel = query(element, 'c-error-panel');
            expect(panel.friendlyMessage).toBe('c.CC_Receivables_LoadError');
        });
    });

    describe('live update', () => {
        it('re-queries when the page hears the account changed or an action was logged', async () => {
            await mountList();
            publish(undefined, ACCOUNT_CHANNEL, {
                accountId: '001RM000009ZZZZYAA',
                reason: 'figuresChanged'
            });
            expect(refresh).not.toHaveBeenCalled();
            publish(undefined, ACCOUNT_CHANNEL, {
                accountId: ACCOUNT_ID.substring(0, 15),
                reason: 'figuresChanged'
            });
            publish(undefined, ACCOUNT_CHANNEL, {
                accountId: ACCOUNT_ID,
                reason: 'actionLogged'
            });
            await flushPromises();
            expect(refresh).toHaveBeenCalledTimes(2);
        });

        it('polls on its own when nothing else on the page reads the account', async () => {
            jest.useFakeTimers();
            try {
                await mountList();
                jest.advanceTimersByTime(POLL_MS);
                await flushPromises();
                expect(refresh).toHaveBeenCalledTimes(1);
            } finally {
                jest.useRealTimers();
            }
        });

        it('stops listening when removed', async () => {
            const element = await mountList();
            element.remove();
            publish(undefined, ACCOUNT_CHANNEL, {
                accountId: ACCOUNT_ID,
                reason: 'figuresChanged'
            });
            await flushPromises();
            expect(refresh).not.toHaveBeenCalled();
        });
    });

    describe('accessibility', () => {
        it('is accessible with data', async () => {
            const element = await mountList();
            await expect(element).toBeAccessible();
        });

        it('is accessible when empty', async () => {
            const element = await mountList(mockEmpty);
            await expect(element).toBeAccessible();
        });
    });
});
