import CollectionActionModal from 'c/collectionActionModal';
import { flushPromises, mount, query } from 'test/utils';

const ACCOUNT_ID = '001RM000003UNu6YAG';

function mountModal(props = {}) {
    return mount('c-collection-action-modal', CollectionActionModal, {
        accountId: ACCOUNT_ID,
        ...props
    });
}

describe('c-collection-action-modal', () => {
    it('puts the action log for the account in the modal body', () => {
        const modal = mountModal({
            defaultType: 'Dispute',
            receivableId: 'a02RM0000000002YAA',
            amount: 3200,
            hideTimeline: true
        });
        const log = query(
            modal,
            'lightning-modal-body c-collection-action-log'
        );
        expect(log.recordId).toBe(ACCOUNT_ID);
        expect(log.defaultType).toBe('Dispute');
        expect(log.receivableId).toBe('a02RM0000000002YAA');
        expect(log.amount).toBe(3200);
        expect(log.hideTimeline).toBe(true);
    });

    it('closes with the logged action once one is saved', async () => {
        const modal = mountModal();
        const closed = jest.fn();
        modal.addEventListener('close', closed);
        query(modal, 'c-collection-action-log').dispatchEvent(
            new CustomEvent('logged', { detail: { id: 'a01X', type: 'Call' } })
        );
        await flushPromises();
        expect(closed).toHaveBeenCalledTimes(1);
        expect(closed.mock.calls[0][0].detail).toEqual({
            id: 'a01X',
            type: 'Call'
        });
    });

    it('closes with nothing when cancelled', async () => {
        const modal = mountModal();
        const closed = jest.fn();
        modal.addEventListener('close', closed);
        query(modal, '.dialog-cancel').click();
        await flushPromises();
        expect(closed).toHaveBeenCalledTimes(1);
        expect(closed.mock.calls[0][0].detail).toBeNull();
    });

    it('is accessible', async () => {
        const modal = mountModal();
        await expect(modal).toBeAccessible();
    });
});
