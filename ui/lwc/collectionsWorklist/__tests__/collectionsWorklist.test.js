import CollectionsWorklist from 'c/collectionsWorklist';
import { graphql } from 'lightning/graphql';
import { empApiMock, unsubscribe } from 'lightning/empApi';
import { getNavigateCalledWith } from 'lightning/navigation';
import {
    changeValue,
    flushPromises,
    mount,
    query,
    queryDialog
} from 'test/utils';

const mockWorklist = require('./data/graphqlWorklist.json');
const mockEmpty = require('./data/graphqlEmpty.json');
const mockMore = require('./data/graphqlMore.json');

const TAG = 'c-collections-worklist';
const CHANNEL = '/event/Credit_Status_Change__e';

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
        it('lists my accounts on Watch or Credit Hold, most urgent first', async () => {
            const element = await mountWorklist();
            expect(lastWorklistVariables()).toEqual({
                where: {
                    and: [
                        { Credit_Status__c: { in: ['WATCH', 'HOLD'] } },
                        { OwnerId: { eq: USER_ID } }
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
                recordUrl: '/lightning/r/Account/001RM000003UNu6YAG/view'
            });
            expect(table(element).sortedBy).toBe('priority');
            expect(table(element).sortedDirection).toBe('desc');
        });

        it('filters on all owners and on one status', async () => {
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

        it('logs an action for the account in a dialog, then refreshes', async () => {
            const element = await mountWorklist();
            await rowAction(element, 'log', 0);

            const log = query(
                element,
                'c-modal-dialog c-collection-action-log'
            );
            expect(log.recordId).toBe('001RM000003UNu6YAG');

            log.dispatchEvent(
                new CustomEvent('logged', {
                    detail: { id: 'a01X', type: 'Call' }
                })
            );
            await flushPromises();
            expect(queryDialog(element)).toBeNull();
            expect(refresh).toHaveBeenCalled();
        });

        it('closes the dialog on Escape', async () => {
            const element = await mountWorklist();
            await rowAction(element, 'log', 0);
            queryDialog(element).dispatchEvent(
                new KeyboardEvent('keydown', { key: 'Escape' })
            );
            await flushPromises();
            expect(queryDialog(element)).toBeNull();
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

        it('re-queries once after a burst of status changes', async () => {
            jest.useFakeTimers();
            await mountWorklist();

            empApiMock.fireMockEvent(
                CHANNEL,
                { Account_Id__c: '001RM000003UNu6YAG' },
                1
            );
            empApiMock.fireMockEvent(
                CHANNEL,
                { Account_Id__c: '001RM000003UNu7YAG' },
                2
            );
            empApiMock.fireMockEvent(
                CHANNEL,
                { Account_Id__c: '001RM000003UNu8YAG' },
                3
            );
            await flushPromises();
            expect(refresh).not.toHaveBeenCalled();

            jest.advanceTimersByTime(2000);
            expect(refresh).toHaveBeenCalledTimes(1);
        });

        it('unsubscribes and drops a pending refresh when removed', async () => {
            jest.useFakeTimers();
            const element = await mountWorklist();
            empApiMock.fireMockEvent(CHANNEL, {
                Account_Id__c: '001RM000003UNu6YAG'
            });
            await flushPromises();
            element.remove();
            await flushPromises();
            jest.advanceTimersByTime(2000);

            expect(unsubscribe).toHaveBeenCalled();
            expect(refresh).not.toHaveBeenCalled();
        });
    });

    describe('accessibility', () => {
        it('is accessible with data', async () => {
            const element = await mountWorklist();
            await expect(element).toBeAccessible();
        });

        it('is accessible with the log dialog open', async () => {
            const element = await mountWorklist();
            await rowAction(element, 'log', 0);
            await expect(element).toBeAccessible();
        });

        it('is accessible when empty', async () => {
            const element = await mountWorklist(mockEmpty);
            await expect(element).toBeAccessible();
        });
    });
});
