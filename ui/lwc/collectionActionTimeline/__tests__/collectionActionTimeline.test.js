import CollectionActionTimeline from 'c/collectionActionTimeline';
import { graphql } from 'lightning/graphql';
import { flushPromises, mount, query, queryAll } from 'test/utils';
import { emitActions, mockEmpty, refresh } from './timelineHarness';

const ACCOUNT_ID = '001RM000003UNu6YAG';

/** Mounts the timeline and delivers `actions` (the test data by default; null: nothing). */
async function mountTimeline(actions) {
    const element = mount(
        'c-collection-action-timeline',
        CollectionActionTimeline,
        { recordId: ACCOUNT_ID }
    );
    await flushPromises();
    if (actions !== null) {
        await emitActions(actions);
    }
    return element;
}

describe('c-collection-action-timeline', () => {
    it('lists the actions, newest first, with what each one says', async () => {
        const element = await mountTimeline();
        const items = queryAll(element, '.timeline-item');
        expect(items).toHaveLength(5);
        expect(
            items.map((item) =>
                item.querySelector('.item-type').textContent.trim()
            )
        ).toEqual([
            'Hold Override',
            'Dispute',
            'Promise to Pay',
            'Call',
            'Reminder Sent'
        ]);
        expect(items[1].querySelector('.item-summary').textContent).toBe(
            'c.CC_Log_SummaryDispute'
        );
        expect(items[3].querySelector('.item-notes').textContent.trim()).toBe(
            'Left a voicemail for accounts payable.'
        );
        expect(items[4].querySelector('.item-by').textContent.trim()).toBe(
            'c.CC_Log_ByService'
        );
    });

    it('asks GraphQL for the actions of this account', async () => {
        await mountTimeline();
        expect(graphql.getLastConfig().variables).toEqual({
            accountId: ACCOUNT_ID,
            timelineSize: 20
        });
    });

    it('says when there are no actions yet', async () => {
        const element = await mountTimeline(mockEmpty);
        expect(query(element, '.timeline-empty')).not.toBeNull();
    });

    it('shows GraphQL errors in the error panel', async () => {
        const element = await mountTimeline(null);
        graphql.emitErrors([
            { message: 'Field Override_Until__c is not accessible' }
        ]);
        await flushPromises();
        const panel = query(element, '.timeline c-error-panel');
        expect(panel.errors).toEqual([
            { message: 'Field Override_Until__c is not accessible' }
        ]);
    });

    it('re-runs its query when refreshed', async () => {
        const element = await mountTimeline();
        await element.refresh();
        expect(refresh).toHaveBeenCalledTimes(1);
    });

    describe('accessibility', () => {
        it('is accessible with the actions', async () => {
            const element = await mountTimeline();
            await expect(element).toBeAccessible();
        });

        it('is accessible with no actions yet', async () => {
            const element = await mountTimeline(mockEmpty);
            await expect(element).toBeAccessible();
        });
    });
});
