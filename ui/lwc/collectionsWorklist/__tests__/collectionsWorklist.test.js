import CollectionsWorklist from 'c/collectionsWorklist';
import { graphql } from 'lightning/graphql';
import { getNavigateCalledWith } from 'lightning/navigation';
import { modalMock } from 'lightning/modal';
import { publish } from 'lightning/messageService';
import CollectionActionModal from 'c/collectionActionModal';
import { WORKLIST_POLL_MS } from 'c/collectionsWorklist';
import ACCOUNT_CHANNEL from '@salesforce/messageChannel/Credit_Control_Account__c';
import { changeValue, flushPromises, mount, query } from 'test/utils';

const mockWorklist = require('./data/graphqlWorklist.json');
const mockEmpty = require('./data/graphqlEmpty.json');
const mockMore = require('./data/graphqlMore.json');

const TAG = 'c-collections-worklist';

// The refresh function lightning/graphql hands out with each result.
const refresh = jest.fn(() => Promise.resolve());
const USER_ID = '005000000000000000'; // what sfdx-lwc-jest gives @salesforce/user/Id

// Only the worklist's own query (the embedded action log runs its own).
const worklistQuery = (config) =>
    !!config.variables && 'where' in config.variables;

async function mountWorklist(result = mockWorklist) {
    const element = mount(TAG, CollectionsWorklist);
    await flushPromises();
    if (result) {
        graphql.emit(result, worklistQuery, refresh);
        await flushPromises();
    }
    return element;
}

function table(element) {
    return query(element, 'lightning-datatable');
}

function lastWorklistVariables() {
    const configs = [];
    graphql.emit(undefined, (config) => {
        if (worklistQuery(config)) {
            configs.push(config);
        }
        return false;
    });
    return configs[configs.length - 1].variables;
}

async function rowAction(element, name, rowIndex) {
    const datatable = table(element);
    datatable.dispatchEvent(
        new CustomEvent('rowaction', {
            detail: { action: { name }, row: datatable.data[rowIndex] }
        })
    );
    await flushPromises();
}

describe('c-collections-worklist', () => {
    describe('data', () => {
        it('lists the accounts I collect on Watch or Credit Hold, most urgent first', async () => {
            const element = await mountWorklist();
            expect(lastWorklistVariables()).toEqual({
                where: {
                    and: [
                        { Credit_Status__c: { in: ['WATCH', 'HOLD'] } },
                        { Collector__c: { eq: USER_ID } }
                    ]
                },
                pageSize: 200
            });
            const rows = table(element).data;
            expect(rows.map((row) => row.name)).toEqual([
                'Acme Industrial GmbH',
                'Borealis Foods SA',
                'Cobalt Logistics Ltd',
                'Delta Retail BV'
            ]);
            expect(rows[0]).toMatchObject({
                status: 'HOLD',
                statusLabel: 'Credit Hold',
                statusIcon: 'utility:ban',
                priority: 92,
                overdueAmount: 12400,
                currencyCode: 'EUR',
                collectorName: 'Dana Collector',
                recordUrl: 'https://example.com/001RM000003UNu6YAG/view'
            });
            expect(table(element).sortedBy).toBe('priority');
            expect(table(element).sortedDirection).toBe('desc');
        });

        it("shows each customer's amounts in its own currency", async () => {
            const element = await mountWorklist();
            const overdue = table(element).columns.find(
                (column) => column.fieldName === 'overdueAmount'
            );
            expect(overdue.typeAttributes.currencyCode).toEqual({
                fieldName: 'currencyCode'
            });
            const cobalt = table(element).data.find(
                (row) => row.name === 'Cobalt Logistics Ltd'
            );
            expect(cobalt.currencyCode).toBe('GBP');
        });

        it('filters on all collectors and on one status', async () => {
            const element = await mountWorklist();
            changeValue(element, 'lightning-radio-group.owner-filter', 'all');
            changeValue(element, 'lightning-combobox.status-filter', 'HOLD');
            await flushPromises();

            expect(lastWorklistVariables()).toEqual({
                where: { and: [{ Credit_Status__c: { in: ['HOLD'] } }] },
                pageSize: 200
            });
        });

        it('sorts by any column, blanks last', async () => {
            const element = await mountWorklist();
            table(element).dispatchEvent(
                new CustomEvent('sort', {
                    detail: { fieldName: 'overdueAmount', sortDirection: 'asc' }
                })
            );
            await flushPromises();
            expect(table(element).data.map((row) => row.overdueAmount)).toEqual(
                [0, 3100, 12400, 48100]
            );

            table(element).dispatchEvent(
                new CustomEvent('sort', {
                    detail: { fieldName: 'priority', sortDirection: 'asc' }
                })
            );
            await flushPromises();
            expect(table(element).data.map((row) => row.priority)).toEqual([
                41,
                77,
                92,
                null
            ]);

            table(element).dispatchEvent(
                new CustomEvent('sort', {
                    detail: { fieldName: 'recordUrl', sortDirection: 'desc' }
                })
            );
            await flushPromises();
            expect(table(element).data[0].name).toBe('Delta Retail BV');
            expect(table(element).sortedBy).toBe('recordUrl');
        });

        it('opens the account record', async () => {
            const element = await mountWorklist();
            await rowAction(element, 'open', 1);
            expect(getNavigateCalledWith()).toEqual({
                type: 'standard__recordPage',
                attributes: {
                    recordId: '001RM000003UNu7YAG',
                    objectApiName: 'Account',
                    actionName: 'view'
                }
            });
        });

        it('logs an action for the account in a Lightning modal, then refreshes', async () => {
            modalMock.resolveWith({ id: 'a01X', type: 'Call' });
            const element = await mountWorklist();
            await rowAction(element, 'log', 0);
            expect(CollectionActionModal.open).toHaveBeenCalledWith(
                expect.objectContaining({
                    accountId: '001RM000003UNu6YAG',
                    label: 'c.CC_Worklist_LogHeading'
                })
            );
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('does not refresh when the modal is cancelled', async () => {
            const element = await mountWorklist();
            await rowAction(element, 'log', 0);
            expect(refresh).not.toHaveBeenCalled();
        });

        it('refreshes on demand', async () => {
            const element = await mountWorklist();
            query(element, 'lightning-button-icon.refresh').click();
            await flushPromises();
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('says when more accounts match than are shown', async () => {
            const element = await mountWorklist(mockMore);
            expect(query(element, '.more')).not.toBeNull();
        });
    });

    describe('empty', () => {
        it('says there is nothing to chase', async () => {
            const element = await mountWorklist(mockEmpty);
            expect(query(element, '.empty').textContent).toBe(
                'c.CC_Worklist_Empty'
            );
            expect(table(element)).toBeNull();
        });
    });

    describe('error', () => {
        it('shows GraphQL errors in the error panel', async () => {
            const element = await mountWorklist(null);
            graphql.emitErrors(
                [{ message: 'Account_Filter is invalid' }],
                worklistQuery
            );
            await flushPromises();
            expect(query(element, 'c-error-panel').friendlyMessage).toBe(
                'c.CC_Worklist_LoadError'
            );
        });
    });

    describe('live update', () => {
        afterEach(() => {
            jest.useRealTimers();
        });

        it('re-queries every minute while the tab is visible', async () => {
            jest.useFakeTimers();
            await mountWorklist();
            jest.advanceTimersByTime(WORKLIST_POLL_MS - 1);
            expect(refresh).not.toHaveBeenCalled();
            jest.advanceTimersByTime(1);
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('re-queries once after a burst of logged actions', async () => {
            jest.useFakeTimers();
            await mountWorklist();
            ['001RM000003UNu6YAG', '001RM000003UNu7YAG'].forEach((accountId) =>
                publish(undefined, ACCOUNT_CHANNEL, {
                    accountId,
                    reason: 'actionLogged'
                })
            );
            expect(refresh).not.toHaveBeenCalled();
            jest.advanceTimersByTime(2000);
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('stops and drops a pending refresh when removed', async () => {
            jest.useFakeTimers();
            const element = await mountWorklist();
            publish(undefined, ACCOUNT_CHANNEL, {
                accountId: '001RM000003UNu6YAG',
                reason: 'actionLogged'
            });
            element.remove();
            jest.advanceTimersByTime(WORKLIST_POLL_MS * 2);
            expect(refresh).not.toHaveBeenCalled();
        });
    });

    describe('accessibility', () => {
        it('is accessible with data', async () => {
            const element = await mountWorklist();
            await expect(element).toBeAccessible();
        });

        it('is accessible when empty', async () => {
            const element = await mountWorklist(mockEmpty);
            await expect(element).toBeAccessible();
        });
    });
});
