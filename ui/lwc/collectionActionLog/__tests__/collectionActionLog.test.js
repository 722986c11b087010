import CollectionActionLog from 'c/collectionActionLog';
import { createRecord } from 'lightning/uiRecordApi';
import { changeValue, flushPromises, mount, query } from 'test/utils';
import {
    ACCOUNT_ID,
    emitObjectInfo,
    mockObjectInfoReadOnly,
    submit
} from '../../collectionActionForm/__tests__/formHarness';
import {
    emitActions,
    refresh
} from '../../collectionActionTimeline/__tests__/timelineHarness';

/** Mounts the log and delivers what its form and its timeline wait for. */
async function mountLog(props = {}, { objectInfo } = {}) {
    const element = mount('c-collection-action-log', CollectionActionLog, {
        recordId: ACCOUNT_ID,
        ...props
    });
    await flushPromises();
    await emitObjectInfo(objectInfo);
    await emitActions();
    return element;
}

const form = (element) => query(element, 'c-collection-action-form');
const timeline = (element) => query(element, 'c-collection-action-timeline');

describe('c-collection-action-log', () => {
    beforeEach(() => {
        createRecord.mockResolvedValue({ id: 'a01RM0000000009YAA' });
    });

    it('shows the form above the timeline of the account', async () => {
        const element = await mountLog();
        expect(form(element).recordId).toBe(ACCOUNT_ID);
        expect(timeline(element).recordId).toBe(ACCOUNT_ID);
        expect(
            form(element).compareDocumentPosition(timeline(element)) &
                Node.DOCUMENT_POSITION_FOLLOWING
        ).toBeTruthy();
    });

    it('hands a preset type, invoice and amount to the form', async () => {
        const element = await mountLog({
            defaultType: 'Dispute',
            receivableId: 'a02RM0000000001YAA',
            amount: 9200
        });
        expect(form(element).defaultType).toBe('Dispute');
        expect(form(element).receivableId).toBe('a02RM0000000001YAA');
        expect(form(element).amount).toBe(9200);
    });

    it('can hide the timeline when the form is embedded', async () => {
        const element = await mountLog({ hideTimeline: true });
        expect(form(element)).not.toBeNull();
        expect(timeline(element)).toBeNull();
    });

    it('shows the timeline to users who cannot log actions', async () => {
        const element = await mountLog(
            {},
            { objectInfo: mockObjectInfoReadOnly }
        );
        expect(query(form(element), '.read-only')).not.toBeNull();
        expect(timeline(element)).not.toBeNull();
    });

    it('refreshes the timeline once after an action is logged, and says so', async () => {
        const element = await mountLog();
        const loggedHandler = jest.fn();
        element.addEventListener('logged', loggedHandler);

        changeValue(
            form(element),
            '[data-field="Notes__c"]',
            'Call back Monday'
        );
        await flushPromises();
        await submit(form(element));

        expect(createRecord).toHaveBeenCalledTimes(1);
        expect(refresh).toHaveBeenCalledTimes(1);
        expect(loggedHandler.mock.calls[0][0].detail).toEqual({
            id: 'a01RM0000000009YAA',
            type: 'Call'
        });
    });

    it('is accessible with the form and the timeline', async () => {
        const element = await mountLog();
        await expect(element).toBeAccessible();
    });
});
